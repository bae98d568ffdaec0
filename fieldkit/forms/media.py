"""A form's media files: what they may be, and choices read from an attached CSV.

A coordinator uploads them with the XLSForm (`fieldkit forms add form.xlsx
districts.csv map.png`, or the console's upload page). They are checked at
import, like everything else: a file the form names that is missing, too large
or of a kind phones cannot show is refused there, never at answer time.
"""
from __future__ import annotations

import csv
import io
from pathlib import PurePath

from ..messages import Message, N_

MAX_MEDIA_BYTES = 3 * 1024 * 1024  # per file: phones on event Wi-Fi download each one
MAX_CHOICES_FROM_FILE = 20000
# Extension -> (content type, kind). SVG is left out on purpose: it can carry script.
MEDIA_TYPES = {
    ".png": ("image/png", "image"), ".jpg": ("image/jpeg", "image"), ".jpeg": ("image/jpeg", "image"),
    ".gif": ("image/gif", "image"), ".webp": ("image/webp", "image"),
    ".mp3": ("audio/mpeg", "audio"), ".m4a": ("audio/mp4", "audio"), ".ogg": ("audio/ogg", "audio"),
    ".opus": ("audio/ogg", "audio"), ".wav": ("audio/wav", "audio"),
    ".mp4": ("video/mp4", "video"), ".webm": ("video/webm", "video"),
    ".csv": ("text/csv", "data"), ".xml": ("application/xml", "data"), ".geojson": ("application/geo+json", "data"),
}
# What the start of each kind of file must look like, so a renamed file is caught.
SIGNATURES = {
    "image/png": (b"\x89PNG\r\n\x1a\n",), "image/jpeg": (b"\xff\xd8\xff",), "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",), "audio/ogg": (b"OggS",), "audio/wav": (b"RIFF",),
    "audio/mpeg": (b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2", b"\xff\xfa"),
}


def kind_of(filename: str) -> tuple[str, str] | None:
    """(content type, kind) for a media file's name, or None when fieldkit does not take it."""
    return MEDIA_TYPES.get(PurePath(filename).suffix.lower())


