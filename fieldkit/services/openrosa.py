"""ODK Collect and ODK Web Forms as clients of this fieldkit (issue 17): the forms they may
download, and their submissions, stored exactly as a participant's from the web pages are
(the same table, the same dedupe by uuid and content hash, the same exports, results,
encryption and sync to a central).

The OpenRosa documents themselves (formList, manifest, responses) are web/openrosa.py's;
the instance XML is forms/instance.py's. This module decides what is offered and what is kept.
"""
from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from .. import crypto
from ..errors import FieldkitError
from ..forms import instance as xml_instance
from ..forms.model import Form
from ..messages import N_, Message
from ..store import attachments, collectors, forms as form_store, submissions, sync as sync_store
from ..store.db import write
from ..store.util import utcnow
from . import forms as form_service
from .sync import UUID

MAX_FILES = 100  # attachments in one POST


@dataclass
class Offered:
    """A form version ODK Collect may download."""
    form: Form
    xform: str
    md5: str
    media: dict[str, dict]  # file name -> {"sha256", "type"}


def offered(db, form_id: str | None = None) -> list[Offered]:
    """The open forms, each at its newest version (one whose XLSForm sets public_key, Collect
    encrypts itself: _receive_encrypted). Collect asks for this list often: no counting here."""
    out = []
    for found_id, version in form_store.open_versions(db):
        if form_id is None or found_id == form_id:
            found = _offer(db, found_id, version)
            if found is not None:
                out.append(found)
    return out


def offer(db, form_id: str, version: str) -> Offered | None:
    """A version to download, while its form is open."""
    return _offer(db, form_id, version) if form_store.form_status(db, form_id) == "open" else None


def _offer(db, form_id: str, version: str) -> Offered | None:
    form = form_store.form_version(db, form_id, version)
    made = form_service.xform(db, form_id, version) if form else None
    if made is None:
        return None
    xform, md5 = made
    return Offered(form, xform, md5, dict(form.media_files))


def media_file(db, item: Offered, name: str) -> tuple[str, bytes] | None:
    meta = item.media.get(name)
    return form_store.media_file(db, meta["sha256"]) if meta else None


@dataclass
class Received:
    outcome: str  # created, duplicate (a resend, or the next part of a split one), conflict
    uuid: str


def bad(text: str, **params) -> FieldkitError:
    return FieldkitError("bad_submission", Message(text, params))


def receive(db, collector: str, xml: bytes, files: dict[str, tuple[str, bytes]], device_id: str) -> Received:
    """Store one OpenRosa submission: the instance XML and the files that came with it
    (name -> (content type, bytes)). A resend with the same instanceID and content is a
    duplicate, and its files, if new, are added (Collect sends a large submission in
    several POSTs, each with the whole XML); other content under the same instanceID is a
    conflict, kept for review beside the stored one, never merged."""
    try:
        root = xml_instance.parse(xml)
        form_id, version = xml_instance.identify(root)
    except xml_instance.InstanceError:
        raise bad(N_("This is not an ODK submission fieldkit can read (the XML is not valid).")) from None
    form = form_store.form_version(db, form_id, version)
    status = form_store.form_status(db, form_id)
    if form is None:
        if status is None:
            raise FieldkitError("form_not_found")
        raise FieldkitError("form_version_unknown", Message(
            N_("This laptop does not have version %(version)s of the form %(form)s. "
               "Get the form again in ODK Collect, then fill it in again."), {"version": version, "form": form_id}))
    if status != "open":
        raise FieldkitError("form_closed")
    if len(files) > MAX_FILES:
        raise FieldkitError("too_large")
    if xml_instance.is_encrypted(root):
        return _receive_encrypted(db, collector, form, root, files, device_id)
    try:
        read = xml_instance.to_answers(form, root)
    except xml_instance.InstanceError:
        raise bad(N_("This submission has no instanceID: fieldkit cannot tell it from another.")) from None
    if not UUID.fullmatch(read.uuid):
        raise bad(N_("This submission's instanceID is not valid."))
    key = form_store.public_key(db, form_id)
    answers = read.answers
    record = {"uuid": read.uuid, "form_id": form.form_id, "form_version": form.version, "language": None,
              "answers": crypto.seal(key, answers) if key else answers,
              "started_at": _first(answers, form, "start"), "submitted_at": utcnow(), "device_id": device_id}
    with write(db):  # the answers and their files, in one transaction
        outcome = submissions.add_submission(db, record)
        if outcome == "conflict":
            sync_store.keep_conflict(db, f"collect:{collector}", record, utcnow())
        else:  # created, or a resend: files not yet received are added (attachments arriving later)
            _add_files(db, read, files, key)
        collectors.seen(db, collector, received=1 if outcome == "created" else 0)
    return Received(outcome, read.uuid)


