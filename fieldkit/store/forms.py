"""Forms and their versions."""
from __future__ import annotations

import hashlib
import json
import threading

from ..forms.model import Form
from .db import write
from .util import utcnow


def add_form(db, form: Form, source: bytes, source_name: str, media: dict[str, bytes] | None = None) -> str:
    """Store a new version and the media files it uses. Returns 'added', or
    'unchanged' for the same file again.

    Raises VersionClash when the version exists with different content."""
    digest = hashlib.sha256(source).hexdigest()
    with write(db):
        # two processes adding forms at once (two centrals starting with the demo): one at a time, so
        # that the version and public-name checks below see each other's rows
        db.serialize("forms")
        row = next(db.query("SELECT source_sha256 FROM forms WHERE form_id = ? AND version = ?",
                            [form.form_id, form.version]), None)
        if row:
            if row["source_sha256"] == digest:
                return "unchanged"
            raise VersionClash(form.form_id, form.version)
        model = json.dumps(form.to_dict(), ensure_ascii=False)
        taken = next(db.query("SELECT form_id FROM forms WHERE (public_id = ? OR form_id = ?) AND form_id != ?",
                              [form.key, form.key, form.form_id]), None)
        if taken:
            raise PublicIdClash(form.key, taken["form_id"])
        db.insert("forms", {
            "form_id": form.form_id, "version": form.version,
            "title": json.dumps(form.title, ensure_ascii=False),
            "languages": json.dumps(form.languages), "model": model,
            "model_sha256": hashlib.sha256(model.encode()).hexdigest(),
            "source": source, "source_name": source_name, "source_sha256": digest,
            "status": "open", "created_at": utcnow(), "public_id": form.key,
            # a key set in the console stays, unless the new XLSForm brings its own
            "public_key": form.public_key or _latest_public_key(db, form.form_id),
            "xform": form.xform or None, "xform_md5": xform_md5(form.xform) if form.xform else None,
        })
        for name, meta in form.media_files.items():
            db.execute("INSERT INTO form_media (sha256, content_type, data, created_at) VALUES (?, ?, ?, ?) "
                       "ON CONFLICT DO NOTHING",
                       [meta["sha256"], meta["type"], (media or {})[name], utcnow()])
    return "added"


def xform_md5(xform: str) -> str:
    """The XForm's hash as OpenRosa's formList gives it: md5 of its UTF-8 bytes."""
    return hashlib.md5(xform.encode("utf-8")).hexdigest()


def xform_of(db, form_id: str, version: str) -> tuple[str, str] | None:
    """(XForm, md5) of a stored version, or None when it has none stored yet."""
    row = next(db.query("SELECT xform, xform_md5 FROM forms WHERE form_id = ? AND version = ?",
                        [form_id, version]), None)
    return (row["xform"], row["xform_md5"]) if row and row["xform"] else None


def set_xform(db, form_id: str, version: str, xform: str) -> None:
    with write(db):
        db.execute("UPDATE forms SET xform = ?, xform_md5 = ? WHERE form_id = ? AND version = ? AND xform IS NULL",
                   [xform, xform_md5(xform), form_id, version])


def replace_model(db, form: Form, media: dict[str, bytes]) -> None:
    """Files attached to a stored version after its import (its XLSForm unchanged): the
    version's model now uses them. Its hash changes with it, so no cached copy is stale."""
    model = json.dumps(form.to_dict(), ensure_ascii=False)
    with write(db):
        db.execute("UPDATE forms SET model = ?, model_sha256 = ? WHERE form_id = ? AND version = ?",
                   [model, hashlib.sha256(model.encode()).hexdigest(), form.form_id, form.version])
        for name, meta in form.media_files.items():
            if name in media:
                db.execute("INSERT INTO form_media (sha256, content_type, data, created_at) "
                           "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", [meta["sha256"], meta["type"], media[name], utcnow()])


def media_of(db, form: Form) -> dict[str, bytes]:
    """The files a stored version uses, by name."""
    found = {}
    for name, meta in form.media_files.items():
        row = media_file(db, meta["sha256"])
        if row is not None:
            found[name] = row[1]
    return found


def media_file(db, sha256: str) -> tuple[str, bytes] | None:
    """(content type, bytes) of a form's media file."""
    row = next(db.query("SELECT content_type, data FROM form_media WHERE sha256 = ?", [sha256]), None)
    return (row["content_type"], row["data"]) if row else None


class VersionClash(Exception):
    def __init__(self, form_id: str, version: str):
        super().__init__(f"{form_id} version {version}")
        self.form_id, self.version = form_id, version


class PublicIdClash(Exception):
    def __init__(self, key: str, other: str):
        super().__init__(key)
        self.key, self.other = key, other


