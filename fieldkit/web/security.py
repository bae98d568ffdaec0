"""Headers and limits that every response carries."""
from urllib.parse import parse_qsl

import logging

from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect

from ..errors import FieldkitError

csrf = CSRFProtect()

HEADERS = {
    # No third party can be reached from a page, and no inline script or style runs.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def add_headers(response):
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if not request.path.startswith(("/static/", "/a/")):
        # Nothing a participant answered stays in the phone's cache.
        response.headers["Cache-Control"] = "no-store"
    return response


def check_body():
    """Before anything reads a POST: apply the participant limit and refuse
    bytes that are not UTF-8 (werkzeug would quietly turn them into U+FFFD)."""
    if request.method != "POST":
        return
    if request.path.startswith("/f/"):
        request.max_content_length = current_app.config["COLLECT_MAX_BODY"]
    if request.mimetype == "application/x-www-form-urlencoded":
        raw = request.get_data(cache=True)  # form parsing reuses the cached bytes
        try:
            parse_qsl(raw.decode("utf-8"), keep_blank_values=True, errors="strict", max_num_fields=500)
        except (UnicodeDecodeError, ValueError):
            raise FieldkitError("bad_encoding") from None


def rate_limits(app):
    """Per-client limits on participant posts and sign-in (Flask-Limiter, in memory).

    One Limiter per app, so that two apps (a test's, a laptop's and its central's)
    never share counters. The limiter's own log line names the client's address,
    so it is kept quiet: no participant address is ever logged."""
    logging.getLogger("flask-limiter").setLevel(logging.ERROR)
    limiter = Limiter(get_remote_address, app=app, headers_enabled=False)
    app.extensions["fieldkit_limiter"] = limiter

    def configured(name):
        return lambda: app.config[name]

    from . import collect
    limiter.limit(configured("COLLECT_RATE_LIMIT"), methods=["POST"])(collect.bp)
    # A route limit acts through the wrapper it returns, so the wrapper replaces
    # the registered view (functools.wraps keeps its access declaration).
    for endpoint, name in (("collect.submit", "SUBMIT_RATE_LIMIT"), ("auth.login", "SIGNIN_RATE_LIMIT")):
        app.view_functions[endpoint] = limiter.limit(configured(name), methods=["POST"])(app.view_functions[endpoint])


def init_app(app):
    app.before_request(check_body)  # registered first, so it runs before CSRF reads the form
    csrf.init_app(app)
    app.after_request(add_headers)
