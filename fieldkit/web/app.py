"""The Flask application: configuration, database, then each subsystem."""
from __future__ import annotations

from flask import Flask

from ..resources import resource_dir
from ..services import instance


def create_app(config: dict | None = None) -> Flask:
    """The only way to get an app: configuration, database, then each subsystem."""
    app = Flask("fieldkit", template_folder=str(resource_dir("templates")))
    app.config.update(instance.configure(config))

    from . import assets, auth, collect, console, db, errors, events, i18n, results, safety, security
    db.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    auth.init_app(app)
    safety.init_app(app)
    assets.init_app(app)
    from . import api, collectors, fonts, media, openrosa, sync_console
    for blueprint in (collect.bp, console.bp, events.bp, results.bp, api.bp, sync_console.bp, fonts.bp, media.bp,
                      openrosa.bp, collectors.bp):
        app.register_blueprint(blueprint)
    security.rate_limits(app)  # after the blueprints: it wraps some of their views
    proxies = int(app.config["TRUSTED_PROXIES"] or 0)
    if proxies:
        # The client's address, for per-client limits and the laptop-only setup
        # link, from the proxy's X-Forwarded-For; it is still never stored or logged.
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    static = app.view_functions["static"]
    static.access = "public"  # declared like every other view (see web/auth.py)
    return app