def form_id_for_public(db, key: str) -> str | None:
    """The form behind a participant URL's name (its public_id)."""
    row = next(db.query("SELECT form_id FROM forms WHERE public_id = ? ORDER BY id DESC LIMIT 1", [key]), None)
    return row["form_id"] if row else None


_PARSED: dict[str, Form] = {}
_PARSED_MAX = 64
_PARSED_LOCK = threading.Lock()


def _form(db, where: str, params: list) -> Form | None:
    """A stored model, parsed once per process rather than on every request (two
    parses were a tenth of a participant's page: bench/RESULTS.md). A page reads
    only the model's hash; the model itself (15 KB and more) is read and parsed
    the first time that hash is seen. A model never changes once stored, and the
    hash is of its text, so a cached form is always exactly what the row holds.
    The Form is shared between requests and threads: treat it as read-only."""
    row = db.execute(f"SELECT id, model_sha256 FROM forms WHERE {where}", params).fetchone()
    if row is None:
        return None
    found = _PARSED.get(row[1]) if row[1] else None
    if found is None:
        model = db.execute("SELECT model FROM forms WHERE id = ?", [row[0]]).fetchone()[0]
        found = Form.from_dict(json.loads(model))
        if row[1]:
            with _PARSED_LOCK:  # the oldest out first, one thread at a time
                while len(_PARSED) >= _PARSED_MAX:
                    _PARSED.pop(next(iter(_PARSED)))
                _PARSED[row[1]] = found
    return found


def current_form(db, form_id: str) -> Form | None:
    """The newest version of form_id."""
    return _form(db, "form_id = ? ORDER BY id DESC LIMIT 1", [form_id])


def form_version(db, form_id: str, version: str) -> Form | None:
    return _form(db, "form_id = ? AND version = ?", [form_id, version])


def all_versions(db, form_id: str) -> list[Form]:
    """Newest first."""
    ids = [r[0] for r in db.execute("SELECT id FROM forms WHERE form_id = ? ORDER BY id DESC", [form_id])]
    return [_form(db, "id = ?", [i]) for i in ids]


def list_forms(db) -> list[dict]:
    """One row per form_id: its newest version, with version and submission counts."""
    sql = """
        SELECT f.form_id, f.version, f.title, f.languages, f.status, f.created_at, f.public_id,
               (SELECT COUNT(*) FROM forms v WHERE v.form_id = f.form_id) AS versions,
               (SELECT COUNT(*) FROM submissions s WHERE s.form_id = f.form_id) AS submissions
        FROM forms f
        WHERE f.id = (SELECT MAX(id) FROM forms g WHERE g.form_id = f.form_id)
        ORDER BY f.form_id"""
    return [dict(r, title=json.loads(r["title"]), languages=json.loads(r["languages"])) for r in db.query(sql)]


def open_versions(db) -> list[tuple[str, str]]:
    """(form_id, newest version) of each open form, by form_id."""
    return [(r["form_id"], r["version"]) for r in db.query(
        "SELECT f.form_id, f.version FROM forms f WHERE f.status = 'open' "
        "AND f.id = (SELECT MAX(id) FROM forms g WHERE g.form_id = f.form_id) ORDER BY f.form_id")]


def count_forms(db) -> int:
    return db.count("forms")


def set_status(db, form_id: str, status: str) -> bool:
    """Open or close a form for answers (every version of it)."""
    if status not in ("open", "closed"):
        raise ValueError(status)
    with write(db):
        return db.execute("UPDATE forms SET status = ? WHERE form_id = ?", [status, form_id]).rowcount > 0


def form_status(db, form_id: str) -> str | None:
    row = next(db.query("SELECT status FROM forms WHERE form_id = ? ORDER BY id DESC LIMIT 1", [form_id]), None)
    return row["status"] if row else None


def source_of(db, form_id: str, version: str) -> tuple[str, bytes] | None:
    row = next(db.query("SELECT source_name, source FROM forms WHERE form_id = ? AND version = ?",
                        [form_id, version]), None)
    return (row["source_name"], row["source"]) if row else None


def _latest_public_key(db, form_id: str) -> str | None:
    row = next(db.query("SELECT public_key FROM forms WHERE form_id = ? ORDER BY id DESC LIMIT 1", [form_id]), None)
    return row["public_key"] if row else None


def public_key(db, form_id: str) -> str | None:
    """The key a form's answers are sealed with now, if any."""
    return _latest_public_key(db, form_id) or None


def set_public_key(db, form_id: str, key: str | None) -> None:
    with write(db):
        db.execute("UPDATE forms SET public_key = ? WHERE form_id = ?", [key or None, form_id])
