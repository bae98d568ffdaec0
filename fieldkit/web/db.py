"""One database connection per request: a new one closed at teardown, or, when
DB_POOL is set (`fieldkit serve` sets it to its thread count), one lent from a
small pool of open connections and given back at teardown.

Why a pool: opening a SQLite connection and closing it costs more than a
participant's whole query work, and closing the last one makes SQLite
checkpoint and delete the WAL, with an fsync, on every request of a quiet
server (bench/RESULTS.md)."""
import threading

from flask import current_app, g

from .. import store
from ..services import forms as form_service
from ..store import drafts, meta


class Pool:
    """Open connections lent to one request at a time. At most `size` are kept
    idle; a busier moment opens more, closed when given back."""

    def __init__(self, path: str, size: int):
        self.path, self.size = path, size
        self.idle = []
        self.lock = threading.Lock()

    def take(self):
        with self.lock:
            if self.idle:
                return self.idle.pop()
        return store.connect(self.path)

    def give(self, db) -> None:
        if not db.conn.in_transaction:  # write() always ends its transaction; if not, this one is not reused
            with self.lock:
                if len(self.idle) < self.size:
                    self.idle.append(db)
                    return
        db.conn.close()


def get_db():
    if "db" not in g:
        pool = current_app.extensions.get("fieldkit_db_pool")
        g.db = pool.take() if pool else store.connect(current_app.config["DATABASE"])
    return g.db


def close_db(_error=None):
    db = g.pop("db", None)
    if db is not None:
        pool = current_app.extensions.get("fieldkit_db_pool")
        if pool:
            pool.give(db)
        else:
            db.conn.close()


def init_app(app):
    """Migrate, read the instance's secrets, load the demo into an empty instance."""
    db = store.connect(app.config["DATABASE"], migrate=True)
    try:
        app.secret_key = meta.secret_key(db)
        app.config["DEVICE_ID"] = meta.device_id(db)
        drafts.purge_expired(db)
        demo = form_service.ensure_demo(db) if app.config["LOAD_DEMO"] not in (False, "0", "false", "no") else None
        if app.config.get("FONTS_IN_BACKGROUND", True):
            # Marked as being built, so that the first page does not start a second build of the same subsets.
            if demo:
                app.extensions.setdefault("fieldkit_fonts_building", set()).add((demo.form.form_id, demo.form.version))
            app.extensions["fieldkit_fonts_thread"] = form_service.prepare_fonts_later(
                app.config["DATABASE"], demo.form if demo else None, general=True)
        elif demo:
            form_service.fonts.prepare(db, demo.form)  # the general subsets: on the first page that needs them
    finally:
        db.conn.close()
    if app.config.get("DB_POOL"):
        app.extensions["fieldkit_db_pool"] = Pool(app.config["DATABASE"], int(app.config["DB_POOL"]))
    app.teardown_appcontext(close_db)
