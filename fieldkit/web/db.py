"""One database connection per request, lent by the app's Store (store/db.py) and
given back at teardown. With DB_POOL set (`fieldkit serve` sets it to its thread
count), that many stay open between requests; with 0, each request opens its own.

Why keep them open: opening a SQLite connection and closing it costs more than a
participant's whole query work, and closing the last one makes SQLite checkpoint
and delete the WAL, with an fsync, on every request of a quiet server
(bench/RESULTS.md); a PostgreSQL connection costs a few milliseconds to open."""
from flask import current_app, g

from .. import store
from ..services import forms as form_service, instance
from ..store import Store
from ..store.db import DatabaseUnavailable


def app_store(app=None) -> Store:
    return (app or current_app).extensions["fieldkit_store"]


def get_db():
    if "db" not in g:
        g.db = app_store().take()
    return g.db


def get_read_db():
    """For the heaviest reads (the Results page's counts): a read replica's connection when
    READ_DATABASE_URL names one, else the request's own. A replica is seconds behind at most;
    one that cannot be reached is passed over for the database itself, said in the log."""
    replica = current_app.extensions.get("fieldkit_read_store")
    if replica is None:
        return get_db()
    if "read_db" not in g:
        try:
            g.read_db = replica.take()
        except DatabaseUnavailable as error:
            current_app.logger.warning("read replica unavailable, reading the database instead: %s", error)
            return get_db()
    return g.read_db


def open_read_connection():
    """A new connection of its own for a long read (an export's streamed body): to the read
    replica when there is one and it answers, else to the database."""
    config = current_app.config
    if config["READ_DATABASE"] != config["DATABASE"]:
        try:
            return store.connect(config["READ_DATABASE"])
        except DatabaseUnavailable as error:
            current_app.logger.warning("read replica unavailable, reading the database instead: %s", error)
    return store.connect(config["DATABASE"])


def close_db(_error=None):
    db = g.pop("db", None)
    if db is not None:
        app_store().give(db)
    read = g.pop("read_db", None)
    if read is not None:
        current_app.extensions["fieldkit_read_store"].give(read)


def init_app(app):
    """Migrate, read the instance's secrets, load the demo into an empty instance."""
    database = app.extensions["fieldkit_store"] = Store(app.config["DATABASE"], keep=int(app.config.get("DB_POOL") or 0))
    db = database.take()
    try:
        prepared = instance.prepare(db, instance.demo_wanted(app.config))
        app.secret_key, app.config["DEVICE_ID"] = prepared.secret_key, prepared.device_id
        demo = instance.new_demo(db, app.config, prepared)
        if app.config.get("FONTS_IN_BACKGROUND", True):
            # Marked as being built, so that the first page does not start a second build of the same subsets.
            if demo:
                app.extensions.setdefault("fieldkit_fonts_building", set()).add((demo.form_id, demo.version))
            app.extensions["fieldkit_fonts_thread"] = instance.fonts_later(app.config, demo)
        elif demo:
            form_service.fonts.prepare(db, demo)  # the general subsets: on the first page that needs them
    finally:
        database.give(db)
    if app.config["READ_DATABASE"] != app.config["DATABASE"]:
        # never migrated: a replica is read-only, and follows the database's schema by itself
        app.extensions["fieldkit_read_store"] = Store(app.config["READ_DATABASE"], keep=int(app.config.get("DB_POOL") or 0),
                                                      migrate=False)
    app.teardown_appcontext(close_db)
