"""Exports: one streaming writer per format, used by the CLI and the web alike.

FORMATS is the registry both read: `fieldkit export --format NAME` and the
console's Export button run the same `write(db, form_id, **filters)`, where the
filters are those of store.submissions (event_id, language, since, until).
"""
from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .. import crypto
from ..forms.model import Choice, Form, Question
from ..messages import N_
from ..forms import instance as xml_instance
from ..store import attachments as attachment_store, audit as audit_store, forms as form_store, submissions
from . import export_xlsx as xlsx

META_COLUMNS = ("uuid", "form_version", "language", "started_at", "submitted_at", "event", "device")
# What the metadata columns mean, for the codebook.
META_MEANINGS = {
    "uuid": "the submission's id, made when the participant began", "form_version": "the form version answered",
    "language": "the language it was answered in", "started_at": "when it was begun (UTC)",
    "submitted_at": "when it was submitted (UTC)", "event": "the gathering's short code (empty: none)",
    "device": "the laptop it was collected on (on a central: the laptop's name)",
}


def meta(sub: dict, column: str):
    """A submission's metadata column: event is its gathering's code, device the laptop
    (a central knows each by the name it was registered under)."""
    if column == "event":
        return sub.get("event_code")
    if column == "device":
        return sub.get("device_name") or sub.get("device_id")
    return sub[column]
TIMESTAMPS = ("started_at", "submitted_at")
CALCULATED_NUMBER = re.compile(r"-?(?:0|[1-9]\d{0,14})(?:\.\d{1,15})?")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMERIC = ("integer", "decimal")
EXPRESSIONS = ("required", "relevant", "constraint", "calculation")


class Sealed(Exception):
    """The answers are encrypted, and no private key (or not the right ones) was given.
    missing: kid -> how many answers need that key (None: answers that name no key and
    that none of the keys given opens)."""

    def __init__(self, form_id: str, missing: dict | None = None):
        super().__init__(form_id)
        self.form_id, self.missing = form_id, missing or {}


def check_key(db, form_id: str, private_key=None) -> None:
    """Before a single byte is written: does every encrypted answer have its key among
    those given (one key, or a crypto.Keyring)? Raises Sealed saying how many answers
    need which key."""
    counts = submissions.sealed_keys(db, form_id)
    if not counts:
        return
    keyring = private_key if isinstance(private_key, crypto.Keyring) else crypto.Keyring(
        [private_key] if private_key is not None else [])
    missing = {kid: n for kid, n in counts.items() if kid is not None and kid not in keyring.keys}
    if None in counts:  # older answers name no key: each must open with one of those given
        unopened = sum(1 for answers in submissions.sealed_without_kid(db, form_id) if not keyring.opens(answers))
        if unopened:
            missing[None] = unopened
    if missing or not keyring:
        raise Sealed(form_id, missing or dict(counts))


def begin(db, form_id: str, name: str, actor: str | None, via: str, private_key=None, **filters) -> "ExportFormat":
    """The one way an export starts, from the console or the command line: the format,
    every encrypted answer's key among those given (else Sealed, before a byte is
    written), and the activity log's entry (a decryption as such). Then stream
    FORMATS[name].write(db, form_id, private_key=..., **filters)."""
    fmt = FORMATS[name]
    if fmt.filtered:
        check_key(db, form_id, private_key)
    audit_store.record(db, actor, "decrypt" if private_key else "export", form_id=form_id, format=name,
                       **({"via": via} if via else {}), **filters)
    return fmt


def attachment_download(db, uuid: str, name: str, actor: str | None) -> dict | None:
    """A file a participant attached, for a coordinator to download, the download in the
    activity log; None for one that is not there or is sealed for a private key."""
    found = attachment_store.get(db, uuid, name)
    if found is None or found["sealed"]:
        return None
    audit_store.record(db, actor, "attachment.downloaded", uuid=uuid, name=name)
    return found


def readable(db, form_id: str, private_key=None, **filters) -> Iterator[dict]:
    """Submissions with their answers open: sealed ones opened with the private
    key given for this export alone (it is never stored)."""
    for sub in submissions.iter_submissions(db, form_id, **filters):
        if crypto.is_sealed(sub["answers"]):
            if private_key is None:
                raise Sealed(form_id)
            sub = dict(sub, answers=opened(db, sub, crypto.unseal(private_key, sub["answers"])))
        yield sub


