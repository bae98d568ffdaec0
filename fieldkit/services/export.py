"""Exports: one streaming generator per format, used by the CLI and the web alike."""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

from ..forms.model import Form, Question
from ..store import forms as form_store, submissions

META_COLUMNS = ("uuid", "form_version", "language", "started_at", "submitted_at")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMERIC = ("integer", "decimal")


def columns(db, form_id: str) -> list[Question]:
    """Questions of the newest version first, then any that only older versions had."""
    seen: dict[str, Question] = {}
    for form in form_store.all_versions(db, form_id):
        for name, q in form.questions.items():
            if q.type != "note" and name not in seen:
                seen[name] = q
    return list(seen.values())


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


def csv_rows(db, form_id: str) -> Iterator[list[str]]:
    questions = columns(db, form_id)
    yield list(META_COLUMNS) + [q.name for q in questions]
    for sub in submissions.iter_submissions(db, form_id):
        meta = [safe_cell(str(sub[c] or "")) for c in META_COLUMNS]
        yield meta + [safe_cell(str(sub["answers"].get(q.name, "")), q) for q in questions]


def export_csv(db, form_id: str) -> Iterator[str]:
    """UTF-8 with a byte-order mark, so Excel shows Amharic and Spanish correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    yield "\ufeff"
    for row in csv_rows(db, form_id):
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def typed_value(q: Question, value: str):
    if value == "":
        return None
    if q.type == "select_multiple":
        return value.split()
    if q.type in NUMERIC:
        try:
            number = float(value)
        except ValueError:  # answered when an older version had this question as text
            return value
        return int(number) if q.type == "integer" and number.is_integer() else number
    return value


def export_json(db, form_id: str) -> Iterator[str]:
    """A JSON array, one object per submission, written as it is read."""
    questions = columns(db, form_id)
    yield "["
    for i, sub in enumerate(submissions.iter_submissions(db, form_id)):
        record = {c: sub[c] for c in META_COLUMNS}
        record["answers"] = {q.name: typed_value(q, sub["answers"].get(q.name, "")) for q in questions}
        yield ("," if i else "") + "\n" + json.dumps(record, ensure_ascii=False)
    yield "\n]\n"


FORMATS = {"csv": export_csv, "json": export_json}
