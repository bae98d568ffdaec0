"""Sync use cases without HTTP: the wire format of a submission, receiving a
device's batch (central), and adding a form version pulled from a central (laptop).

The HTTP side lives in web/api.py (central) and fieldkit/sync/ (laptop)."""
from __future__ import annotations

import base64
import hashlib
import re

from .. import crypto
from ..errors import FieldkitError
from ..forms.engine import MAX_DEPTH
from ..messages import Message, N_
from ..store import audit, sync as sync_store
from ..store.forms import form_version, media_file, source_of
from ..store.submissions import content_hash
from .forms import import_form

WIRE_FIELDS = ("uuid", "form_id", "form_version", "language", "answers", "started_at", "submitted_at",
               "device_id")
UUID = re.compile(r"[A-Za-z0-9][A-Za-z0-9:._-]{0,79}")
HEX64 = re.compile(r"[0-9a-f]{64}")
SCALARS = (str, int, float, bool, type(None))


def to_wire(sub: dict) -> dict:
    """What a laptop sends for one submission: no local ids (event, sync state)."""
    wire = {k: sub.get(k) for k in WIRE_FIELDS}
    wire["content_hash"] = sub["content_hash"]
    if sub.get("attachments"):  # files attached to answers: as stored (sealed for an encrypted form)
        wire["attachments"] = [{"name": f["name"], "question": f["question"], "content_type": f["content_type"],
                                "sha256": f["sha256"], "sealed": f["sealed"],
                                "data": base64.b64encode(f["data"]).decode("ascii")} for f in sub["attachments"]]
    if sub.get("event_code"):  # so the central can compare gatherings across sites
        wire["event"] = {"code": sub["event_code"], "name": sub["event_name"], "site": sub.get("event_site"),
                         "date": sub.get("event_date")}
    return wire


def _event(obj: dict) -> dict | None:
    event = obj.get("event")
    if event is None:
        return None
    if not isinstance(event, dict) or not re.fullmatch(r"[a-z0-9]{4,12}", str(event.get("code", ""))):
        raise bad(N_("Not a valid batch: %(field)s is missing or not valid."), field="event")
    return {"code": event["code"], "name": _text(event, "name", 120), "site": _text(event, "site", 120, False),
            "date": _text(event, "date", 10, False)}


def bad(text: str, **params) -> FieldkitError:
    return FieldkitError("bad_batch", Message(text, params))


def _text(obj: dict, key: str, limit: int, required: bool = True) -> str | None:
    value = obj.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value or len(value) > limit:
        raise bad(N_("Not a valid batch: %(field)s is missing or not valid."), field=key)
    return value


def _plain_answers(answers, depth: int = 0) -> bool:
    """Names to scalars or lists of scalars; a repeat is a list of such objects, and a
    repeat inside it a list inside those, as deep as a form's pages may go."""
    def value_ok(v) -> bool:
        if isinstance(v, SCALARS):
            return True
        return isinstance(v, list) and all(
            isinstance(x, SCALARS) or (depth < MAX_DEPTH and _plain_answers(x, depth + 1)) for x in v)
    return isinstance(answers, dict) and all(isinstance(k, str) and value_ok(v) for k, v in answers.items())


def _sealed_answers(answers) -> bool:
    """An encrypted form's answers travel as they are stored: ciphertext the
    central keeps without being able to open it."""
    if not crypto.is_sealed(answers) or len(answers) != 1:
        return False
    envelope = answers[crypto.MARK]
    return isinstance(envelope, dict) and all(isinstance(envelope.get(k), str) for k in ("scheme", "key", "nonce", "data"))


def from_wire(obj) -> dict:
    """Check one received submission and return the record to store.

    The content hash is recomputed here: a record changed or damaged on the way
    is refused rather than stored under a hash it does not have."""
    if not isinstance(obj, dict):
        raise bad(N_("Not a valid batch: a submission is not an object."))
    uuid = _text(obj, "uuid", 80)
    if not UUID.fullmatch(uuid):
        raise bad(N_("Not a valid batch: uuid %(uuid)s is not valid."), uuid=uuid)
    answers = obj.get("answers")
    if not (_plain_answers(answers) or _sealed_answers(answers)):
        raise bad(N_("Not a valid batch: the answers of %(uuid)s are not valid."), uuid=uuid)
    record = {"uuid": uuid, "answers": answers,
              "form_id": _text(obj, "form_id", 200), "form_version": _text(obj, "form_version", 200),
              "language": _text(obj, "language", 35, required=False),
              "started_at": _text(obj, "started_at", 40, required=False),
              "submitted_at": _text(obj, "submitted_at", 40),
              "device_id": _text(obj, "device_id", 80, required=False), "event": _event(obj)}
    record["attachments"] = _attachments(obj, uuid)
    claimed = obj.get("content_hash")
    if not isinstance(claimed, str) or not HEX64.fullmatch(claimed) or \
            claimed != content_hash(record["form_id"], record["form_version"], answers):
        raise bad(N_("Not a valid batch: the content hash of %(uuid)s does not match its content."), uuid=uuid)
    record["content_hash"] = claimed  # checked: the store need not hash the answers again
    return record


