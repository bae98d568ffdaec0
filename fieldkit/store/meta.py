"""Instance settings kept in the database: its id and its session secret."""
import secrets
import uuid

from .db import write


def get_or_create(db, key: str, make) -> str:
    # Two processes starting at once keep the one value the database took first.
    with write(db):
        db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", [key, make()])
        return db.one("SELECT value FROM meta WHERE key = ?", [key])["value"]


def device_id(db) -> str:
    return get_or_create(db, "device_id", lambda: str(uuid.uuid4()))


def secret_key(db) -> str:
    # Kept, so that participants' drafts survive a restart of the laptop.
    return get_or_create(db, "secret_key", lambda: secrets.token_hex(32))


def get(db, key: str) -> str | None:
    row = next(db.query("SELECT value FROM meta WHERE key = ?", [key]), None)
    return row["value"] if row else None


def put(db, key: str, value: str) -> None:
    with write(db):
        db.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                   "ON CONFLICT(key) DO UPDATE SET value = excluded.value", [key, value])


def delete(db, key: str) -> None:
    with write(db):
        db.execute("DELETE FROM meta WHERE key = ?", [key])