def opened(db, sub: dict, answers: dict) -> dict:
    """Unsealed answers as fieldkit's: what ODK Collect encrypted itself opens to instance XML,
    read with the form version it answers (forms/instance.py), as a plain Collect submission is."""
    if crypto.ODK_XML not in answers:
        return answers
    form = form_store.form_version(db, sub["form_id"], sub["form_version"])
    try:
        return xml_instance.to_answers(form, xml_instance.parse(answers[crypto.ODK_XML].encode("utf-8"))).answers
    except xml_instance.InstanceError:
        raise crypto.CryptoKeyError("the encrypted instance does not read as this form's") from None


def columns(db, form_id: str) -> list[Question]:
    """The main table's columns: questions outside repeats, the newest version's first,
    then any that only older versions had; and for each repeat, how many instances
    it has (the instances themselves are in the repeat's own table)."""
    seen: dict[str, Question] = {}
    for form in form_store.all_versions(db, form_id):
        for name, q in form.questions.items():
            if q.type != "note" and name not in seen and q.repeat is None:
                seen[name] = q
        for name, r in form.repeats.items():
            if r.parent is None:
                seen.setdefault(name, Question(name=name, type="repeat", label=r.label))
    return list(seen.values())


@dataclass
class RepeatTable:
    """A repeat's table: one row per instance, as KoboToolbox and ODK Central export them.
    chain: the repeats it is in, outermost first, then itself. questions: its own, and
    for each repeat inside it a column counting that row's instances."""

    chain: list[str]
    questions: list[Question]

    @property
    def keys(self) -> tuple[str, ...]:
        return REPEAT_KEYS if len(self.chain) == 1 else NESTED_KEYS


def repeat_tables(db, form_id: str) -> dict[str, RepeatTable]:
    """Each repeat (of any version) and the questions inside it."""
    tables: dict[str, RepeatTable] = {}
    for form in form_store.all_versions(db, form_id):
        for name in form.repeats:
            tables.setdefault(name, RepeatTable(form.chain(name), []))
        for name, q in form.questions.items():
            if q.repeat is not None and q.type != "note" and all(c.name != name for c in tables[q.repeat].questions):
                tables[q.repeat].questions.append(q)
        for name, r in form.repeats.items():
            inside = tables[r.parent].questions if r.parent else []
            if r.parent and all(c.name != name for c in inside):
                inside.append(Question(name=name, type="repeat", label=r.label, repeat=r.parent))
    return tables


REPEAT_KEYS = ("_submission_uuid", "_index")  # the instance's submission, and its place (1, 2, ...)
# A repeat inside a repeat: also the place of the instance it is in (its _index there; three
# deep, the places down to it, as "2.1").
NESTED_KEYS = ("_submission_uuid", "_parent_index", "_index")


def raw(answers: dict, q: Question) -> str:
    """An answer as stored text; a repeat's column is its number of instances."""
    value = answers.get(q.name, "")
    if q.type == "repeat":
        return str(len(value)) if isinstance(value, list) else ""
    return value if isinstance(value, str) else ""


def _rows(answers, repeat: str) -> list[dict]:
    rows = answers.get(repeat) if isinstance(answers, dict) else None
    return [r if isinstance(r, dict) else {} for r in rows] if isinstance(rows, list) else []


def instances(db, form_id: str, table: RepeatTable, **filters) -> Iterator[tuple[dict, list, dict]]:
    """(submission, the keys after its uuid, instance answers) for every instance of a repeat."""
    for sub in readable(db, form_id, **filters):
        found = [((), sub["answers"])]
        for repeat in table.chain:
            found = [(numbers + (i,), row) for numbers, holder in found
                     for i, row in enumerate(_rows(holder, repeat), 1)]
        for numbers, row in found:
            keys = [numbers[-1]] if len(numbers) == 1 else [
                numbers[0] if len(numbers) == 2 else ".".join(map(str, numbers[:-1])), numbers[-1]]
            yield sub, keys, row


def safe_cell(value: str, q: Question | None = None) -> str:
    """Neutralise spreadsheet formulas (=, +, -, @): a participant's text must
    never run as a formula on the analyst's machine. Numbers stay numbers."""
    if not value or not value.startswith(FORMULA_START):
        return value
    if q is not None and q.type in NUMERIC + ("calculate",):  # a calculation's number is a number too
        try:
            float(value)
            return value
        except ValueError:
            pass
    return "'" + value


