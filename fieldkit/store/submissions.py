"""Submissions: append-only, keyed by the uuid minted when the participant started."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

from .db import write
from .drafts import _hash


def content_hash(form_id: str, form_version: str, answers: dict) -> str:
    canonical = json.dumps({"form_id": form_id, "form_version": form_version, "answers": answers},
                           sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def add_submission(db, record: dict, draft_token: str | None = None) -> str:
    """Commit one submission and drop its draft, in one transaction.

    Returns 'created', 'duplicate' (same uuid, same content: a double tap or a
    resend) or 'conflict' (same uuid, other content: kept apart, never merged).
    """
    record = dict(record)
    record["content_hash"] = content_hash(record["form_id"], record["form_version"], record["answers"])
    record["answers"] = json.dumps(record["answers"], ensure_ascii=False, sort_keys=True)
    with write(db):
        existing = next(db.query("SELECT content_hash FROM submissions WHERE uuid = ?", [record["uuid"]]), None)
        if existing:
            outcome = "duplicate" if existing["content_hash"] == record["content_hash"] else "conflict"
        else:
            db["submissions"].insert(record)
            outcome = "created"
        if draft_token:
            db.execute("DELETE FROM drafts WHERE token_hash = ?", [_hash(draft_token)])
    return outcome


def has_submission(db, uuid: str) -> bool:
    return next(db.query("SELECT 1 FROM submissions WHERE uuid = ?", [uuid]), None) is not None


def count_submissions(db, form_id: str | None = None) -> int:
    if form_id is None:
        return db["submissions"].count
    return next(db.query("SELECT COUNT(*) AS n FROM submissions WHERE form_id = ?", [form_id]))["n"]


def iter_submissions(db, form_id: str) -> Iterator[dict]:
    """Every submission of a form, oldest first, streamed from a cursor."""
    for row in db.query("SELECT * FROM submissions WHERE form_id = ? ORDER BY submitted_at, uuid", [form_id]):
        yield dict(row, answers=json.loads(row["answers"]))
