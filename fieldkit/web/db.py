"""One database connection per request, closed at teardown."""
from flask import current_app, g

from .. import store
from ..services import forms as form_service
from ..store import drafts, meta


def get_db():
    if "db" not in g:
        g.db = store.connect(current_app.config["DATABASE"])
    return g.db


def close_db(_error=None):
    db = g.pop("db", None)
    if db is not None:
        db.conn.close()


def init_app(app):
    """Migrate, read the instance's secrets, load the demo into an empty instance."""
    db = store.connect(app.config["DATABASE"], migrate=True)
    try:
        app.secret_key = meta.secret_key(db)
        app.config["DEVICE_ID"] = meta.device_id(db)
        drafts.purge_expired(db)
        if app.config["LOAD_DEMO"] not in (False, "0", "false", "no"):
            form_service.ensure_demo(db)
    finally:
        db.conn.close()
    app.teardown_appcontext(close_db)
