"""Exports: CSV that Excel opens safely and correctly, JSON with real types, and
the `fieldkit export` command."""
from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from conftest import submissions_of
from fieldkit.cli import main
from fieldkit.forms.model import Question
from fieldkit.services import forms as form_service
from fieldkit.services.export import META_COLUMNS, export_csv, export_json, safe_cell
from fieldkit.store.submissions import add_submission

HOUSEHOLD_COLUMNS = ["consent", "people", "children", "income", "rent_share", "other_income", "visit_date",
                     "adults"]


def add(db, uuid: str, answers: dict, form_id="household", version="1", language="en", minute=0):
    record = {"uuid": uuid, "form_id": form_id, "form_version": version, "language": language,
              "answers": answers, "started_at": f"2024-05-01T10:{minute:02d}:00Z",
              "submitted_at": f"2024-05-01T10:{minute:02d}:30Z", "device_id": "laptop-1"}
    assert add_submission(db, record) == "created"


def csv_bytes(db, form_id="household") -> bytes:
    return "".join(export_csv(db, form_id)).encode("utf-8")


def csv_table(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def json_records(db, form_id="household") -> list[dict]:
    return json.loads("".join(export_json(db, form_id)))


def walk_household_in_amharic(participant):
    p = participant("household")
    p.start("am")
    p.answer({"consent": "yes"})
    p.answer({"people": "4", "children": "1"})
    p.answer({"income": ["other", "work"], "rent_share": "0,25", "other_income": "የገበያ ሱቅ =SUM(A1)"})
    p.answer({"visit_date": "2024-03-01"})
    p.answer({})
    assert p.submit().status_code == 303


@pytest.fixture
def household(add_form):
    return add_form("household.md")


# ------------------------------------------------------------------ CSV

def test_csv_starts_with_a_bom_and_uses_crlf_rows(db, household):
    add(db, "u1", {"consent": "yes", "people": "2", "other_income": "line one\nline two"})
    data = csv_bytes(db)
    assert data.startswith(b"\xef\xbb\xbf") and not data.startswith(b"\xef\xbb\xbf\xef\xbb\xbf")
    assert data.endswith(b"\r\n")
    records = data[3:].split(b"\r\n")
    assert len(records) == 3 and records[-1] == b""  # header, one row (its newline quoted inside), end
    assert b'"line one\nline two"' in data


def test_csv_header_is_meta_then_one_column_per_question_without_notes(db, household):
    [header] = csv_table(csv_bytes(db))
    assert header == list(META_COLUMNS) + HOUSEHOLD_COLUMNS
    assert list(META_COLUMNS) == ["uuid", "form_version", "language", "started_at", "submitted_at", "event", "device"]
    assert "summary" not in header and "adults" in header  # the note out, the calculation in


def test_csv_of_a_walked_form_in_amharic(db, household, participant):
    walk_household_in_amharic(participant)
    [sub] = submissions_of(db, "household")
    header, row = csv_table(csv_bytes(db))
    record = dict(zip(header, row))
    assert record["uuid"] == sub["uuid"] and record["language"] == "am" and record["form_version"] == "1"
    assert record["income"] == "work other"  # space-separated, in list order
    assert record["rent_share"] == "0.25"
    assert record["other_income"] == "የገበያ ሱቅ =SUM(A1)"  # Amharic intact; '=' not at the start
    assert (record["people"], record["children"], record["adults"]) == ("4", "1", "3")
    assert record["started_at"] <= record["submitted_at"]


@pytest.mark.parametrize("text", ["=1+1", "+SUM(A1)", "-2+3+cmd|' /C calc'!A0", "@SUM(A1)", "\t=1", "\r=1",
                                  "=HYPERLINK(\"http://x\",\"ሰላም\")"])
def test_cells_that_would_be_formulas_are_neutralised(db, household, text):
    add(db, "u1", {"other_income": text})
    header, row = csv_table(csv_bytes(db))
    assert dict(zip(header, row))["other_income"] == "'" + text


def test_numbers_stay_numbers(db, household):
    add(db, "u1", {"consent": "yes", "people": "-5", "rent_share": "-0.5", "adults": "-3",
                   "other_income": "-5"})
    header, row = csv_table(csv_bytes(db))
    record = dict(zip(header, row))
    assert record["people"] == "-5" and record["rent_share"] == "-0.5"
    assert record["adults"] == "-3"  # a calculated number is a number too
    assert record["other_income"] == "'-5"  # typed as text by a participant: stays text


def test_safe_cell():
    integer = Question("n", "integer")
    text = Question("t", "text")
    calc = Question("c", "calculate")
    assert safe_cell("") == "" and safe_cell("hello") == "hello" and safe_cell("a=b") == "a=b"
    assert safe_cell("=1+1") == "'=1+1" and safe_cell("@x") == "'@x" and safe_cell("+1") == "'+1"
    assert safe_cell("-5", integer) == "-5" and safe_cell("-5", text) == "'-5"
    assert safe_cell("-1+cmd", integer) == "'-1+cmd"  # not a number after all
    assert safe_cell("-2.5", calc) == "-2.5" and safe_cell("=1+1", calc) == "'=1+1"


def test_csv_with_no_submissions_is_just_the_header(db, household):
    assert csv_table(csv_bytes(db)) == [list(META_COLUMNS) + HOUSEHOLD_COLUMNS]


# ------------------------------------------------------------------ JSON

def test_json_has_numbers_lists_and_nulls(db, household, participant):
    walk_household_in_amharic(participant)
    add(db, "u2", {"consent": "no"}, minute=59)
    records = sorted(json_records(db), key=lambda r: r["uuid"] == "u2")
    assert [r["language"] for r in records] == ["am", "en"]
    first = records[0]
    assert set(first) == set(META_COLUMNS) | {"answers"}
    answers = first["answers"]
    assert list(answers) == HOUSEHOLD_COLUMNS
    assert answers["people"] == 4 and type(answers["people"]) is int
    assert answers["rent_share"] == 0.25 and type(answers["rent_share"]) is float
    assert answers["income"] == ["work", "other"]
    assert answers["other_income"] == "የገበያ ሱቅ =SUM(A1)"  # JSON is data: nothing neutralised
    assert answers["visit_date"] == "2024-03-01"
    assert records[1]["answers"]["people"] is None and records[1]["answers"]["income"] is None


def test_json_is_written_as_real_utf8(db, household):
    add(db, "u1", {"other_income": "ሰላም"})
    assert "ሰላም" in "".join(export_json(db, "household"))


def test_json_of_no_submissions_is_an_empty_list(db, household):
    assert json_records(db) == []


# ------------------------------------------------------------------ versions

def versioned(version: str, rows: list[tuple[str, str]]) -> bytes:
    lines = ["| survey |", "|  | type | name | label |"]
    lines += [f"|  | {t} | {n} | {n.title()} |" for t, n in rows]
    lines += ["| settings |", "|  | form_id | version |", f"|  | vf | {version} |"]
    return ("\n".join(lines) + "\n").encode()


def test_export_of_two_versions_has_the_union_of_columns(db):
    form_service.import_form(db, versioned("1", [("text", "name"), ("integer", "age"), ("text", "town")]), "vf.md")
    form_service.import_form(db, versioned("2", [("text", "name"), ("integer", "age"), ("date", "born")]), "vf.md")
    add(db, "old", {"name": "Ana", "age": "30", "town": "Leeds"}, form_id="vf", version="1", minute=1)
    add(db, "new", {"name": "Bo", "age": "-2", "born": "2000-01-01"}, form_id="vf", version="2", minute=2)
    header, old, new = csv_table(csv_bytes(db, "vf"))
    assert header == list(META_COLUMNS) + ["name", "age", "born", "town"]  # newest version's order first
    assert dict(zip(header, old))["town"] == "Leeds" and dict(zip(header, old))["born"] == ""
    assert dict(zip(header, new))["born"] == "2000-01-01" and dict(zip(header, new))["town"] == ""
    assert dict(zip(header, new))["age"] == "-2" and dict(zip(header, new))["form_version"] == "2"
    records = json_records(db, "vf")
    assert [r["form_version"] for r in records] == ["1", "2"]
    assert records[0]["answers"] == {"name": "Ana", "age": 30, "born": None, "town": "Leeds"}
    assert records[1]["answers"] == {"name": "Bo", "age": -2, "born": "2000-01-01", "town": None}


def test_a_question_whose_type_changed_between_versions_still_exports(db):
    form_service.import_form(db, versioned("1", [("text", "age")]), "vf.md")
    form_service.import_form(db, versioned("2", [("integer", "age")]), "vf.md")
    add(db, "old", {"age": "about thirty"}, form_id="vf", version="1", minute=1)
    add(db, "new", {"age": "31"}, form_id="vf", version="2", minute=2)
    records = json_records(db, "vf")
    assert [r["answers"]["age"] for r in records] == ["about thirty", 31]
    _, old, new = csv_table(csv_bytes(db, "vf"))
    assert old[-1] == "about thirty" and new[-1] == "31"


def test_a_decimal_that_became_an_integer_keeps_its_fraction(db):
    form_service.import_form(db, versioned("1", [("decimal", "size")]), "vf.md")
    form_service.import_form(db, versioned("2", [("integer", "size")]), "vf.md")
    add(db, "old", {"size": "1.5"}, form_id="vf", version="1", minute=1)
    add(db, "new", {"size": "2"}, form_id="vf", version="2", minute=2)
    assert [r["answers"]["size"] for r in json_records(db, "vf")] == [1.5, 2]


# ------------------------------------------------------------------ the command

def run(app, *args):
    return CliRunner().invoke(main, ["export", *args, "--data", str(app.config["DATA_DIR"])])


def test_cli_exports_csv_to_standard_output(app, db, household):
    add(db, "u1", {"consent": "yes", "people": "2", "other_income": "ሰላም"})
    result = run(app, "household")
    assert result.exit_code == 0, result.output
    data = result.stdout_bytes
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    header, row = csv_table(data)
    assert header == list(META_COLUMNS) + HOUSEHOLD_COLUMNS and "ሰላም" in row


def test_cli_exports_json(app, db, household):
    add(db, "u1", {"people": "2", "income": "benefits"})
    result = run(app, "household", "--format", "json")
    assert result.exit_code == 0, result.output
    [record] = json.loads(result.stdout_bytes)
    assert record["answers"]["people"] == 2 and record["answers"]["income"] == ["benefits"]


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_cli_out_writes_the_file(app, db, household, tmp_path, fmt):
    add(db, "u1", {"people": "2", "other_income": "ሰላም"})
    add(db, "u2", {"people": "3"}, minute=5)
    out = tmp_path / f"export.{fmt}"
    result = run(app, "household", "--format", fmt, "--out", str(out))
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert "2 submissions" in result.output and str(out) in result.output
    assert b"\xe1\x88\xb0" in data  # ሰ as UTF-8
    if fmt == "csv":
        assert data.startswith(b"\xef\xbb\xbf") and data.count(b"\r\n") == 3 and b"\r\r\n" not in data
        assert len(csv_table(data)) == 3
    else:
        assert len(json.loads(data)) == 2
    assert result.stdout_bytes.count(b"uuid") == 0  # the data went to the file only


def test_cli_unknown_form_exits_non_zero_with_a_clear_message(app, tmp_path):
    out = tmp_path / "never.csv"
    result = run(app, "nope", "--out", str(out))
    assert result.exit_code != 0
    assert "nope" in result.output and "no form" in result.output.lower()
    assert not out.exists()


def test_cli_refuses_an_unknown_format(app, household):
    result = run(app, "household", "--format", "xml")
    assert result.exit_code != 0 and "xml" in result.output
