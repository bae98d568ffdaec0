"""ODK Collect accounts on this fieldkit (issue 17): each a name and a token, as ODK Central's
app users are. Collect is given a server URL with the token in its path
(/collect/<token>); only the token's sha256 is stored (256 random bits: a plain hash is
enough), so a copy of the database lets no one submit as a collector."""
from __future__ import annotations

import secrets

from .db import write
from .util import token_hash, utcnow


class CollectorExists(Exception):
    pass


def add_collector(db, name: str) -> str:
    """A new collector; returns its token, which is not stored and cannot be shown again."""
    token = secrets.token_urlsafe(32)
    with write(db):
        if db.execute("INSERT INTO collectors (name, token_hash, created_at, received) VALUES (?, ?, ?, 0) "
                      "ON CONFLICT (name) DO NOTHING", [name, token_hash(token), utcnow()]).rowcount == 0:
            raise CollectorExists(name)
    return token


def collector_for_token(db, token: str) -> dict | None:
    """The collector a token belongs to, revoked or not (the caller tells them apart)."""
    row = db.one("SELECT name, created_at, revoked_at, last_seen, received FROM collectors WHERE token_hash = ?",
                 [token_hash(token)])
    return dict(row) if row else None


def list_collectors(db) -> list[dict]:
    return [dict(r) for r in db.query("SELECT name, created_at, revoked_at, last_seen, received FROM collectors "
                                      "ORDER BY name")]


def revoke_collector(db, name: str) -> bool:
    """Refuse the collector's token from now on; what it already sent stays."""
    with write(db):
        return db.execute("UPDATE collectors SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
                          [utcnow(), name]).rowcount == 1


def seen(db, name: str, received: int = 0) -> None:
    """Note a collector's contact, and a submission it delivered (inside that transaction)."""
    with write(db):
        db.execute("UPDATE collectors SET last_seen = ?, received = received + ? WHERE name = ?",
                   [utcnow(), received, name])
