"""ODK instance XML <-> fieldkit's answers (issue 17): what ODK Collect and ODK Web Forms
submit, and what the laptop delivers to ODK Central or KoboToolbox.

Pure: no HTTP, no database. An instance is the form's primary instance filled in:

    <households id="households" version="1">
      <village>Hill</village>
      <household><head>Amina</head><child><child_age>4</child_age></child>...</household>
      <meta><instanceID>uuid:0c6c...</instanceID></meta>
    </households>

fieldkit's answers are a dict of question name to text, groups flattened away (names are
unique in a form), each repeat a list of dicts of its own questions, nested as the repeats
are. Reading follows the form's model (which questions and repeats are at which level);
writing follows the XForm's primary instance (the order and groups of its elements), so
that what goes out is shaped as what Collect would have sent.

Values are kept as ODK wrote them (a time with its seconds and offset, 14:30:00.000+03:00),
so that one read and one write give back the same XML values. fieldkit's own shorter
forms are widened on the way out: 14:30 becomes 14:30:00.000, 2024-05-31T14:30 becomes
2024-05-31T14:30:00.000 (a local time, as the participant's page asked for it).
"""
from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as parse_untrusted

from .model import UPLOAD_TYPES, Form

MAX_DEPTH = 64  # elements inside elements: a form's groups and repeats, with room to spare


class InstanceError(ValueError):
    """Not an instance of a form fieldkit can store: malformed, unsafe, or of another shape."""


@dataclass(frozen=True)
class Node:
    """An element of the primary instance: a question (no children), a group, or a repeat."""
    name: str
    children: tuple[Node, ...] = ()
    repeat: bool = False


@dataclass
class Instance:
    """A submission read from instance XML."""
    form_id: str
    version: str
    uuid: str  # the instanceID without its "uuid:"
    answers: dict
    files: dict[str, str] = field(default_factory=dict)  # the name in the XML -> the name fieldkit stores
    questions: dict[str, str] = field(default_factory=dict)  # the name fieldkit stores -> its question
    instance_name: str = ""  # meta/instanceName, where the form sets one
    deprecated: str = ""  # meta/deprecatedID: the instance this one edits (uuid, without "uuid:")


def local(tag: str) -> str:
    """An element's name without its namespace: ODK's clients differ in which they write."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


# --- the XForm's primary instance ---------------------------------------------------------------

def template(xform: str) -> Node:
    """The shape of a form's primary instance, read from its XForm (which fieldkit made with
    pyxform, and trusts). A repeat appears once, however many copies the XForm holds."""
    root = ET.fromstring(xform.encode("utf-8") if isinstance(xform, str) else xform)
    model = next((e for e in root.iter() if local(e.tag) == "model"), None)
    primary = next((e for e in (model if model is not None else []) if local(e.tag) == "instance"), None)
    if primary is None or len(primary) == 0:
        raise InstanceError("The XForm has no primary instance.")
    return _shape(primary[0])


def _shape(element) -> Node:
    children, seen = [], set()
    for child in element:
        name = local(child.tag)
        if name in seen:  # a repeat's second copy (pyxform writes the jr:template and one more)
            continue
        seen.add(name)
        children.append(_shape(child))
    repeat = any(local(a) == "template" for a in element.attrib)
    return Node(local(element.tag), tuple(children), repeat)


def _mark_repeats(node: Node, form: Form) -> Node:
    """The model knows which elements are repeats even where the XForm marks none."""
    return Node(node.name, tuple(_mark_repeats(c, form) for c in node.children), node.repeat or node.name in form.repeats)


# --- reading -----------------------------------------------------------------------------------

def parse(data: bytes) -> ET.Element:
    """Instance XML from a client, parsed safely: no DTD, no entities (an XML bomb is refused
    before it expands), no nesting past MAX_DEPTH."""
    try:
        root = parse_untrusted(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ET.ParseError, DefusedXmlException, ValueError) as error:
        raise InstanceError(f"The submission is not well-formed XML: {error}") from None
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InstanceError("The submission is nested too deeply.")
        stack.extend((child, depth + 1) for child in element)
    return root


def identify(root: ET.Element) -> tuple[str, str]:
    """(form_id, version) an instance says it answers: its root's id and version attributes."""
    attributes = {local(k): v for k, v in root.attrib.items()}
    form_id = attributes.get("id") or ""
    if not form_id:
        raise InstanceError("The submission does not say which form it answers (no id on its root).")
    return form_id, attributes.get("version") or ""


