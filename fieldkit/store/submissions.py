"""Submissions: append-only, keyed by the uuid minted when the participant started."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

from .db import write
from .util import token_hash as _hash, utcnow


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
        # The database decides, not a check before the insert: of two processes storing one
        # uuid at once, one inserts and the other's insert does nothing (waiting for the first
        # to commit), then reads what was kept.
        if _insert(db, record):
            outcome = "created"
        else:
            existing = db.execute("SELECT content_hash FROM submissions WHERE uuid = ?", [record["uuid"]]).fetchone()
            outcome = "duplicate" if existing[0] == record["content_hash"] else "conflict"
        if draft_token:
            db.execute("DELETE FROM drafts WHERE token_hash = ?", [_hash(draft_token)])
            db.execute("INSERT INTO receipts (token_hash, uuid, created_at) VALUES (?, ?, ?) "
                       "ON CONFLICT (token_hash) DO UPDATE SET uuid = excluded.uuid, created_at = excluded.created_at",
                       [_hash(draft_token), record["uuid"], utcnow()])
    return outcome


def submitted_with(db, draft_token: str | None) -> str | None:
    """The uuid of the submission a draft's token became, if it did."""
    if not draft_token:
        return None
    row = db.execute("SELECT uuid FROM receipts WHERE token_hash = ?", [_hash(draft_token)]).fetchone()
    return row[0] if row else None


def _insert(db, record: dict) -> bool:
    """One INSERT statement (sqlite-utils' table.insert() also read the table's schema
    each time: half of what a central spent storing a batch, bench/RESULTS.md).
    False when the uuid is already held."""
    values = {k: json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list, tuple)) else v
              for k, v in record.items()}
    return db.execute(db.insert_sql("submissions", values) + " ON CONFLICT (uuid) DO NOTHING",
                      list(values.values())).rowcount == 1


def has_submission(db, uuid: str) -> bool:
    return next(db.query("SELECT 1 FROM submissions WHERE uuid = ?", [uuid]), None) is not None


def count_submissions(db, form_id: str | None = None) -> int:
    if form_id is None:
        return db.count("submissions")
    return next(db.query("SELECT COUNT(*) AS n FROM submissions WHERE form_id = ?", [form_id]))["n"]


def iter_submissions(db, form_id: str, **filters) -> Iterator[dict]:
    """Every submission of a form, oldest first, streamed from a cursor."""
    return iter_filtered(db, form_id, **filters)


def _filters(form_id: str, event_id: int | None = None, language: str | None = None,
             since: str | None = None, until: str | None = None) -> tuple[str, list]:
    """WHERE clause for the console's filters; dates are YYYY-MM-DD, inclusive."""
    clauses, params = ["form_id = ?"], [form_id]
    if event_id is not None:
        clauses.append("event_id = ?")
        params.append(event_id)
    if language:
        clauses.append("language = ?")
        params.append(language)
    if since:
        clauses.append("submitted_at >= ?")
        params.append(since)
    if until:
        clauses.append("submitted_at < ?")
        params.append(until + "T99")  # every time on that day sorts before "T99"
    return " AND ".join(clauses), params


def count_filtered(db, form_id: str, **filters) -> int:
    where, params = _filters(form_id, **filters)
    return next(db.query(f"SELECT COUNT(*) AS n FROM submissions WHERE {where}", params))["n"]


def iter_filtered(db, form_id: str, limit: int | None = None, offset: int = 0, newest_first=False,
                  **filters) -> Iterator[dict]:
    where, params = _filters(form_id, **filters)
    order = "DESC" if newest_first else "ASC"
    # with the event's short code (exports name the gathering; the id is local to this machine)
    sql = (f"SELECT submissions.*, events.code AS event_code FROM submissions "
           f"LEFT JOIN events ON events.id = submissions.event_id WHERE {where} "
           f"ORDER BY submitted_at {order}, uuid {order}")
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params = params + [limit, offset]
    for row in db.stream(sql, params, dicts=True):  # a million answers are never all in memory at once
        row["answers"] = json.loads(row["answers"])
        yield row


