"""Console accounts. Passwords are stored as scrypt hashes only (fieldkit/passwords.py)."""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets

from ..passwords import check_password, hash_password
from .db import write
from .util import utcnow

ROLES = ("coordinator", "facilitator")
LOCK_AFTER = 5  # failures in a row
LOCK_FOR = dt.timedelta(minutes=15)


class UserExists(Exception):
    pass


def add_user(db, username: str, password: str, role: str) -> None:
    if role not in ROLES:
        raise ValueError(role)
    with write(db):
        if db.execute("INSERT INTO users (username, password_hash, role, created_at, failed_logins, session_key) "
                      "VALUES (?, ?, ?, ?, 0, ?) ON CONFLICT (username) DO NOTHING",
                      [username, hash_password(password), role, utcnow(), secrets.token_urlsafe(24)]).rowcount == 0:
            raise UserExists(username)


def set_password(db, username: str, password: str) -> bool:
    """A new password ends every session of the account."""
    with write(db):
        return db.execute("UPDATE users SET password_hash = ?, failed_logins = 0, locked_until = NULL, "
                          "session_key = ? WHERE username = ?",
                          [hash_password(password), secrets.token_urlsafe(24), username]).rowcount == 1


def end_sessions(db, username: str) -> None:
    """Sign-out: every session of the account ends (its cookies carry the old key)."""
    with write(db):
        db.execute("UPDATE users SET session_key = ? WHERE username = ?", [secrets.token_urlsafe(24), username])


def get_user(db, username: str) -> dict | None:
    row = next(db.query("SELECT username, role, created_at, last_login, locked_until, session_key FROM users "
                        "WHERE username = ?", [username]), None)
    return dict(row) if row else None


def list_users(db) -> list[dict]:
    return [dict(r) for r in db.query("SELECT username, role, created_at, last_login FROM users ORDER BY username")]


def count_users(db) -> int:
    return db.count("users")


def delete_user(db, username: str) -> bool:
    with write(db):
        return db.execute("DELETE FROM users WHERE username = ?", [username]).rowcount == 1


def authenticate(db, username: str, password: str, now: dt.datetime | None = None) -> tuple[str, dict | None]:
    """('ok', user) | ('locked', None) | ('bad', None), counting failures.

    The hash is checked even for an unknown name, so timing does not tell
    which names exist."""
    now = now or dt.datetime.now(dt.timezone.utc)
    with write(db):
        row = db.one("SELECT * FROM users WHERE username = ?" + db.for_update, [username])
        if row and row["locked_until"] and row["locked_until"] > _iso(now):
            return "locked", None
        valid = check_password(row["password_hash"] if row else _dummy_hash(), password)
        if not row:
            return _unknown_name_failed(db, username, now), None
        if not valid:
            failures = (row["failed_logins"] or 0) + 1
            locked = _iso(now + LOCK_FOR) if failures >= LOCK_AFTER else None
            db.execute("UPDATE users SET failed_logins = ?, locked_until = ? WHERE username = ?",
                       [0 if locked else failures, locked, username])
            return ("locked" if locked else "bad"), None
        db.execute("UPDATE users SET failed_logins = 0, locked_until = NULL, last_login = ? WHERE username = ?",
                   [utcnow(), username])
    return "ok", {"username": row["username"], "role": row["role"], "session_key": row["session_key"]}


def _unknown_name_failed(db, username: str, now: dt.datetime) -> str:
    """A name with no account fails, counts and locks exactly as an account does."""
    key = hashlib.sha256(username.encode()).hexdigest()
    row = db.execute("SELECT failures, locked_until FROM signin_failures WHERE name_hash = ?" + db.for_update,
                     [key]).fetchone()
    if row and row[1] and row[1] > _iso(now):
        return "locked"
    failures = (row[0] if row and not row[1] else 0) + 1
    locked = _iso(now + LOCK_FOR) if failures >= LOCK_AFTER else None
    db.execute("INSERT INTO signin_failures (name_hash, failures, locked_until) VALUES (?, ?, ?) "
               "ON CONFLICT (name_hash) DO UPDATE SET failures = excluded.failures, locked_until = excluded.locked_until",
               [key, 0 if locked else failures, locked])
    return "locked" if locked else "bad"


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@functools.cache
def _dummy_hash() -> str:
    return hash_password("fieldkit-timing-equaliser")