def is_encrypted(root: ET.Element) -> bool:
    """ODK's encrypted submission: <data encrypted="yes"> around a key, a manifest and files."""
    return {local(k): v for k, v in root.attrib.items()}.get("encrypted") == "yes"


@dataclass
class Envelope:
    """ODK Collect's encrypted submission (https://getodk.github.io/xforms-spec/encryption):
    what is in the clear around the encrypted files."""
    form_id: str
    version: str
    uuid: str  # the instanceID without its "uuid:"
    instance_id: str  # as written: the seed of the files' IVs
    key: str  # base64EncryptedKey
    xml_file: str  # encryptedXmlFile: the name of the encrypted instance among the files sent
    media: list[str]  # the encrypted media files, in order
    signature: str = ""  # base64EncryptedElementSignature: kept for the server it is delivered to


def read_envelope(root: ET.Element) -> Envelope:
    form_id, version = identify(root)
    found: dict[str, str] = {}
    media: list[str] = []
    for element in root.iter():
        name = local(element.tag)
        if name == "file":
            media.append((element.text or "").strip())
        elif name in ("base64EncryptedKey", "encryptedXmlFile", "instanceID", "base64EncryptedElementSignature"):
            found[name] = (element.text or "").strip()
    if not all(found.get(k) for k in ("base64EncryptedKey", "encryptedXmlFile", "instanceID")):
        raise InstanceError("The encrypted submission lacks its key, its file or its instanceID.")
    instance_id = found["instanceID"]
    return Envelope(form_id, version, instance_id[5:] if instance_id.startswith("uuid:") else instance_id,
                    instance_id, found["base64EncryptedKey"], found["encryptedXmlFile"], [m for m in media if m],
                    found.get("base64EncryptedElementSignature", ""))


SUBMISSIONS = "http://opendatakit.org/submissions"


def envelope_xml(form_id: str, version: str, instance_id: str, key: str, media: list[str], signature: str) -> bytes:
    """ODK's envelope around an encrypted submission, as ODK Collect writes it, for a server
    it is delivered to (the encrypted files go beside it: media, then submission.xml.enc)."""
    root = ET.Element("data", {"xmlns": SUBMISSIONS, "id": form_id, "version": version, "encrypted": "yes"})
    ET.SubElement(root, "base64EncryptedKey").text = key
    meta = ET.SubElement(root, "meta", {"xmlns": "http://openrosa.org/xforms"})
    ET.SubElement(meta, "instanceID").text = instance_id
    for name in media:
        ET.SubElement(ET.SubElement(root, "media"), "file").text = name
    ET.SubElement(root, "encryptedXmlFile").text = "submission.xml.enc"
    ET.SubElement(root, "base64EncryptedElementSignature").text = signature or None
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def to_answers(form: Form, root: ET.Element) -> Instance:
    """fieldkit's answers from an instance of this form version: every question of each
    level present (empty where the XML has nothing, as the web stores a skipped question),
    metadata kept, elements the form does not know left out."""
    form_id, version = identify(root)
    meta = _meta(root)
    instance_id = meta.get("instanceID", "")
    uuid = instance_id[5:] if instance_id.startswith("uuid:") else instance_id
    if not uuid:
        raise InstanceError("The submission has no meta/instanceID.")
    files: dict[str, str] = {}
    questions: dict[str, str] = {}
    answers = _level(form, root, None, files, questions, uuid)
    deprecated = meta.get("deprecatedID", "")
    return Instance(form_id, version, uuid, answers, files, questions, meta.get("instanceName", ""),
                    deprecated[5:] if deprecated.startswith("uuid:") else deprecated)