SEALED_PREFIX = '{"__encrypted__"%'


def answer_counts(db, form_id: str, names, answered=(), **filters) -> tuple[int, int, list[tuple[str, str | None, int]]]:
    """For the Results page, counted by the database in one pass over the form's answers:
    (submissions, encrypted ones, [(question name, value, how many)]) for the named
    questions, with the console's filters; for those in answered (free text, where only how
    many answered is shown) one row each with the value None. Empty answers are not counted."""
    where, params = _filters(form_id, **filters)
    total, sealed = db.execute(
        f"SELECT COUNT(*), COUNT(CASE WHEN answers LIKE ? THEN 1 END) FROM submissions WHERE {where}",
        [SEALED_PREFIX, *params]).fetchone()
    if not (names or answered) or total == sealed:
        return total, sealed, []
    wanted, param = db.in_list("a.key", {*names, *answered})
    counted_only, only = db.in_list("key", answered)

    def counted(safe: bool) -> list:
        return db.execute(
            f"SELECT key, CASE WHEN {counted_only} THEN NULL ELSE value END, COUNT(*) FROM "
            f"(SELECT a.key AS key, a.value AS value FROM submissions s, {db.json_items('s.answers', 'a', safe)} "
            f"WHERE {where} AND {wanted}) m WHERE value IS NOT NULL AND value != '' GROUP BY 1, 2",
            [only, *params, param]).fetchall()
    try:
        rows = counted(safe=False)
    except db.data_errors:  # an answer the database's JSON refuses (\u0000 in text): count around it
        rows = counted(safe=True)
    return total, sealed, [(key, value if value is None or isinstance(value, str) else json_text(value), n)
                           for key, value, n in rows]


def json_text(value) -> str:
    """A JSON scalar as text, as PostgreSQL's ->> gives it (SQLite's json_each gives it typed)."""
    return json.dumps(value) if not isinstance(value, str) else value


def get_submission(db, uuid: str) -> dict | None:
    row = next(db.query("SELECT * FROM submissions WHERE uuid = ?", [uuid]), None)
    return dict(row, answers=json.loads(row["answers"])) if row else None


def sealed_keys(db, form_id: str) -> dict[str | None, int]:
    """How many encrypted answers of the form each key pair sealed (by its kid; None:
    sealed before answers recorded their key)."""
    kid = db.json_text("answers", "__encrypted__", "kid")
    rows = db.execute(f"SELECT {kid}, COUNT(*) FROM submissions "
                      "WHERE form_id = ? AND answers LIKE ? GROUP BY 1", [form_id, '{"__encrypted__"%']).fetchall()
    return {kid: count for kid, count in rows}


def sealed_without_kid(db, form_id: str) -> Iterator[dict]:
    """The encrypted answers that do not say which key sealed them (older ones)."""
    for row in db.query("SELECT answers FROM submissions WHERE form_id = ? AND answers LIKE ? "
                        f"AND {db.json_text('answers', '__encrypted__', 'kid')} IS NULL", [form_id, '{"__encrypted__"%']):
        yield json.loads(row["answers"])


def first_sealed(db, form_id: str) -> dict | None:
    """The answers of one encrypted submission of the form, if there is any."""
    row = next(db.query("SELECT answers FROM submissions WHERE form_id = ? AND answers LIKE ? LIMIT 1",
                        [form_id, '{"__encrypted__"%']), None)
    return json.loads(row["answers"]) if row else None


def count_since_by_event(db, since: str) -> list[dict]:
    """Submissions at or after since (UTC, as stored), per event: {event_id, name, n};
    those from no event have event_id and name None. Most first."""
    return list(db.query(
        "SELECT s.event_id, e.name, COUNT(*) AS n FROM submissions s LEFT JOIN events e ON e.id = s.event_id "
        "WHERE s.submitted_at >= ? GROUP BY s.event_id, e.name ORDER BY n DESC, e.name", [since]))
