"""A central's registered devices (laptops) and their tokens.

Only the sha256 of a token is stored: tokens are 256 random bits, so a plain
hash is enough (no salt or slow hash needed), and a copy of the database does
not let anyone push as a laptop.
"""
from __future__ import annotations

import secrets

from .db import write
from .util import token_hash, utcnow


class DeviceExists(Exception):
    pass


def add_device(db, name: str) -> str:
    """Register a device; returns its token, which is not stored and cannot be shown again."""
    token = secrets.token_urlsafe(32)
    with write(db):
        # the database, not a check before it, refuses a second device of the name (two processes at once)
        if db.execute("INSERT INTO devices (name, token_hash, created_at, received, duplicates, conflicts) "
                      "VALUES (?, ?, ?, 0, 0, 0) ON CONFLICT (name) DO NOTHING",
                      [name, token_hash(token), utcnow()]).rowcount == 0:
            raise DeviceExists(name)
    return token


def device_for_token(db, token: str) -> dict | None:
    """The device a token belongs to, revoked or not (the caller tells them apart)."""
    row = next(db.query("SELECT * FROM devices WHERE token_hash = ?", [token_hash(token)]), None)
    return dict(row) if row else None


def list_devices(db) -> list[dict]:
    return [dict(r) for r in db.query("SELECT * FROM devices ORDER BY name")]


def revoke_device(db, name: str) -> bool:
    """Refuse the device's token from now on; what it already sent stays."""
    with write(db):
        return db.execute("UPDATE devices SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
                          [utcnow(), name]).rowcount == 1


def get_device(db, name: str) -> dict | None:
    row = next(db.query("SELECT * FROM devices WHERE name = ?", [name]), None)
    return dict(row) if row else None


def seen(db, name: str, received: int = 0, duplicates: int = 0, conflicts: int = 0) -> None:
    """Note a device's contact and what it delivered. Inside receive_batch this
    joins the batch's transaction, so the counters never disagree with the rows."""
    with write(db):
        db.execute("UPDATE devices SET last_seen = ?, received = received + ?, duplicates = duplicates + ?, "
                   "conflicts = conflicts + ? WHERE name = ?",
                   [utcnow(), received, duplicates, conflicts, name])
