"""Files attached to answers: kept sealed while the participant is answering,
then with the submission (plain, or sealed for an encrypted form's key)."""
from __future__ import annotations

import hashlib
from .. import crypto
from .db import write
from .util import utcnow


def put_draft_file(db, uuid: str, token: str, name: str, question: str, content_type: str, data: bytes,
                   replaces: str | None = None) -> None:
    """Keep a file a participant attached, sealed with their token; the file it
    replaces (the same question answered again) is dropped in the same transaction."""
    with write(db):
        if replaces:
            db.execute("DELETE FROM attachments WHERE uuid = ? AND name = ? AND sealed = 'draft'", [uuid, replaces])
        db.execute("INSERT INTO attachments (uuid, name, question, content_type, size, sha256, data, "
                   "sealed, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'draft', ?) ON CONFLICT (uuid, name) DO UPDATE "
                   "SET question = excluded.question, content_type = excluded.content_type, size = excluded.size, "
                   "sha256 = excluded.sha256, data = excluded.data, sealed = excluded.sealed, "
                   "created_at = excluded.created_at",
                   [uuid, name, question, content_type, len(data), hashlib.sha256(data).hexdigest(),
                    crypto.seal_draft_bytes(token, data), utcnow()])


def finish(db, uuid: str, token: str, keep: set[str], public_key: str | None) -> None:
    """At submission (inside its transaction): the files its answers name are
    opened with the token and kept (sealed again for an encrypted form); the
    others (replaced, or of a question no longer relevant) are dropped."""
    rows = db.execute("SELECT name, data FROM attachments WHERE uuid = ? AND sealed = 'draft'", [uuid]).fetchall()
    for name, stored in rows:
        data = crypto.open_draft_bytes(token, stored) if name in keep else None
        if data is None:
            db.execute("DELETE FROM attachments WHERE uuid = ? AND name = ?", [uuid, name])
            continue
        db.execute("UPDATE attachments SET data = ?, sealed = ? WHERE uuid = ? AND name = ?",
                   [crypto.seal_bytes(public_key, data) if public_key else data, "public" if public_key else None,
                    uuid, name])


def drop_draft_files(db, uuid: str) -> None:
    with write(db):
        db.execute("DELETE FROM attachments WHERE uuid = ? AND sealed = 'draft'", [uuid])


def get(db, uuid: str, name: str) -> dict | None:
    row = next(db.query("SELECT * FROM attachments WHERE uuid = ? AND name = ? AND "
                        "(sealed IS NULL OR sealed = 'public')", [uuid, name]), None)
    return dict(row) if row else None


def of_submission(db, uuid: str, with_data: bool = False) -> list[dict]:
    """A submission's files; their bytes only when asked for."""
    columns = "uuid, name, question, content_type, size, sha256, sealed" + (", data" if with_data else "")
    return [dict(r) for r in db.query(
        f"SELECT {columns} FROM attachments WHERE uuid = ? AND (sealed IS NULL OR sealed = 'public') ORDER BY name",
        [uuid])]


def odk_encrypted(db, uuid: str) -> list[dict]:
    """The files ODK Collect encrypted itself, as they came (question: their name in its envelope)."""
    return [dict(r) for r in db.query("SELECT name, question, data FROM attachments WHERE uuid = ? AND sealed = 'odk' "
                                      "ORDER BY name", [uuid])]


def add_received(db, uuid: str, files: list[dict]) -> None:
    """On a central: the files a device sent with a submission (inside the batch's transaction)."""
    for f in files:
        db.execute("INSERT INTO attachments (uuid, name, question, content_type, size, sha256, data, "
                   "sealed, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                   [uuid, f["name"], f["question"], f["content_type"], len(f["data"]), f["sha256"], f["data"],
                    f.get("sealed"), utcnow()])


def for_sync(db, uuids: list[str]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    if not uuids:
        return out
    marks = ",".join("?" for _ in uuids)
    # ODK Collect's own encrypted files ('odk') travel as they came, with the envelope that opens them
    for row in db.query(f"SELECT * FROM attachments WHERE uuid IN ({marks}) AND (sealed IS NULL OR sealed IN "
                        "('public', 'odk'))", uuids):
        out.setdefault(row["uuid"], []).append(dict(row))
    return out