def check_file(filename: str, data: bytes) -> Message | None:
    """Why this file cannot be one of a form's media files, or None."""
    found = kind_of(filename)
    if found is None:
        return Message(N_("%(name)s cannot be used: media files can be .png, .jpg, .gif, .webp, .mp3, .m4a, "
                          ".ogg, .opus, .wav, .mp4, .webm or .csv."), {"name": filename})
    if len(data) > MAX_MEDIA_BYTES:
        return Message(N_("%(name)s is too large (more than %(mb)s MB): phones on the event's Wi-Fi would wait "
                          "for it. Make it smaller and try again."),
                       {"name": filename, "mb": MAX_MEDIA_BYTES // (1024 * 1024)})
    starts = SIGNATURES.get(found[0])
    if starts and not data.startswith(starts):
        return Message(N_("%(name)s is not the kind of file its name says."), {"name": filename})
    return None


def _decoded(data: bytes) -> str:
    """UTF-8, else Windows-1252: what Excel's plain "CSV" saves on many laptops."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def rows_from_csv(data: bytes, filename: str) -> tuple[list[dict], list[Message]]:
    """Every row of an attached CSV (pulldata(), instance()), as column -> text."""
    text = _decoded(data)
    rows = [{(k or "").strip(): (v or "").strip() for k, v in row.items() if k}
            for row in csv.DictReader(io.StringIO(text))]
    if len(rows) > MAX_CHOICES_FROM_FILE:
        return [], [Message(N_("%(name)s has more than %(max)s rows."), {"name": filename, "max": MAX_CHOICES_FROM_FILE})]
    return rows, []


def choices_from_csv(data: bytes, filename: str) -> tuple[list[dict], list[Message]]:
    """Rows of a select_*_from_file CSV: a name column, a label column (or
    label::Language (code) columns), and any others (for choice_filter)."""
    reader = csv.DictReader(io.StringIO(_decoded(data)))
    fields = [f.strip() for f in reader.fieldnames or []]
    if "name" not in fields or not any(f == "label" or f.startswith("label::") for f in fields):
        return [], [Message(N_("%(name)s needs a name column and a label column."), {"name": filename})]
    rows, seen = [], set()
    for number, row in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k}
        if not row.get("name"):
            continue
        if row["name"] in seen:
            return [], [Message(N_("%(name)s has the choice %(choice)s twice (row %(row)s)."),
                                {"name": filename, "choice": row["name"], "row": number})]
        seen.add(row["name"])
        rows.append(row)
        if len(rows) > MAX_CHOICES_FROM_FILE:
            return [], [Message(N_("%(name)s has more than %(max)s choices."),
                                {"name": filename, "max": MAX_CHOICES_FROM_FILE})]
    if not rows:
        return [], [Message(N_("%(name)s has no choices."), {"name": filename})]
    return rows, []


def choices_from_file(data: bytes, filename: str) -> tuple[list[dict], list[Message]]:
    """A select_*_from_file list from a .csv, .xml or .geojson file, as rows of columns."""
    suffix = PurePath(filename).suffix.lower()
    if suffix == ".xml":
        return _choices_from_xml(data, filename)
    if suffix == ".geojson":
        return _choices_from_geojson(data, filename)
    return choices_from_csv(data, filename)


def _checked(rows: list[dict], filename: str) -> tuple[list[dict], list[Message]]:
    seen = set()
    for row in rows:
        if row["name"] in seen:
            return [], [Message(N_("%(name)s has the choice %(choice)s twice."), {"name": filename, "choice": row["name"]})]
        seen.add(row["name"])
    if not rows:
        return [], [Message(N_("%(name)s has no choices."), {"name": filename})]
    if len(rows) > MAX_CHOICES_FROM_FILE:
        return [], [Message(N_("%(name)s has more than %(max)s choices."), {"name": filename, "max": MAX_CHOICES_FROM_FILE})]
    return rows, []


def _xml_root(data: bytes, filename: str):
    """An attached XML file's root element, or the Message why it is refused: parsed with
    the standard library's expat, which expands no external entities; a file that
    declares entities is refused outright."""
    import xml.etree.ElementTree as ET
    if b"<!DOCTYPE" in data[:2048] or b"<!ENTITY" in data:
        return Message(N_("%(name)s cannot be read: a list may not declare entities."), {"name": filename})
    try:
        return ET.fromstring(data)
    except ET.ParseError:
        return Message(N_("%(name)s is not a readable XML list."), {"name": filename})


def _choices_from_xml(data: bytes, filename: str) -> tuple[list[dict], list[Message]]:
    """ODK's XML list: <root><item><name>a</name><label>A</label>...</item>...</root>."""
    root = _xml_root(data, filename)
    if isinstance(root, Message):
        return [], [root]
    rows = []
    for item in root.iter("item"):
        row = {child.tag: (child.text or "").strip() for child in item}
        if row.get("name"):
            rows.append(row)
    if rows and not any(k == "label" or k.startswith("label") for k in rows[0]):
        return [], [Message(N_("%(name)s needs a name column and a label column."), {"name": filename})]
    return _checked(rows, filename)


def rows_from_xml(data: bytes, filename: str) -> tuple[list[dict], list[Message]]:
    """An XML file for instance('id') (xml-external: another form's answers, as
    KoboToolbox's dynamic data attachment gives them): each child of the root a row,
    its elements by their path inside it (P_Demographic/P_Name), the first of each."""
    root = _xml_root(data, filename)
    if isinstance(root, Message):
        return [], [root]

    def leaves(element, prefix: str, row: dict) -> dict:
        for child in element:
            path = f"{prefix}{_local(child.tag)}"
            if len(child):
                leaves(child, path + "/", row)
            else:
                row.setdefault(path, (child.text or "").strip())
        return row

    rows = [leaves(item, "", {}) for item in root]
    if len(rows) > MAX_CHOICES_FROM_FILE:
        return [], [Message(N_("%(name)s has more than %(max)s rows."), {"name": filename, "max": MAX_CHOICES_FROM_FILE})]
    return rows, []


def _local(tag: str) -> str:
    """An element's name without its namespace ({http://...}data -> data)."""
    return tag.rpartition("}")[2]


def _choices_from_geojson(data: bytes, filename: str) -> tuple[list[dict], list[Message]]:
    """ODK's GeoJSON list: each feature a choice, named by its id and labelled by its
    title; its point kept as the column geometry ("lat lon 0 0"), its properties as columns."""
    import json
    try:
        features = json.loads(data.decode("utf-8-sig")).get("features")
        if not isinstance(features, list):
            raise ValueError
    except (ValueError, AttributeError, UnicodeDecodeError):
        return [], [Message(N_("%(name)s is not a GeoJSON FeatureCollection."), {"name": filename})]
    rows = []
    for feature in features:
        if not isinstance(feature, dict):
            continue
        props = {str(k): str(v) for k, v in (feature.get("properties") or {}).items()
                 if isinstance(v, (str, int, float)) and not isinstance(v, bool)}
        name = str(feature.get("id") if feature.get("id") is not None else props.get("id", "")).strip()
        if not name:
            continue
        geometry = feature.get("geometry") or {}
        point = geometry.get("coordinates") if geometry.get("type") == "Point" else None
        row = dict(props, name=name, label=props.get("title", name))
        if isinstance(point, list) and len(point) >= 2:
            row["geometry"] = f"{point[1]} {point[0]} 0 0"
        rows.append(row)
    return _checked(rows, filename)


# ---------------------------------------------------------------- files participants attach

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
# Question type -> what its files may be: (content type, extension, test of the first bytes)
UPLOADS = {
    "image": [("image/jpeg", ".jpg", lambda b: b.startswith(b"\xff\xd8\xff")),
              ("image/png", ".png", lambda b: b.startswith(b"\x89PNG\r\n\x1a\n")),
              ("image/gif", ".gif", lambda b: b[:6] in (b"GIF87a", b"GIF89a")),
              ("image/webp", ".webp", lambda b: b[:4] == b"RIFF" and b[8:12] == b"WEBP")],
    "audio": [("audio/mpeg", ".mp3", lambda b: b.startswith((b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"))),
              ("audio/mp4", ".m4a", lambda b: b[4:8] == b"ftyp"),
              ("audio/ogg", ".ogg", lambda b: b.startswith(b"OggS")),
              ("audio/wav", ".wav", lambda b: b[:4] == b"RIFF" and b[8:12] == b"WAVE"),
              ("audio/amr", ".amr", lambda b: b.startswith(b"#!AMR")),
              ("audio/webm", ".webm", lambda b: b.startswith(b"\x1a\x45\xdf\xa3"))],
    "video": [("video/mp4", ".mp4", lambda b: b[4:8] == b"ftyp"),
              ("video/webm", ".webm", lambda b: b.startswith(b"\x1a\x45\xdf\xa3"))],
}
UPLOAD_MESSAGES = {
    "image": N_("Please choose a photo (JPEG, PNG, GIF or WebP)."),
    "audio": N_("Please choose a sound recording (MP3, M4A, OGG, WAV, AMR or WebM)."),
    "video": N_("Please choose a video (MP4, 3GP, MOV or WebM)."),
}
ACCEPT = {"image": "image/*", "audio": "audio/*", "video": "video/*", "file": ""}


def check_upload(qtype: str, filename: str, data: bytes) -> tuple[str, str] | Message:
    """(content type, extension) of a file a participant attached, judged by its
    bytes rather than its name; or why it cannot be kept."""
    if len(data) > MAX_UPLOAD_BYTES:
        return Message(N_("This file is too large: the limit is %(mb)s MB."),
                       {"mb": MAX_UPLOAD_BYTES // (1024 * 1024)})
    if qtype == "file":
        suffix = PurePath(filename).suffix.lower()
        ext = suffix if 1 < len(suffix) <= 6 and suffix[1:].isascii() and suffix[1:].isalnum() else ".bin"
        return "application/octet-stream", ext
    for content_type, ext, test in UPLOADS[qtype]:
        if test(data[:16]):
            return content_type, ext
    return Message(UPLOAD_MESSAGES[qtype])