ATTACHMENT_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}-[0-9a-f]{16}\.[a-z0-9]{1,5}")


def _attachments(obj: dict, uuid: str) -> list[dict]:
    """The files sent with a submission, each checked against its sha256 (of the
    bytes as stored: a sealed file's hash is of the plain file, so it is not checked)."""
    files = obj.get("attachments", [])
    if not isinstance(files, list) or len(files) > 100:
        raise bad(N_("Not a valid batch: the attachments of %(uuid)s are not valid."), uuid=uuid)
    out = []
    for f in files:
        try:
            ok = (isinstance(f, dict) and ATTACHMENT_NAME.fullmatch(f["name"]) and HEX64.fullmatch(f["sha256"])
                  and isinstance(f["question"], str) and isinstance(f["content_type"], str)
                  and len(f["question"]) <= 200 and len(f["content_type"]) <= 100 and f["sealed"] in (None, "public", "odk"))
            data = base64.b64decode(f["data"], validate=True) if ok else b""
        except (KeyError, TypeError, ValueError):
            ok = False
        if not ok or (f["sealed"] is None and hashlib.sha256(data).hexdigest() != f["sha256"]):
            raise bad(N_("Not a valid batch: the attachments of %(uuid)s are not valid."), uuid=uuid)
        out.append(dict(f, data=data))
    return out


def receive(db, device_name: str, body, max_count: int) -> list[dict]:
    """A central receives a device's batch: all stored in one transaction, or none."""
    if not isinstance(body, dict) or not isinstance(body.get("submissions"), list):
        raise bad(N_("Not a valid batch: the body must be an object with a list 'submissions'."))
    items = body["submissions"]
    if len(items) > max_count:
        raise FieldkitError("too_large")
    records = [from_wire(item) for item in items]
    if len({r["uuid"] for r in records}) != len(records):
        raise bad(N_("Not a valid batch: a uuid appears twice in it."))
    # An answer to a form version this central does not have could never be read back or
    # exported: it is not stored, and the laptop keeps it (outcome unknown_form).
    known = {key for key in {(r["form_id"], r["form_version"]) for r in records}
             if sync_store.version_digest(db, *key) is not None}
    kept = [r for r in records if (r["form_id"], r["form_version"]) in known]
    stored = dict(zip((r["uuid"] for r in kept), sync_store.receive_batch(db, device_name, kept)))
    return [{"uuid": r["uuid"], "outcome": stored.get(r["uuid"], "unknown_form")} for r in records]


def form_download(db, form_id: str, version: str) -> dict | None:
    """One published version as the API shows it: its XLSForm file, base64."""
    found = source_of(db, form_id, version)
    if found is None:
        return None
    name, data = found
    media = []
    form = form_version(db, form_id, version)
    for filename, meta in (form.media_files if form else {}).items():
        stored = media_file(db, meta["sha256"])
        if stored:
            media.append({"name": filename, "sha256": meta["sha256"], "data": base64.b64encode(stored[1]).decode()})
    return {"form_id": form_id, "version": version, "source_name": name, "media": media,
            "sha256": hashlib.sha256(data).hexdigest(), "source": base64.b64encode(data).decode("ascii")}


def needs_pull(db, listed: dict) -> str:
    """'have', 'missing', or 'clash' (same version here with other content: kept, not replaced)."""
    digest = sync_store.version_digest(db, listed["form_id"], listed["version"])
    if digest is None:
        return "missing"
    return "have" if digest == listed["sha256"] else "clash"


def add_pulled_form(db, listed: dict, download: dict) -> None:
    """Add a version pulled from the central, parsed and checked like an upload.
    Raises ValueError if the file is not what the listing promised."""
    data = base64.b64decode(download["source"], validate=True)
    if hashlib.sha256(data).hexdigest() != listed["sha256"]:
        raise ValueError("the form file does not match its checksum")
    media = {}
    for item in download.get("media") or []:
        content = base64.b64decode(item["data"], validate=True)
        if hashlib.sha256(content).hexdigest() != item["sha256"]:
            raise ValueError(f"the media file {item['name']} does not match its checksum")
        media[item["name"]] = content
    import_form(db, data, download["source_name"], media=media)


def set_by_hand(db, by_hand: bool, forms_by_hand: list[str], actor: str | None) -> None:
    """What a sync by itself leaves to a sync by hand (the whole laptop's answers, or
    some forms'), in the activity log."""
    sync_store.set_auto(db, by_hand, forms_by_hand)
    audit.record(db, actor, "sync.by_hand", laptop=by_hand, forms=sorted(forms_by_hand))