def _meta(root: ET.Element) -> dict[str, str]:
    for child in root:
        if local(child.tag) == "meta":
            return {local(e.tag): (e.text or "").strip() for e in child}
    return {}


def _level(form: Form, element: ET.Element, repeat: str | None, files: dict, questions: dict, uuid: str) -> dict:
    row: dict = {n: "" for n, q in form.questions.items() if q.repeat == repeat and q.type != "note"}
    for name, r in form.repeats.items():
        if r.parent == repeat:
            row[name] = []
    pending = [iter(element)]
    while pending:  # the level's elements, through its groups (not into its repeats)
        child = next(pending[-1], None)
        if child is None:
            pending.pop()
            continue
        name = local(child.tag)
        if name in form.repeats and form.repeats[name].parent == repeat:
            row[name].append(_level(form, child, name, files, questions, uuid))
        elif len(child):
            if not (name == "meta" and repeat is None):
                pending.append(iter(child))  # a group: its questions belong to this level
        elif name in row and not isinstance(row[name], list):
            question = form.questions[name]
            value = (child.text or "").strip() if question.type != "text" else (child.text or "")
            if question.type in UPLOAD_TYPES and value:
                value = files.setdefault(value, stored_name(uuid, name, value))
                questions[value] = name
            row[name] = value
    return row


def stored_name(uuid: str, question: str, sent: str) -> str:
    """The name fieldkit keeps a submitted file under, as its web pages name them
    (question-16 hex.ext), made from the submission and the name the client gave it, so
    that every POST of one submission (Collect splits large ones) names it the same."""
    ext = sent.rsplit(".", 1)[-1].lower() if "." in sent else ""
    ext = ext if re.fullmatch(r"[a-z0-9]{1,5}", ext) else "bin"
    prefix = re.sub(r"[^A-Za-z0-9_-]", "_", question)[:80] or "file"
    digest = hashlib.sha256(f"{uuid}\0{question}\0{sent}".encode()).hexdigest()[:16]
    return f"{prefix}-{digest}.{ext}"


# --- writing -----------------------------------------------------------------------------------

_TIME = re.compile(r"\d{2}:\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def odk_value(qtype: str, value) -> str:
    """A stored answer as ODK writes it."""
    text = "" if value is None else str(value)
    if qtype == "time" and _TIME.fullmatch(text):
        return text + ":00.000"
    if qtype in ("dateTime", "start", "end") and _DATETIME.fullmatch(text):
        return text + ":00.000"
    return text


def to_xml(form: Form, xform: str, answers: dict, uuid: str, instance_name: str = "") -> bytes:
    """The instance XML of a submission of this form version, shaped as the XForm's primary
    instance: what ODK Collect would have sent for these answers."""
    shape = _mark_repeats(template(xform), form)
    root = ET.Element(shape.name, {"id": form.form_id, "version": form.version})
    _fill(form, shape, answers, root, uuid, instance_name)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _fill(form: Form, shape: Node, values: dict, out: ET.Element, uuid: str, instance_name: str) -> None:
    for child in shape.children:
        if child.repeat:
            for row in values.get(child.name) or []:
                if isinstance(row, dict):
                    _fill(form, child, row, ET.SubElement(out, child.name), uuid, instance_name)
        elif child.name == "meta" and child.children:
            meta = ET.SubElement(out, "meta")
            for item in child.children:
                text = {"instanceID": f"uuid:{uuid}" if not uuid.startswith("uuid:") else uuid,
                        "instanceName": instance_name}.get(item.name, "")
                ET.SubElement(meta, item.name).text = text or None
        elif child.children:
            _fill(form, child, values, ET.SubElement(out, child.name), uuid, instance_name)
        else:
            question = form.questions.get(child.name)
            value = values.get(child.name, "")
            text = odk_value(question.type, value) if question else ("" if value is None else str(value))
            ET.SubElement(out, child.name).text = text or None
