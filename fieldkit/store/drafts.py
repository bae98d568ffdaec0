"""Answers in progress, keyed by the hash of a token held in the participant's cookie.

Only the hash is stored, and the answers are sealed with a key derived from the
token (fieldkit.crypto): someone who copies the database can neither take over
a participant's session nor read what they have answered so far.
"""
from __future__ import annotations

import datetime as dt
import secrets
import uuid

from ..crypto import open_draft, seal_draft
from .db import write
from .util import token_hash as _hash, utcnow

LIFETIME = dt.timedelta(hours=12)


def _innermost(path: str) -> int:
    """The instance column (before nested repeats): the path's last number."""
    return int(path.rpartition(".")[2] or 0)


def new_draft(db, form_id: str, version: str, language: str, answers: dict, position: int,
              event_id: int | None = None, path: str = "") -> tuple[str, dict]:
    """path: which instance of each repeat around the page, as engine.Page.encoded() writes it."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = {"token_hash": _hash(token), "form_id": form_id, "form_version": version,
           "uuid": str(uuid.uuid4()), "language": language,
           "answers": seal_draft(token, answers), "position": position, "instance": _innermost(path),
           "path": path, "started_at": now, "updated_at": now, "event_id": event_id}
    with write(db, durable=False):  # answers in progress: see store/db.write
        db.insert("drafts", row)
    return token, dict(row, answers=answers)


def get_draft(db, token: str | None) -> dict | None:
    if not token:
        return None
    row = next(db.query("SELECT * FROM drafts WHERE token_hash = ? AND updated_at > ?",
                        [_hash(token), _cutoff()]), None)
    if row is None:
        return None
    answers = open_draft(token, row["answers"])
    return None if answers is None else dict(row, answers=answers)


def save_draft(db, token: str, answers: dict, position: int, language: str, path: str = "") -> None:
    """Not durable at once: a power cut may lose the screen a phone sent in the last
    RELAXED_SECONDS (store/db.write). Quick exit's delete and a submission are."""
    with write(db, durable=False):
        db.execute("UPDATE drafts SET answers = ?, position = ?, instance = ?, path = ?, language = ?, "
                   "updated_at = ? WHERE token_hash = ?",
                   [seal_draft(token, answers), position, _innermost(path), path, language, utcnow(), _hash(token)])


def delete_draft(db, token: str) -> None:
    with write(db):
        db.execute("DELETE FROM drafts WHERE token_hash = ?", [_hash(token)])


def purge_expired(db) -> int:
    """Drafts nobody came back to, and the files attached to them."""
    with write(db):
        count = db.execute("DELETE FROM drafts WHERE updated_at <= ?", [_cutoff()]).rowcount
        db.execute("DELETE FROM attachments WHERE sealed = 'draft' AND uuid NOT IN (SELECT uuid FROM drafts)")
        db.execute("DELETE FROM receipts WHERE created_at <= ?", [_cutoff()])
    return count


def _cutoff() -> str:
    moment = dt.datetime.now(dt.timezone.utc) - LIFETIME
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")