# ------------------------------------------------------------------ CSV

def csv_rows(db, form_id: str, **filters) -> Iterator[list[str]]:
    questions = columns(db, form_id)
    yield list(META_COLUMNS) + [q.name for q in questions]
    for sub in readable(db, form_id, **filters):
        yield [safe_cell(str(meta(sub, c) or "")) for c in META_COLUMNS] + [
            safe_cell(raw(sub["answers"], q), q) for q in questions]


def repeat_csv_rows(db, form_id: str, table: RepeatTable, **filters) -> Iterator[list[str]]:
    yield list(table.keys) + [q.name for q in table.questions]
    for sub, keys, row in instances(db, form_id, table, **filters):
        yield [sub["uuid"], *map(str, keys)] + [safe_cell(raw(row, q), q) for q in table.questions]


def _csv_text(rows: Iterator[list[str]]) -> Iterator[str]:
    """UTF-8 with a byte-order mark, so Excel shows Amharic and Spanish correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    yield "\ufeff"
    for row in rows:
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def export_csv(db, form_id: str, **filters) -> Iterator[str]:
    """The main table (a repeat's column counts its instances: the ZIP has their tables)."""
    return _csv_text(csv_rows(db, form_id, **filters))


class _Pipe(io.RawIOBase):
    """Where zipfile writes: the bytes wait here until the generator hands them on."""

    def __init__(self):
        super().__init__()
        self.chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        out = b"".join(self.chunks)
        self.chunks.clear()
        return out


def export_zip(db, form_id: str, **filters) -> Iterator[bytes]:
    """<form_id>.csv, and <form_id>-<repeat>.csv for each repeat, linked by the
    submission's uuid (ODK Central's layout), in a ZIP written as it is read."""
    tables = [(f"{form_id}.csv", csv_rows(db, form_id, **filters))]
    tables += [(f"{form_id}-{name}.csv", repeat_csv_rows(db, form_id, table, **filters))
               for name, table in repeat_tables(db, form_id).items()]
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for filename, rows in tables:
            with archive.open(filename, "w", force_zip64=True) as member:
                for text in _csv_text(rows):
                    member.write(text.encode("utf-8"))
                    if sum(map(len, pipe.chunks)) > 64 * 1024:
                        yield pipe.take()
            yield pipe.take()
        for name, data in attached(db, form_id, **filters):
            with archive.open(f"media/{name}", "w", force_zip64=True) as member:
                member.write(data)
            yield pipe.take()
    yield pipe.take()


def attached(db, form_id: str, private_key=None, **filters) -> Iterator[tuple[str, bytes]]:
    """The files attached to the exported submissions: (stored name, bytes); an
    encrypted form's opened with the private key given for this export."""
    for sub in submissions.iter_submissions(db, form_id, **filters):
        for f in attachment_store.of_submission(db, sub["uuid"], with_data=True):
            data = f["data"]
            if f["sealed"]:
                if private_key is None:
                    raise Sealed(form_id)
                data = crypto.unseal_bytes(private_key, data)
            yield f["name"], data
        yield from _odk_files(db, sub, private_key)


def _odk_files(db, sub: dict, private_key) -> Iterator[tuple[str, bytes]]:
    """What ODK Collect encrypted itself, opened, under the names its opened answers give them."""
    files = attachment_store.odk_encrypted(db, sub["uuid"])
    if not files:
        return
    if private_key is None:
        raise Sealed(sub["form_id"])
    envelope = sub["answers"][crypto.MARK]
    xml = crypto.unseal(private_key, sub["answers"])[crypto.ODK_XML]
    form = form_store.form_version(db, sub["form_id"], sub["form_version"])
    named = xml_instance.to_answers(form, xml_instance.parse(xml.encode("utf-8"))).files  # sent name -> stored
    for f in files:
        sent = f["question"][:-4] if f["question"].endswith(".enc") else f["question"]
        yield named.get(sent, f["name"]), crypto.odk_open_file(private_key, envelope, f["question"], bytes(f["data"]))


# ------------------------------------------------------------------ JSON

def typed_value(q: Question, value):
    if isinstance(value, list) or q.type == "repeat":
        return len(value) if isinstance(value, list) else None
    if value == "":
        return None
    if q.type in ("select_multiple", "rank"):  # rank: first place first
        return value.split()
    if q.type in NUMERIC:
        try:
            number = float(value)
        except ValueError:  # answered when an older version had this question as text
            return value
        return int(number) if q.type == "integer" and number.is_integer() else number
    if q.type == "calculate" and CALCULATED_NUMBER.fullmatch(value):
        # a calculation whose value is a number is a number (not "007": that is text it made)
        number = float(value)
        return int(number) if number.is_integer() and "." not in value else number
    return value


def export_json(db, form_id: str, **filters) -> Iterator[str]:
    """A JSON array, one object per submission, written as it is read."""
    questions = columns(db, form_id)
    repeats = repeat_tables(db, form_id)

    def typed(row: dict, asked: list[Question]) -> dict:
        """Answers typed; a repeat a list of its instances, as ODK Central's JSON has them."""
        return {q.name: [typed(inner, repeats[q.name].questions) for inner in _rows(row, q.name)]
                if q.type == "repeat" else typed_value(q, raw(row, q)) for q in asked}

    yield "["
    for i, sub in enumerate(readable(db, form_id, **filters)):
        record = {c: meta(sub, c) for c in META_COLUMNS}
        record["answers"] = typed(sub["answers"], questions)
        yield ("," if i else "") + "\n" + json.dumps(record, ensure_ascii=False)
    yield "\n]\n"


# ------------------------------------------------------------------ XLSX

def text_cell(value: str, q: Question | None = None) -> str:
    """Text for an XLSX cell, as the participant typed it: the cell is written with the
    string type (export_xlsx._cell), which a spreadsheet never runs as a formula, so the
    CSV's leading-apostrophe guard is not needed here."""
    return xlsx.printable(value)


def xlsx_value(q: Question, value: str):
    """Numbers as numbers, dates as dates, everything else as neutralised text."""
    if value == "":
        return None
    if q.type in NUMERIC + ("repeat", "calculate"):
        typed = typed_value(q, value)
        if not isinstance(typed, str):
            return typed
    elif q.type == "date":
        day = xlsx.parse_date(value)
        if day is not None:
            return day
    return text_cell(value, q)


def answer_rows(db, form_id: str, **filters) -> Iterator[list]:
    """The CSV's columns, typed for a spreadsheet."""
    questions = columns(db, form_id)
    yield list(META_COLUMNS) + [q.name for q in questions]
    for sub in readable(db, form_id, **filters):
        yield [(xlsx.parse_timestamp(meta(sub, c) or "") if c in TIMESTAMPS else None)
               or text_cell(str(meta(sub, c) or "")) for c in META_COLUMNS] + [
            xlsx_value(q, raw(sub["answers"], q)) for q in questions]


def repeat_answer_rows(db, form_id: str, table: RepeatTable, **filters) -> Iterator[list]:
    yield list(table.keys) + [q.name for q in table.questions]
    for sub, keys, row in instances(db, form_id, table, **filters):
        yield [sub["uuid"], *keys] + [xlsx_value(q, raw(row, q)) for q in table.questions]


def sheet_title(name: str, taken: set[str]) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\, unique."""
    title = "".join("_" if ch in "[]:*?/\\" else ch for ch in name)[:31]
    while title.lower() in taken:
        title = title[:29] + "_" + str(len(taken))
    taken.add(title.lower())
    return title


def export_xlsx(db, form_id: str, **filters) -> Iterator[bytes]:
    """Sheet "answers" (the CSV's columns, typed), a sheet per repeat (one row per
    instance, linked by _submission_uuid), sheet "codebook" (the questions)."""
    sheets = {"answers": answer_rows(db, form_id, **filters)}
    taken = {"answers", "codebook"}
    for name, table in repeat_tables(db, form_id).items():
        sheets[sheet_title(name, taken)] = repeat_answer_rows(db, form_id, table, **filters)
    sheets["codebook"] = codebook_questions(db, form_id)
    return xlsx.stream_workbook(sheets)


# ------------------------------------------------------------------ codebook

def _languages(versions: list[Form]) -> list[str]:
    """Every language of every version, the newest version's order first."""
    return list(dict.fromkeys(lang for form in versions for lang in form.languages))


def _choices(versions: list[Form]) -> dict[str, list[Choice]]:
    """Every choice list of every version; a choice only an older version had comes last."""
    lists: dict[str, dict[str, Choice]] = {}
    for form in versions:
        for list_name, choices in form.choices.items():
            for choice in choices:
                lists.setdefault(list_name, {}).setdefault(choice.name, choice)
    return {name: list(choices.values()) for name, choices in lists.items()}


def codebook_questions(db, form_id: str) -> Iterator[list[str]]:
    """One row per answer column: type, expressions, label and hint in every language,
    and (for the answers workbook, which has no choices sheet) its choices."""
    versions = form_store.all_versions(db, form_id)
    languages = _languages(versions)
    choices = _choices(versions)
    default = versions[0].default_language if versions else ""
    yield (["name", "type", "list_name", "choices", *EXPRESSIONS]
           + [f"label::{lang}" for lang in languages] + [f"hint::{lang}" for lang in languages] + ["repeat"])
    inside = [q for table in repeat_tables(db, form_id).values() for q in table.questions]
    width = 4 + len(EXPRESSIONS) + 2 * len(languages) + 1
    for column in META_COLUMNS:  # the columns every export begins with
        row = [column, "metadata", "", ""] + [""] * len(EXPRESSIONS) + [META_MEANINGS[column]] * len(languages)
        yield [text_cell(value) for value in (row + [""] * width)[:width]]
    for q in columns(db, form_id) + inside:
        listed = "\n".join(f"{c.name}: {c.label.get(default) or next(iter(c.label.values()), '')}"
                           for c in choices.get(q.list_name or "", []))
        row = [q.name, q.type, q.list_name or "", listed, *(q.source.get(k, "") for k in EXPRESSIONS)]
        row += [q.label.get(lang, "") for lang in languages] + [q.hint.get(lang, "") for lang in languages]
        row.append(q.repeat or "")
        yield [text_cell(value) for value in row]


def codebook_choices(db, form_id: str) -> Iterator[list[str]]:
    versions = form_store.all_versions(db, form_id)
    languages = _languages(versions)
    yield ["list_name", "name"] + [f"label::{lang}" for lang in languages]
    for list_name, choices in _choices(versions).items():
        for c in choices:
            yield [text_cell(v) for v in [list_name, c.name, *(c.label.get(lang, "") for lang in languages)]]


def export_codebook(db, form_id: str, **filters) -> Iterator[bytes]:
    """What each column means: sheets "questions" and "choices". Filters do not apply."""
    return xlsx.stream_workbook({"questions": codebook_questions(db, form_id),
                                 "choices": codebook_choices(db, form_id)})


# ------------------------------------------------------------------ the registry

@dataclass(frozen=True)
class ExportFormat:
    label: str  # English, marked with N_(); shown through gettext()
    extension: str  # of the file name: "<form_id>-<date>.<extension>"
    mimetype: str
    write: Callable[..., Iterator[str | bytes]]  # write(db, form_id, **filters)
    binary: bool  # write() yields bytes, else str (UTF-8 when written out)
    filtered: bool = True  # whether the filters narrow what is written


FORMATS: dict[str, ExportFormat] = {
    "csv": ExportFormat(N_("CSV (Excel)"), "csv", "text/csv", export_csv, binary=False),
    "xlsx": ExportFormat(N_("Excel workbook (XLSX)"), "xlsx", xlsx.MIMETYPE, export_xlsx, binary=True),
    "json": ExportFormat(N_("JSON"), "json", "application/json", export_json, binary=False),
    "zip": ExportFormat(N_("CSV tables in a ZIP: the answers, one table per repeat, and the attached files"), "zip",
                        "application/zip", export_zip, binary=True),
    "codebook": ExportFormat(N_("Codebook: questions and choices (XLSX)"), "codebook.xlsx", xlsx.MIMETYPE,
                             export_codebook, binary=True, filtered=False),
    "sav": ExportFormat(N_("SPSS (.sav), with variable and value labels"), "sav", "application/x-spss-sav",
                        lambda db, form_id, **f: _stats().export_sav(db, form_id, **f), binary=True),
    "dta": ExportFormat(N_("Stata (.dta), with variable and value labels"), "dta", "application/x-stata-dta",
                        lambda db, form_id, **f: _stats().export_dta(db, form_id, **f), binary=True),
}


def _stats():
    """services/export_stats.py, imported when an SPSS or Stata file is asked for: pandas
    takes about a second to import, which no other command should pay."""
    from . import export_stats
    return export_stats
