"""SPSS (.sav) and Stata (.dta) files an analyst opens as they are: the main table
(the CSV's columns), typed, with a variable label per question and value labels from
the choices, written by pyreadstat (ReadStat; pandas holds the table it writes).

- Numbers are numbers; an empty answer is missing (system-missing in SPSS, . in Stata).
- select_one is a numeric code with the choices as value labels: a list whose names
  are all whole numbers (Kobo's 1 = yes, 0 = no) keeps them as the codes, any other
  list is coded 1, 2, ... in its order (the codebook export lists the names).
- select_multiple keeps its names as text, and has a 0/1 variable per choice.
- Dates are dates; started_at and submitted_at date-times (UTC).
- Variable names are the question names made legal (letters, digits, _; at most 32
  characters, Stata's limit; unique); labels are in the form's default language.
- Repeats: the main table counts their instances; their answers are in the ZIP and
  XLSX exports.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from collections.abc import Iterator

from ..forms.model import Question, text_in
from ..store import forms as form_store
from .export import META_COLUMNS, NUMERIC, TIMESTAMPS, _choices, columns, meta, raw, readable

NAME_LIMIT = 32  # Stata's; SPSS takes 64
LABEL_LIMIT = 80  # Stata's variable labels; SPSS takes 256
# Words neither may name a variable: Stata's reserved names and SPSS's reserved keywords.
RESERVED = {"_all", "_b", "byte", "_coef", "_cons", "double", "float", "if", "in", "int", "long", "_n", "_pi",
            "_pred", "_rc", "_skip", "strl", "using", "with", "all", "and", "by", "eq", "ge", "gt", "le", "lt",
            "ne", "not", "or", "to"}
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def legal_names(names: list[str]) -> dict[str, str]:
    """name -> a variable name SPSS and Stata both take, unique among them."""
    taken: set[str] = set()
    found = {}
    for name in names:
        base = re.sub(r"[^A-Za-z0-9_]", "_", name)
        if not re.match(r"[A-Za-z]", base):
            base = "v" + base
        base = base[:NAME_LIMIT]
        if base.lower() in RESERVED or re.fullmatch(r"str\d+", base.lower()):
            base += "_"
        legal, n = base, 1
        while legal.lower() in taken:
            n += 1
            legal = f"{base[:NAME_LIMIT - len(str(n)) - 1]}_{n}"
        taken.add(legal.lower())
        found[name] = legal
    return found


def _number(value: str) -> float | None:
    return float(value) if value and NUMBER.fullmatch(value) else None


def _date(value: str):
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _timestamp(value: str | None):
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.timezone.utc).replace(tzinfo=None)
    except ValueError:
        return None


def _short(text: str, limit: int = LABEL_LIMIT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def table(db, form_id: str, **filters):
    """(pandas DataFrame, variable labels, value labels), ready for pyreadstat."""
    import pandas as pd

    versions = form_store.all_versions(db, form_id)
    language = versions[0].default_language if versions else "en"
    lists = _choices(versions)
    questions = columns(db, form_id)
    subs = list(readable(db, form_id, **filters))
    data: dict[str, list] = {}
    labels: dict[str, str] = {}
    value_labels: dict[str, dict] = {}

    def label_of(q: Question) -> str:
        return _short(text_in(q.label, language, language) or q.name)

    for column in META_COLUMNS:
        values = [meta(sub, column) for sub in subs]
        data[column] = [_timestamp(v) for v in values] if column in TIMESTAMPS else [v or "" for v in values]
        labels[column] = column.replace("_", " ")
    for q in questions:
        values = [raw(sub["answers"], q) for sub in subs]
        labels[q.name] = label_of(q)
        choices = lists.get(q.list_name or "", [])
        if q.type in NUMERIC + ("range", "repeat") or (q.type == "calculate" and all(
                v == "" or _number(v) is not None for v in values) and any(values)):
            data[q.name] = [_number(v) for v in values]
        elif q.type == "select_one" and choices:
            names = [c.name for c in choices]
            whole = all(re.fullmatch(r"-?\d{1,9}", n) for n in names)
            codes = {n: (int(n) if whole else i) for i, n in enumerate(names, 1)}
            for v in values:  # an answer only an older list had gets a code of its own
                if v and v not in codes:
                    codes[v] = max(codes.values(), default=0) + 1
            data[q.name] = [float(codes[v]) if v else None for v in values]
            by_name = {c.name: c for c in choices}
            value_labels[q.name] = {float(code): _short(text_in(by_name[n].label, language, language) or n, 120)
                                    if n in by_name else n for n, code in codes.items()}
        elif q.type == "select_multiple" and choices:
            data[q.name] = values
            for c in choices:
                dummy = f"{q.name}/{c.name}"
                data[dummy] = [None if not v else float(c.name in v.split()) for v in values]
                labels[dummy] = _short(f"{label_of(q)}: {text_in(c.label, language, language) or c.name}")
        elif q.type == "date":
            data[q.name] = [_date(v) for v in values]
        else:
            data[q.name] = values
    names = legal_names(list(data))
    frame = pd.DataFrame({names[k]: v for k, v in data.items()})
    for column in frame.columns:  # dates and date-times as such; text as text, numbers as float
        if frame[column].dtype == object and any(isinstance(v, (dt.date, dt.datetime)) for v in frame[column]):
            frame[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")  # the unit ReadStat expects
        elif frame[column].dtype == object:
            frame[column] = frame[column].astype(str) if len(frame) else frame[column].astype("string")
    return (frame, {names[k]: v for k, v in labels.items()}, {names[k]: v for k, v in value_labels.items()})


def _written(write, suffix: str, db, form_id: str, **filters) -> Iterator[bytes]:
    frame, labels, value_labels = table(db, form_id, **filters)
    handle, path = tempfile.mkstemp(suffix=suffix)
    os.close(handle)
    try:
        write(frame, path, labels, value_labels)
        with open(path, "rb") as file:
            while chunk := file.read(64 * 1024):
                yield chunk
    finally:
        os.unlink(path)


def export_sav(db, form_id: str, **filters) -> Iterator[bytes]:
    import pyreadstat

    def write(frame, path, labels, value_labels):
        # a plain .sav (not zsav): what every SPSS and PSPP opens
        pyreadstat.write_sav(frame, path, column_labels=labels, variable_value_labels=value_labels)
    return _written(write, ".sav", db, form_id, **filters)


def export_dta(db, form_id: str, **filters) -> Iterator[bytes]:
    import pyreadstat

    def write(frame, path, labels, value_labels):
        pyreadstat.write_dta(frame, path, column_labels=labels, variable_value_labels=value_labels, version=15)
    return _written(write, ".dta", db, form_id, **filters)