def _receive_encrypted(db, collector: str, form: Form, root, files: dict, device_id: str) -> Received:
    """ODK Collect's own encryption (a form whose XLSForm sets public_key): the envelope and
    its files are kept as they came, and opened only at export, with the private key
    (crypto.odk_open). The encrypted instance comes in the first POST; a split submission's
    later POSTs bring only media, which are added."""
    if not form.public_key:
        raise FieldkitError("submission_encrypted")
    try:
        envelope = xml_instance.read_envelope(root)
    except xml_instance.InstanceError:
        raise bad(N_("This is not an ODK submission fieldkit can read (the XML is not valid).")) from None
    if not UUID.fullmatch(envelope.uuid):
        raise bad(N_("This submission's instanceID is not valid."))
    sealed_xml = files.get(envelope.xml_file)
    if sealed_xml is None and not submissions.has_submission(db, envelope.uuid):
        raise bad(N_("This encrypted submission came without its encrypted file."))
    with write(db):
        outcome = "duplicate"
        if sealed_xml is not None:
            record = {"uuid": envelope.uuid, "form_id": form.form_id, "form_version": form.version, "language": None,
                      "answers": crypto.odk_envelope(form.public_key, envelope.key, envelope.instance_id,
                                                     sealed_xml[1], envelope.media, envelope.signature),
                      "started_at": None, "submitted_at": utcnow(), "device_id": device_id}
            outcome = submissions.add_submission(db, record)
            if outcome == "conflict":
                sync_store.keep_conflict(db, f"collect:{collector}", record, utcnow())
        if outcome != "conflict":  # the media files, still encrypted: opened at export with the key
            attachments.add_received(db, envelope.uuid, [
                {"name": xml_instance.stored_name(envelope.uuid, "odk", name), "question": name,
                 "content_type": "application/octet-stream", "sha256": hashlib.sha256(data).hexdigest(),
                 "data": data, "sealed": crypto.ODK_SCHEME}
                for name, (_type, data) in files.items() if name in envelope.media])
        collectors.seen(db, collector, received=1 if outcome == "created" else 0)
    return Received(outcome, envelope.uuid)


def _first(answers: dict, form: Form, qtype: str) -> str | None:
    for name, question in form.questions.items():
        if question.type == qtype and question.repeat is None and answers.get(name):
            return answers[name]
    return None


def _add_files(db, read: xml_instance.Instance, files: dict, key: str | None) -> None:
    """The files this POST brought that the answers name (others are not kept), stored
    under fieldkit's names; sealed for an encrypted form's key, as the web's are. One already
    stored is left as it is."""
    rows = []
    for sent, (content_type, data) in files.items():
        stored = read.files.get(sent)
        if stored is None:
            continue
        rows.append({"name": stored, "question": read.questions[stored], "content_type": content_type or
                     "application/octet-stream", "sha256": hashlib.sha256(data).hexdigest(),
                     "data": crypto.seal_bytes(key, data) if key else data, "sealed": "public" if key else None})
    attachments.add_received(db, read.uuid, rows)


# --- delivering to an OpenRosa server (ODK Central, KoboToolbox): sync/runner.py -------------

@dataclass
class Outgoing:
    xml: bytes
    files: list[tuple[str, str, bytes]]  # name, content type, bytes


def outgoing(db, sub: dict, listed: dict[str, str]) -> Outgoing | str:
    """A stored submission as instance XML and its files, for a server that lists listed
    (formID -> version); or why it cannot go: 'unknown_form' (the server has no such form
    version: the same form must be on both sides), 'sealed' (encrypted here: its answers
    cannot be written as ODK's XML without the private key), 'no_xform'."""
    if listed.get(sub["form_id"]) != sub["form_version"]:
        return "unknown_form"
    if crypto.is_sealed(sub["answers"]):
        envelope = sub["answers"][crypto.MARK]
        if envelope.get("scheme") != crypto.ODK_SCHEME:
            return "sealed"
        # ODK Collect's own encryption goes on as it came: the server (with the same public key) keeps it
        # encrypted, and only the private key's holder opens it, there as here.
        sent = {f["question"]: bytes(f["data"]) for f in attachments.odk_encrypted(db, sub["uuid"])}
        media = [name for name in envelope.get("files") or [] if name in sent]
        xml = xml_instance.envelope_xml(sub["form_id"], sub["form_version"], envelope["nonce"], envelope["key"],
                                        envelope.get("files") or [], envelope.get("signature", ""))
        # submission.xml.enc first: a server takes the envelope with it, and media in later POSTs if split
        return Outgoing(xml, [("submission.xml.enc", "application/octet-stream", base64.b64decode(envelope["data"]))]
                        + [(name, "application/octet-stream", sent[name]) for name in media])
    form = form_store.form_version(db, sub["form_id"], sub["form_version"])
    made = form_service.xform(db, sub["form_id"], sub["form_version"]) if form else None
    if made is None:
        return "no_xform"
    xml = xml_instance.to_xml(form, made[0], sub["answers"], sub["uuid"])
    files = [(f["name"], f["content_type"], bytes(f["data"]))
             for f in attachments.of_submission(db, sub["uuid"], with_data=True) if f["sealed"] is None]
    return Outgoing(xml, files)
