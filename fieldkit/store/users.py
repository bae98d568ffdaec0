"""Console accounts. Passwords are stored as werkzeug scrypt hashes only."""
from __future__ import annotations

import datetime as dt
import functools

from werkzeug.security import check_password_hash, generate_password_hash

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
        if next(db.query("SELECT 1 FROM users WHERE username = ?", [username]), None):
            raise UserExists(username)
        db["users"].insert({"username": username, "password_hash": generate_password_hash(password),
                            "role": role, "created_at": utcnow(), "failed_logins": 0})


def set_password(db, username: str, password: str) -> bool:
    with write(db):
        return db.execute("UPDATE users SET password_hash = ?, failed_logins = 0, locked_until = NULL "
                          "WHERE username = ?", [generate_password_hash(password), username]).rowcount == 1


def get_user(db, username: str) -> dict | None:
    row = next(db.query("SELECT username, role, created_at, last_login, locked_until FROM users "
                        "WHERE username = ?", [username]), None)
    return dict(row) if row else None


def list_users(db) -> list[dict]:
    return [dict(r) for r in db.query("SELECT username, role, created_at, last_login FROM users ORDER BY username")]


def count_users(db) -> int:
    return db["users"].count


def delete_user(db, username: str) -> bool:
    with write(db):
        return db.execute("DELETE FROM users WHERE username = ?", [username]).rowcount == 1


def authenticate(db, username: str, password: str, now: dt.datetime | None = None) -> tuple[str, dict | None]:
    """('ok', user) | ('locked', None) | ('bad', None), counting failures.

    The hash is checked even for an unknown name, so timing does not tell
    which names exist."""
    now = now or dt.datetime.now(dt.timezone.utc)
    with write(db):
        row = next(db.query("SELECT * FROM users WHERE username = ?", [username]), None)
        if row and row["locked_until"] and row["locked_until"] > _iso(now):
            return "locked", None
        valid = check_password_hash(row["password_hash"] if row else _dummy_hash(), password)
        if not row:
            return "bad", None
        if not valid:
            failures = (row["failed_logins"] or 0) + 1
            locked = _iso(now + LOCK_FOR) if failures >= LOCK_AFTER else None
            db.execute("UPDATE users SET failed_logins = ?, locked_until = ? WHERE username = ?",
                       [0 if locked else failures, locked, username])
            return ("locked" if locked else "bad"), None
        db.execute("UPDATE users SET failed_logins = 0, locked_until = NULL, last_login = ? WHERE username = ?",
                   [utcnow(), username])
    return "ok", {"username": row["username"], "role": row["role"]}


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash("fieldkit-timing-equaliser")
