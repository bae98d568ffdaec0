"""XLSX and codebook exports, the export registry, filtering by event, and the
Export button and `fieldkit export` recording every export in the activity log."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile

import openpyxl
import pytest
from click.testing import CliRunner

from conftest import Page
from fieldkit.cli import main
from fieldkit.services import forms as form_service
from fieldkit.services.export import FORMATS, META_COLUMNS, ExportFormat, export_csv, export_json
from fieldkit.store import audit, events, users
from fieldkit.store.submissions import add_submission

HOUSEHOLD_COLUMNS = ["consent", "people", "children", "income", "rent_share", "other_income", "visit_date",
                     "adults"]
LANGUAGES = ["en", "es", "so", "am"]
PASSWORD = "a-long-password"


def add(db, uuid: str, answers: dict, minute=0, event_id=None, form_id="household", version="1"):
    record = {"uuid": uuid, "form_id": form_id, "form_version": version, "language": "am",
              "answers": answers, "started_at": f"2024-05-01T10:{minute:02d}:00Z",
              "submitted_at": f"2024-05-01T10:{minute:02d}:30Z", "device_id": "laptop-1", "event_id": event_id}
    assert add_submission(db, record) == "created"


def xlsx(db, form_id="household", fmt="xlsx", **filters) -> bytes:
    chunks = list(FORMATS[fmt].write(db, form_id, **filters))
    assert all(type(c) is bytes for c in chunks)
    return b"".join(chunks)


def workbook(data: bytes):
    return openpyxl.load_workbook(io.BytesIO(data))


def records(ws) -> list[dict]:
    """Rows as {header: cell}, cells kept so that their type can be checked."""
    header, *rows = ws.iter_rows()
    return [{h.value: c for h, c in zip(header, row)} for row in rows]


@pytest.fixture
def household(add_form):
    return add_form("household.md")


# ------------------------------------------------------------------ the registry

def test_the_registry_names_each_format_once():
    assert list(FORMATS) == ["csv", "xlsx", "json", "zip", "codebook", "sav", "dta"]
    for fmt in FORMATS.values():
        assert isinstance(fmt, ExportFormat) and callable(fmt.write)
        assert fmt.label and fmt.extension and "/" in fmt.mimetype
    assert [n for n, f in FORMATS.items() if f.binary] == ["xlsx", "zip", "codebook", "sav", "dta"]
    assert FORMATS["xlsx"].mimetype == FORMATS["codebook"].mimetype == \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert FORMATS["codebook"].extension.endswith(".xlsx")
    assert len({f.extension for f in FORMATS.values()}) == len(FORMATS)


# ------------------------------------------------------------------ XLSX answers

def test_xlsx_has_the_csv_columns_on_a_sheet_answers_and_a_codebook(db, household):
    wb = workbook(xlsx(db))
    assert wb.sheetnames == ["answers", "codebook"]
    [header] = wb["answers"].iter_rows(values_only=True)
    assert list(header) == list(META_COLUMNS) + HOUSEHOLD_COLUMNS


def test_xlsx_numbers_are_numbers_and_dates_are_dates(db, household):
    add(db, "u1", {"consent": "yes", "people": "4", "children": "1", "income": "work other",
                   "rent_share": "0.25", "visit_date": "2024-03-01", "adults": "3"})
    [row] = records(workbook(xlsx(db))["answers"])
    assert row["people"].value == 4 and row["people"].data_type == "n"
    assert row["rent_share"].value == 0.25 and row["rent_share"].data_type == "n"
    assert row["visit_date"].is_date and row["visit_date"].value.date() == dt.date(2024, 3, 1)
    assert row["visit_date"].number_format == "yyyy-mm-dd"
    assert row["submitted_at"].is_date and row["submitted_at"].value == dt.datetime(2024, 5, 1, 10, 0, 30)
    assert row["income"].value == "work other" and row["consent"].value == "yes"
    assert row["uuid"].value == "u1" and row["form_version"].value == "1"
    assert row["other_income"].value is None  # unanswered: an empty cell


def test_xlsx_keeps_amharic_and_markup_as_literal_text(db, household):
    markup = "<script>alert('x')</script> <b>&amp;</b>"
    add(db, "u1", {"other_income": "የገበያ ሱቅ =SUM(A1)"})
    add(db, "u2", {"other_income": markup}, minute=1)
    amharic, html = records(workbook(xlsx(db))["answers"])
    assert amharic["other_income"].value == "የገበያ ሱቅ =SUM(A1)" and amharic["language"].value == "am"
    assert html["other_income"].value == markup and html["other_income"].data_type == "s"


@pytest.mark.parametrize("text", ["=1+1", "+SUM(A1)", "-2+3+cmd|' /C calc'!A0", "@SUM(A1)", "\t=1", "\r=1",
                                  "=HYPERLINK(\"http://x\",\"ሰላም\")"])
def test_xlsx_formulas_are_neutralised_and_stored_as_text(db, household, text):
    add(db, "u1", {"other_income": text, "people": text})  # people: an integer that is not a number
    data = xlsx(db)
    [row] = records(workbook(data)["answers"])
    for name in ("other_income", "people"):
        # stored as text (a string cell, which no spreadsheet runs), exactly as typed (issue 14, 7:
        # the CSV's leading apostrophe changed what the participant wrote); an XML reader turns a
        # carriage return into a line feed, as Excel does
        assert row[name].data_type == "s" and row[name].value == text.replace("\r", "\n")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and not any(b"<f>" in archive.read(n) for n in sheets)


def test_xlsx_negative_numbers_stay_numbers(db, household):
    add(db, "u1", {"people": "-5", "rent_share": "-0.5", "adults": "-3", "other_income": "-5"})
    [row] = records(workbook(xlsx(db))["answers"])
    assert row["people"].value == -5 and row["rent_share"].value == -0.5
    assert row["adults"].value == -3  # a calculation whose value is a number is a number
    assert row["other_income"].value == "-5" and row["other_income"].data_type == "s"  # text stays text


def test_xlsx_survives_characters_a_spreadsheet_cannot_hold(db, household):
    add(db, "u1", {"other_income": "a\x0bb\x00c ሰላም"})
    [row] = records(workbook(xlsx(db))["answers"])
    assert row["other_income"].value == "abc ሰላም"


def test_xlsx_of_a_question_whose_type_changed_keeps_the_old_text(db):
    def versioned(version, qtype):
        return (f"| survey |\n|  | type | name | label |\n|  | {qtype} | age | Age |\n"
                f"| settings |\n|  | form_id | version |\n|  | vf | {version} |\n").encode()
    form_service.import_form(db, versioned("1", "text"), "vf.md")
    form_service.import_form(db, versioned("2", "integer"), "vf.md")
    add(db, "old", {"age": "about thirty"}, form_id="vf", version="1", minute=1)
    add(db, "new", {"age": "31"}, form_id="vf", version="2", minute=2)
    old, new = records(workbook(xlsx(db, "vf"))["answers"])
    assert old["age"].value == "about thirty" and new["age"].value == 31


# ------------------------------------------------------------------ codebook

def test_codebook_lists_every_question_with_its_labels_in_every_language(db, household):
    wb = workbook(xlsx(db, fmt="codebook"))
    assert wb.sheetnames == ["questions", "choices"]
    header, *rows = wb["questions"].iter_rows(values_only=True)
    assert header[:2] == ("name", "type")
    for column in ["required", "relevant", "constraint", "calculation"]:
        assert column in header
    for lang in LANGUAGES:
        assert f"label::{lang}" in header and f"hint::{lang}" in header
    questions = {row[0]: dict(zip(header, row)) for row in rows}
    assert list(questions) == list(META_COLUMNS) + HOUSEHOLD_COLUMNS  # the answers' columns, in their order
    assert questions["event"]["type"] == "metadata" and "gathering" in questions["event"]["label::en"]
    people = questions["people"]
    assert people["type"] == "integer" and people["constraint"] == ". >= 1 and . <= 20"
    assert people["label::am"] == "ከእርስዎ ጋር ስንት ሰዎች ይኖራሉ?" and people["hint::es"] == "Incluyéndose"
    assert questions["income"]["type"] == "select_multiple" and questions["income"]["list_name"] == "income"
    assert questions["adults"]["calculation"] == "${people} - coalesce(${children}, 0)"
    assert questions["children"]["relevant"] == "${people} > 1"


def test_codebook_lists_the_choices_in_every_language(db, household):
    header, *rows = workbook(xlsx(db, fmt="codebook"))["choices"].iter_rows(values_only=True)
    assert header == ("list_name", "name", *(f"label::{lang}" for lang in LANGUAGES))
    assert [(r[0], r[1]) for r in rows] == [("yn", "yes"), ("yn", "no"), ("income", "work"),
                                            ("income", "benefits"), ("income", "other"),
                                            ("income", "prefer_not")]
    assert rows[0][2:] == ("Yes", "Sí", "Haa", "አዎ")


def test_the_answers_workbook_carries_the_codebook_too(db, household):
    header, *rows = workbook(xlsx(db))["codebook"].iter_rows(values_only=True)
    assert [r[0] for r in rows] == list(META_COLUMNS) + HOUSEHOLD_COLUMNS and "label::am" in header


def test_codebook_cells_are_neutralised_too(db):
    form_service.import_form(db, ("| survey |\n|  | type | name | label |\n|  | text | q | =1+1 |\n"
                                  "| settings |\n|  | form_id | version |\n|  | cb | 1 |\n").encode(), "cb.md")
    header, *_meta, row = workbook(xlsx(db, "cb", fmt="codebook"))["questions"].iter_rows()
    label = row[[h.value for h in header].index(next(h.value for h in header if h.value.startswith("label")))]
    assert label.value == "=1+1" and label.data_type == "s"


# ------------------------------------------------------------------ by event

@pytest.fixture
def two_events(db, household):
    hall = events.add_event(db, {"name": "Hall"}, ["household"])
    park = events.add_event(db, {"name": "Park"}, ["household"])
    add(db, "at-hall", {"people": "2"}, minute=1, event_id=hall["id"])
    add(db, "at-park", {"people": "3"}, minute=2, event_id=park["id"])
    add(db, "nowhere", {"people": "4"}, minute=3)
    return hall, park


def test_the_event_filter_narrows_csv_xlsx_and_json(db, two_events):
    hall, _park = two_events
    rows = list(csv.reader(io.StringIO("".join(export_csv(db, "household", event_id=hall["id"])).lstrip("\ufeff"))))
    assert [r[0] for r in rows[1:]] == ["at-hall"]
    assert [r["uuid"] for r in json.loads("".join(export_json(db, "household", event_id=hall["id"])))] == ["at-hall"]
    assert [r["uuid"].value for r in records(workbook(xlsx(db, event_id=hall["id"]))["answers"])] == ["at-hall"]
    assert [r["uuid"].value for r in records(workbook(xlsx(db))["answers"])] == ["at-hall", "at-park", "nowhere"]


# ------------------------------------------------------------------ the command

def run(app, *args):
    return CliRunner().invoke(main, ["export", *args, "--data", str(app.config["DATA_DIR"])])


def test_cli_writes_xlsx_to_a_file_and_records_it(app, db, household, tmp_path):
    add(db, "u1", {"people": "2", "other_income": "ሰላም"})
    out = tmp_path / "household.xlsx"
    result = run(app, "household", "--format", "xlsx", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "1 submissions" in result.output and result.stdout_bytes.count(b"PK") == 0
    [row] = records(workbook(out.read_bytes())["answers"])
    assert row["people"].value == 2 and row["other_income"].value == "ሰላም"
    [entry] = [e for e in audit.recent(db) if e["action"] == "export"]
    assert entry["username"] is None
    assert entry["detail"] == {"form_id": "household", "format": "xlsx", "via": "command line"}


def test_cli_writes_the_codebook(app, db, household, tmp_path):
    out = tmp_path / "codebook.xlsx"
    result = run(app, "household", "--format", "codebook", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert workbook(out.read_bytes()).sheetnames == ["questions", "choices"]


def test_cli_sends_xlsx_to_a_pipe_as_bytes(app, db, household):
    add(db, "u1", {"people": "2"})
    result = run(app, "household", "--format", "xlsx")
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes.startswith(b"PK")  # a zip archive
    assert [r["uuid"].value for r in records(workbook(result.stdout_bytes)["answers"])] == ["u1"]


def test_cli_refuses_to_print_xlsx_on_a_terminal(app, db, household, monkeypatch):
    class Terminal(io.BytesIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr("fieldkit.cli.standard_output", lambda: terminal)
    result = run(app, "household", "--format", "xlsx")
    assert result.exit_code != 0 and "--out" in result.output
    assert terminal.getvalue() == b"" and not [e for e in audit.recent(db) if e["action"] == "export"]


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_cli_event_narrows_the_export(app, db, two_events, tmp_path, fmt):
    hall, _park = two_events
    out = tmp_path / f"hall.{fmt}"
    result = run(app, "household", "--format", fmt, "--event", hall["code"].upper(), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "1 submissions" in result.output
    data = out.read_bytes()
    if fmt == "csv":
        uuids = [r[0] for r in csv.reader(io.StringIO(data.decode("utf-8-sig")))][1:]
    elif fmt == "json":
        uuids = [r["uuid"] for r in json.loads(data)]
    else:
        uuids = [r["uuid"].value for r in records(workbook(data)["answers"])]
    assert uuids == ["at-hall"]
    [entry] = [e for e in audit.recent(db) if e["action"] == "export"]
    assert entry["detail"] == {"form_id": "household", "format": fmt, "via": "command line",
                               "event_id": hall["id"]}


def test_cli_unknown_event_is_a_clear_error(app, db, household, tmp_path):
    out = tmp_path / "never.csv"
    result = run(app, "household", "--event", "zzzzz", "--out", str(out))
    assert result.exit_code != 0 and "zzzzz" in result.output and "event" in result.output.lower()
    assert not out.exists() and not [e for e in audit.recent(db) if e["action"] == "export"]


def test_cli_help_lists_every_format_and_the_event_option(app):
    result = CliRunner().invoke(main, ["export", "--help"])
    assert result.exit_code == 0
    for word in [*FORMATS, "--event", "--out"]:
        assert word in result.output


# ------------------------------------------------------------------ the Export button

def sign_in(app, db, role: str):
    users.add_user(db, role, PASSWORD, role)
    client = app.test_client()
    page = Page(client.get("/console/login").get_data(as_text=True))
    response = client.post("/console/login", data={"username": role, "password": PASSWORD,
                                                   "csrf_token": page.hidden_fields["csrf_token"]})
    assert response.status_code == 303
    return client


def test_the_form_page_offers_every_format(app, db, household):
    html = sign_in(app, db, "coordinator").get("/console/forms/household").get_data(as_text=True)
    for name in FORMATS:
        assert f'value="{name}"' in html
    assert "Excel workbook (XLSX)" in html


def test_console_exports_xlsx_of_one_event_and_records_it(app, db, two_events):
    hall, _park = two_events
    client = sign_in(app, db, "coordinator")
    response = client.get(f"/console/forms/household/export?format=xlsx&event={hall['id']}")
    assert response.status_code == 200
    assert response.mimetype == FORMATS["xlsx"].mimetype
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and disposition.endswith('.xlsx"') and "household-" in disposition
    assert [r["uuid"].value for r in records(workbook(response.get_data())["answers"])] == ["at-hall"]
    [entry] = [e for e in audit.recent(db) if e["action"] == "export"]
    assert entry["username"] == "coordinator"
    assert entry["detail"] == {"form_id": "household", "format": "xlsx", "event_id": hall["id"]}


def test_console_and_command_line_export_the_same_csv(app, db, two_events):
    client = sign_in(app, db, "coordinator")
    web = client.get("/console/forms/household/export?format=csv").get_data()
    assert web == run(app, "household").stdout_bytes


def test_console_codebook_download(app, db, household):
    response = sign_in(app, db, "coordinator").get("/console/forms/household/export?format=codebook")
    assert response.status_code == 200 and response.headers["Content-Disposition"].endswith('.codebook.xlsx"')
    assert workbook(response.get_data()).sheetnames == ["questions", "choices"]


def test_a_facilitator_cannot_export(app, db, two_events):
    client = sign_in(app, db, "facilitator")
    assert client.get("/console/forms/household/export?format=xlsx").status_code == 403
    assert not [e for e in audit.recent(db) if e["action"] == "export"]


@pytest.mark.parametrize("query", ["format=xml", "format=xlsx&event=999", "format=csv&event=hall"])
def test_an_unknown_format_or_event_is_a_bad_request(app, db, two_events, query):
    client = sign_in(app, db, "coordinator")
    assert client.get(f"/console/forms/household/export?{query}").status_code == 400
    assert not [e for e in audit.recent(db) if e["action"] == "export"]


def test_every_export_names_each_answers_event_and_device(db, two_events):
    """Issue 14, 7: an analyst comparing gatherings and laptops had neither column."""
    hall, park = two_events
    rows = list(csv.DictReader(io.StringIO("".join(export_csv(db, "household")).lstrip("\ufeff"))))
    assert [(r["uuid"], r["event"]) for r in rows] == [("at-hall", hall["code"]), ("at-park", park["code"]),
                                                       ("nowhere", "")]
    assert all(r["device"] for r in rows)
    assert [r["event"] for r in json.loads("".join(export_json(db, "household")))] == [hall["code"], park["code"], None]
    sheet = records(workbook(xlsx(db))["answers"])
    assert [r["event"].value for r in sheet][:2] == [hall["code"], park["code"]]


def test_a_calculation_that_is_a_number_is_typed_as_one_and_text_it_made_stays_text(db, household):
    add(db, "u1", {"people": "3", "adults": "2"})
    add(db, "u2", {"people": "3", "adults": "007"}, minute=1)  # text a calculation made: kept as written
    first, second = json.loads("".join(export_json(db, "household")))
    assert first["answers"]["adults"] == 2 and second["answers"]["adults"] == "007"
    rows = records(workbook(xlsx(db))["answers"])
    assert rows[0]["adults"].value == 2 and rows[1]["adults"].value == "007"
