"""Importing XLSForms: .md, .xlsx and .csv alike; every refusal names sheet, row
and column and stores nothing; versions; languages; settings."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json

import openpyxl
import pytest

from fieldkit import store
from fieldkit.forms import engine
from fieldkit.forms.model import Form
from fieldkit.forms.xlsform import FormImportError, Problem, load_xlsform
from fieldkit.services import forms as form_service
from fieldkit.services.forms import MAX_FORM_BYTES, import_form
from fieldkit.store import forms as form_store

# ------------------------------------------------------------------ writing XLSForms three ways

SURVEY_HEADER = ["type", "name", "label::English (en)", "label::Español (es)", "hint::English (en)",
                 "hint::Español (es)", "required", "relevant", "constraint",
                 "constraint_message::English (en)", "constraint_message::Español (es)", "calculation", "default"]
SHEETS = {
    "survey": [
        SURVEY_HEADER,
        ["select_one yn", "consent", "Do you agree?", "¿Acepta?", "", "", "yes", "", "", "", "", "", ""],
        ["begin_group", "home", "Your home", "Su hogar", "", "", "", "${consent} = 'yes'", "", "", "", "", ""],
        ["integer", "people", "How many people?", "¿Cuántas personas?", "Including you", "Incluyéndose",
         "yes", "", ". >= 1 and . <= 20", "From 1 to 20", "De 1 a 20", "", "2"],
        ["select_multiple income", "income", "Income", "Ingreso", "", "", "", "${people} > 1", "", "", "", "",
         ""],
        ["end_group", "", "", "", "", "", "", "", "", "", "", "", ""],
        ["calculate", "double", "", "", "", "", "", "", "", "", "", "${people} * 2", ""],
        ["note", "summary", "Twice: ${double}", "Doble: ${double}", "", "", "", "", "", "", "", "", ""],
        ["date", "visit", "Visit date", "Fecha de visita", "", "", "", "", ". <= today()", "", "", "", ""],
        ["text", "comments", "Comments", "Comentarios", "", "", "", "", "", "", "", "", ""],
    ],
    "choices": [
        ["list_name", "name", "label::English (en)", "label::Español (es)"],
        ["yn", "yes", "Yes", "Sí"],
        ["yn", "no", "No", "No"],
        ["income", "work", "Work", "Trabajo"],
        ["income", "other", "Other", "Otro"],
    ],
    "settings": [
        ["form_title", "form_id", "version", "default_language"],
        ["Home check", "home_check", "1", "English (en)"],
    ],
}


def as_md(sheets: dict) -> bytes:
    lines = []
    for name, rows in sheets.items():
        lines.append(f"| {name} |")
        for row in rows:
            lines.append("|  | " + " | ".join(row) + " |")
    return ("\n".join(lines) + "\n").encode()


def as_xlsx(sheets: dict) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append([cell if cell != "" else None for cell in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def as_csv(sheets: dict) -> bytes:
    """pyxform's csv: the sheet name in the first column of its header row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for name, rows in sheets.items():
        for i, row in enumerate(rows):
            writer.writerow([name if i == 0 else ""] + row)
    return out.getvalue().encode()


WRITERS = {"md": as_md, "xlsx": as_xlsx, "csv": as_csv}


def survey(*rows, header=("type", "name", "label"), extra_sheets=None, choices=True) -> dict:
    width = len(header)
    sheets = {"survey": [list(header)] + [list(r) + [""] * (width - len(r)) for r in rows]}
    if choices:
        sheets["choices"] = [["list_name", "name", "label"], ["yn", "yes", "Yes"], ["yn", "no", "No"]]
    sheets.update(extra_sheets or {})
    return sheets


@pytest.fixture
def db(tmp_path):
    """A real SQLite file with fieldkit's schema, and no Flask: import is a service."""
    database = store.connect(tmp_path / "fieldkit.db", migrate=True)
    yield database
    database.close()


def forms_table(db) -> list[dict]:
    return [dict(r) for r in db.query("SELECT * FROM forms ORDER BY id")]


def without_version(form: Form) -> dict:
    data = form.to_dict()
    data.pop("version")
    return data


# ------------------------------------------------------------------ one form, three file types

def test_md_xlsx_and_csv_import_to_an_equal_model():
    models = {kind: load_xlsform(write(SHEETS), f"home_check.{kind}") for kind, write in WRITERS.items()}
    assert models["md"].to_dict() == models["xlsx"].to_dict() == models["csv"].to_dict()
    form = models["xlsx"]
    assert form.form_id == "home_check" and form.version == "1"
    assert form.languages == ["en", "es"] and form.default_language == "en"
    assert [s.name for s in form.screens] == ["consent", "home", "summary", "visit", "comments"]
    assert form.screens[1].questions == ["people", "income"]
    people = form.questions["people"]
    assert people.label == {"en": "How many people?", "es": "¿Cuántas personas?"}
    assert people.hint == {"en": "Including you", "es": "Incluyéndose"}
    assert people.constraint_message == {"en": "From 1 to 20", "es": "De 1 a 20"}
    assert people.default == "2" and people.required is not None and people.groups == ["home"]
    assert form.questions["income"].list_name == "income"
    assert [c.name for c in form.choices["income"]] == ["work", "other"]
    assert form.order.index("people") < form.order.index("double")


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_import_keeps_the_original_bytes_and_a_model_that_round_trips(db, kind):
    data = WRITERS[kind](SHEETS)
    imported = import_form(db, data, f"home_check.{kind}")
    assert imported.outcome == "added"
    [row] = [r for r in forms_table(db)]
    assert row["source"] == data and row["source_name"] == f"home_check.{kind}"
    assert (row["form_id"], row["version"]) == ("home_check", "1")
    assert json.loads(row["model"]) == imported.form.to_dict()
    assert json.loads(row["languages"]) == ["en", "es"]
    again = Form.from_dict(json.loads(json.dumps(imported.form.to_dict())))
    assert again == imported.form
    assert form_store.current_form(db, "home_check") == imported.form


def test_the_filename_is_kept_without_its_folders(db):
    import_form(db, as_md(SHEETS), "../../etc/home_check.md")
    assert forms_table(db)[0]["source_name"] == "home_check.md"


# ------------------------------------------------------------------ refusals

def refused(db, data: bytes, filename: str) -> list[Problem]:
    before = forms_table(db)
    with pytest.raises(FormImportError) as caught:
        import_form(db, data, filename)
    assert forms_table(db) == before, "a refused form must store nothing"
    problems = caught.value.problems
    assert problems and all(isinstance(p, Problem) and p.render() for p in problems)
    return problems


def one_problem(db, sheets: dict, kind="md") -> Problem:
    problems = refused(db, WRITERS[kind](sheets), f"form.{kind}")
    assert len(problems) == 1, [p.render() for p in problems]
    return problems[0]


GOOD = ("text", "first", "First")


def warned(db, sheets: dict, kind="md", media=None) -> list[Problem]:
    """Imports (the form is stored) and gives the warnings the coordinator is shown."""
    form = import_form(db, WRITERS[kind](sheets), f"form.{kind}", media=media).form
    assert forms_table(db), "a form with warnings is stored"
    return [Problem.from_dict(w) for w in form.warnings]


@pytest.mark.parametrize("kind", ["md", "xlsx", "csv"])
@pytest.mark.parametrize("qtype,stored", [("geopoint", "geopoint"), ("geoshape", "geoshape"),
                                          ("geotrace", "geotrace"), ("barcode", "barcode"), ("gps", "geopoint"),
                                          ("string", "text"), ("phone number", "text"), ("select1 yn", "select_one"),
                                          ("username", "username"), ("email", "email"),
                                          ("phonenumber", "phonenumber"), ("simserial", "simserial"),
                                          ("subscriberid", "subscriberid"), ("imei", "deviceid"),
                                          ("q picture", "image"), ("int", "integer")])
def test_odk_types_and_pyxform_aliases_import_without_a_word(db, kind, qtype, stored):
    form = import_form(db, WRITERS[kind](survey(GOOD, (qtype, "thing", "Thing"))), f"form.{kind}").form
    assert form.questions["thing"].type == stored and form.warnings == []


@pytest.mark.parametrize("qtype", ["audit", "osm", "start-geopoint", "background-audio"])
def test_types_fieldkit_leaves_out_import_with_a_warning_at_their_row(db, qtype):
    [warning] = warned(db, survey(GOOD, (qtype, "audit" if qtype == "audit" else "thing", "Thing")))
    assert (warning.sheet, warning.row, warning.column) == ("survey", 3, "type") and qtype in warning.render()


def test_an_unknown_type_is_refused_at_its_row(db):
    [problem] = refused(db, as_md(survey(GOOD, ("geopointy", "thing", "Thing"))), "f.md")
    assert (problem.sheet, problem.row) == ("survey", 3) and "geopointy" in problem.render()


def test_row_numbers_count_blank_rows_in_a_spreadsheet(db):
    sheets = survey(GOOD, ("", "", ""), ("", "", ""), ("text", "where", "Where", "${first} = = 1"),
                    header=("type", "name", "label", "relevant"))
    problem = one_problem(db, sheets, "xlsx")
    assert (problem.row, problem.column) == (5, "relevant")


def test_guidance_hint_and_accept_are_kept(db):
    form = import_form(db, as_md(survey(("image", "photo", "Photo", "Ask slowly", "image/jpeg"),
                                        header=("type", "name", "label", "guidance_hint", "body::accept"))),
                       "f.md").form
    assert form.questions["photo"].guidance == {"en": "Ask slowly"}
    assert form.questions["photo"].parameters == {"accept": "image/jpeg"} and form.warnings == []


def test_other_body_columns_are_left_aside_with_a_warning_at_their_first_row(db):
    rows = [("text", "first", "First", ""), ("text", "second", "Second", "x"), ("text", "third", "Third", "y")]
    [warning] = warned(db, survey(*rows, header=("type", "name", "label", "body::esri:style")))
    assert (warning.sheet, warning.row, warning.column) == ("survey", 3, "body::esri:style")


@pytest.mark.parametrize("column,row", [("image", 2), ("media::image", 3), ("audio", 2), ("video", 2)])
def test_a_media_file_not_uploaded_imports_with_a_warning_at_its_cell(db, column, row):
    rows = [("text", "first", "First", ""), ("select_one yn", "second", "Second", "")]
    rows[row - 2] = rows[row - 2][:3] + ("picture.png",)
    [warning] = warned(db, survey(*rows, header=("type", "name", "label", column)))
    assert (warning.sheet, warning.row) == ("survey", row)
    assert "picture.png is not attached" in warning.render()


def test_unsupported_column_left_empty_is_fine(db):
    imported = import_form(db, as_md(survey(GOOD, header=("type", "name", "label", "choice_filter"))), "f.md")
    assert imported.outcome == "added"


def test_a_broken_repeat_count_is_refused_at_its_cell(db):
    problems = refused(db, as_md(survey(("integer", "n", "N", ""), ("begin_repeat", "r", "R", "${n} +"),
                                        ("text", "t", "T", ""), ("end_repeat", "", "", ""),
                                        header=("type", "name", "label", "repeat_count"))), "f.md")
    assert ("survey", 3, "repeat_count") in [(p.sheet, p.row, p.column) for p in problems]


def test_a_choice_image_not_uploaded_is_named_with_its_choices_row(db):
    sheets = survey(("select_one yn", "q", "Q"))
    sheets["choices"] = [["list_name", "name", "label", "image"], ["yn", "no", "No", ""],
                         ["yn", "yes", "Yes", "yes.png"]]
    [warning] = warned(db, sheets)
    assert (warning.sheet, warning.row, warning.column) == ("choices", 3, "image")
    assert "yes.png is not attached" in warning.render()


@pytest.mark.parametrize("qtype,appearance", [("select_one yn", "quick"), ("image", "signature"),
                                               ("select_one yn", "autocomplete"),
                                               ("geopoint", "placement-map"), ("date", "ethiopian"),
                                               ("select_one yn", "something-new")])
def test_appearances_shown_differently_or_unknown_import_with_a_warning(db, qtype, appearance):
    [warning] = warned(db, survey(GOOD, (qtype, "q", "Q", appearance),
                                  header=("type", "name", "label", "appearance")))
    assert (warning.sheet, warning.row, warning.column) == ("survey", 3, "appearance")
    assert appearance in warning.render()


def test_an_appearance_for_another_type_is_ignored_without_a_word_as_collect_does(db):
    form = import_form(db, as_md(survey(("text", "q", "Q", "minimal", ""), ("calculate", "c", "", "quick", "1"),
                                        header=("type", "name", "label", "appearance", "calculation"))),
                       "f.md").form
    assert form.warnings == [] and form.questions["q"].appearance is None


@pytest.mark.parametrize("written,kept", [("Minimal", "minimal"), ("LIKERT", "likert"),
                                          ("minimal w2", "minimal"), ("columns-3", "columns-3"),
                                          ("compact", "compact"), ("horizontal", "horizontal")])
def test_appearances_are_matched_case_insensitively_and_widths_pass_silently(db, written, kept):
    form = import_form(db, as_md(survey(("select_one yn", "q", "Q", written),
                                        header=("type", "name", "label", "appearance"))), "f.md").form
    assert form.questions["q"].appearance == kept and form.warnings == []


@pytest.mark.parametrize("appearance", ["field-list", "multiline"])
def test_supported_appearances_import(db, appearance):
    qtype = "begin_group" if appearance == "field-list" else "text"
    rows = [(qtype, "q", "Q", appearance)] + ([("text", "inner", "In", ""), ("end_group", "", "", "")]
                                                if qtype == "begin_group" else [])
    form = import_form(db, as_md(survey(*rows, header=("type", "name", "label", "appearance"))), "f.md").form
    assert form.screens[0].name == "q"


@pytest.mark.parametrize("column,source,needle", [
    ("relevant", "${a} = = 1", "= = 1"),
    ("relevant", "${a} = 1)", "matching"),
    ("constraint", ". >", "end of the expression"),
    ("calculation", "/data/zz + 1", "zz, which is not a question"),
    ("required", "${a} = 'yes", "never closed"),
])
def test_expression_that_cannot_be_parsed_names_the_column(db, column, source, needle):
    header = ("type", "name", "label", column)
    qtype = "calculate" if column == "calculation" else "text"
    problem = one_problem(db, survey(("integer", "a", "A", ""), (qtype, "b", "B", source), header=header))
    assert (problem.sheet, problem.row, problem.column) == ("survey", 3, column)
    assert source in problem.render() and needle in problem.render()


def test_unknown_function_is_refused_by_name(db):
    problem = one_problem(db, survey(("integer", "a", "A", ""), ("text", "b", "B", "pulldata('x', ${a}) = 1"),
                                     header=("type", "name", "label", "relevant")))
    assert (problem.sheet, problem.row, problem.column) == ("survey", 3, "relevant")
    assert "pulldata()" in problem.render()


def test_reference_to_a_question_that_does_not_exist(db):
    problem = one_problem(db, survey(("integer", "a", "A", ""), ("text", "b", "B", "${nobody} > 1"),
                                     header=("type", "name", "label", "relevant")))
    assert (problem.sheet, problem.row, problem.column) == ("survey", 3, "relevant")
    assert "nobody" in problem.render()


def test_duplicate_choice_names_name_the_choices_sheet(db):
    sheets = survey(("select_one yn", "q", "Q"))
    sheets["choices"].append(["yn", "yes", "Yes again"])
    problem = one_problem(db, sheets)
    assert (problem.sheet, problem.row, problem.column) == ("choices", 4, "name")


def test_calculation_cycle_names_the_questions(db):
    problem = one_problem(db, survey(GOOD, ("calculate", "a", "", "${b} + 1"), ("calculate", "b", "", "${a} * 2"),
                                     header=("type", "name", "label", "calculation")))
    assert problem.sheet == "survey" and problem.row in (3, 4)
    assert "a, b, a" in problem.render() or "b, a, b" in problem.render()


def test_longer_cycle_through_relevance(db):
    problem = one_problem(db, survey(("integer", "a", "A", "${c} > 1", ""), ("integer", "b", "B", "", ""),
                                     ("calculate", "c", "", "", "${a} + ${b}"),
                                     header=("type", "name", "label", "relevant", "calculation")))
    assert "a, c, a" in problem.render() or "c, a, c" in problem.render()


def test_question_depending_on_itself_is_a_cycle(db):
    problem = one_problem(db, survey(GOOD, ("calculate", "total", "", "${total} + 1"),
                                     header=("type", "name", "label", "calculation")))
    assert (problem.sheet, problem.row) == ("survey", 3)
    assert "total, total" in problem.render()


def test_group_relevance_on_a_question_inside_it_is_a_cycle(db):
    problem = one_problem(db, survey(GOOD, ("begin_group", "g", "G", "${inside} = 1"),
                                     ("integer", "inside", "Inside", ""), ("end_group", "", "", ""),
                                     header=("type", "name", "label", "relevant")))
    assert (problem.sheet, problem.row, problem.column) == ("survey", 3, "relevant")
    assert "g, inside, g" in problem.render()


def test_group_relevance_on_a_question_before_it_is_fine(db):
    form = import_form(db, as_md(survey(("integer", "before", "Before", ""),
                                        ("begin_group", "g", "G", "${before} = 1"),
                                        ("integer", "inside", "Inside", ""), ("end_group", "", "", ""),
                                        header=("type", "name", "label", "relevant"))), "f.md").form
    assert form.groups["g"].relevant is not None


@pytest.mark.parametrize("label,code", [
    ("label::English", "en"), ("label::english", "en"), ("label::EN", "en"), ("label::Español", "es"),
    ("label::Spanish", "es"), ("label::Somali", "so"), ("label::Af-Soomaali", "so"), ("label::Soomaali", "so"),
    ("label::Amharic", "am"), ("label::አማርኛ", "am"), ("label::French (fr)", "fr"), ("label::chinese", "zh"),
    ("label::Tigrinya", "ti"), ("label", "en")])
def test_languages_as_people_write_them(db, label, code):
    form = import_form(db, as_md(survey(("text", "a", "A"), header=("type", "name", label), choices=False)),
                       "f.md").form
    assert form.languages == [code] and form.questions["a"].label == {code: "A"} and form.warnings == []


def test_a_language_with_no_known_code_is_served_under_its_own_name(db):
    [warning] = warned(db, survey(("text", "a", "A", "B"), header=("type", "name", "label::English",
                                                                    "label::Kunama dialect 2")))
    form = form_store.current_form(db, "form")
    other = next(c for c in form.languages if c != "en")
    assert other.startswith("x-") and form.language_names == {other: "Kunama dialect 2"}
    assert form.default_language == "en" and "Kunama dialect 2" in warning.render()


@pytest.mark.parametrize("default", ["Spanish", "spanish", "Español", "ES", "Spanish (es)"])
def test_default_language_in_any_of_these_forms(db, default):
    sheets = survey(("text", "a", "A", "Uno"), header=("type", "name", "label::English", "label::Spanish"),
                    extra_sheets={"settings": [["default_language"], [default]]})
    form = import_form(db, as_md(sheets), "f.md").form
    assert form.default_language == "es" and sorted(form.languages) == ["en", "es"]


@pytest.mark.parametrize("default,qtype,expected", [
    ("today()", "date", dt.date.today().isoformat()), ("concat('a', 'b')", "text", "ab"),
    ("${other}", "text", ""),  # worked out when the answers begin: nothing is answered yet, as in ODK
    ("string-length('abc')", "integer", "3"), ("concat('x', 'y')", "integer", "")])  # not a number: empty
def test_a_dynamic_default_is_worked_out_when_the_answers_begin(db, default, qtype, expected):
    form = import_form(db, as_md(survey(("text", "other", "Other", ""), (qtype, "q", "Q", default),
                                        header=("type", "name", "label", "default"))), "f.md").form
    assert form.questions["q"].default is None and form.questions["q"].source["default"] == default
    assert engine.defaults(form)["q"] == expected


def test_a_broken_dynamic_default_is_refused_at_its_cell(db):
    problem = one_problem(db, survey(("text", "q", "Q", "today( +"), header=("type", "name", "label", "default")))
    assert (problem.sheet, problem.row, problem.column) == ("survey", 2, "default")


def test_every_problem_is_reported_at_once(db):
    problems = refused(db, as_md(survey(("text", "g", "G", "${x} ="), ("text", "t", "T", "${x} = = 2"),
                                        ("integer", "x", "X", ""),
                                        header=("type", "name", "label", "relevant"))), "f.md")
    assert {(p.row, p.column) for p in problems} == {(2, "relevant"), (3, "relevant")}


@pytest.mark.parametrize("data,filename", [
    (b"\x00\x01\x02 not a spreadsheet" * 50, "form.xlsx"),
    (b"PK\x03\x04" + b"\x00" * 100, "form.xlsx"),  # a broken zip
    (b"\xd0\xcf\x11\xe0 garbage", "form.xls"),
    (as_md(SHEETS), "form.txt"),
    (as_md(SHEETS), "form"),
    (b"", "form.md"),
    (b"", "form.xlsx"),
    (b"", "form.csv"),
    ("just some words\n".encode(), "form.md"),
    (b"\xff\xfe\x00garbage", "form.csv"),
    (as_xlsx({"sheet1": [["a", "b"], ["1", "2"]]}), "form.xlsx"),  # a spreadsheet, not an XLSForm
])
def test_a_file_that_is_not_an_xlsform_is_refused(db, data, filename):
    problems = refused(db, data, filename)
    assert len(problems) == 1


def test_a_txt_file_is_refused_by_its_name(db):
    [problem] = refused(db, b"| survey |\n", "notes.txt")
    assert "notes.txt" in problem.render() and ".xlsx" in problem.render()


def test_a_huge_file_is_refused_before_it_is_read(db, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("a huge file must not be parsed")
    monkeypatch.setattr(form_service, "load_xlsform", never)
    [problem] = refused(db, b"x" * (MAX_FORM_BYTES + 1), "big.xlsx")
    assert str(MAX_FORM_BYTES // (1024 * 1024)) in problem.render()


def test_a_file_of_exactly_the_limit_is_read(db):
    data = as_md(survey(GOOD))
    data += b" " * (MAX_FORM_BYTES - len(data))
    assert len(data) == MAX_FORM_BYTES
    assert import_form(db, data, "f.md").outcome == "added"


def test_problem_render_names_sheet_row_and_column_and_can_be_translated(db):
    problem = one_problem(db, survey(GOOD, ("text", "where", "Where", "${first} = = 1"),
                                     header=("type", "name", "label", "relevant")))
    spanish = {"sheet %(sheet)s": "hoja %(sheet)s", "row %(row)s": "fila %(row)s",
               "column %(column)s": "columna %(column)s",
               "The expression %(source)s cannot be used: %(error)s": "No: %(source)s"}
    assert problem.render(lambda s: spanish.get(s, s)) == "hoja survey, fila 3, columna relevant: No: ${first} = = 1"


def test_a_warning_translates_its_explanation_too(db):
    [warning] = warned(db, survey(GOOD, ("select_one yn", "q", "Q", "quick"),
                                  header=("type", "name", "label", "appearance")))
    spanish = {"The appearance %(value)s is shown as %(how)s.": "La apariencia %(value)s: %(how)s.",
               "the list; the screen does not move on by itself": "la lista"}
    assert warning.render(lambda s: spanish.get(s, s)).endswith("La apariencia quick: la lista.")


# ------------------------------------------------------------------ versions

def versioned(version: str, label: str = "First") -> bytes:
    return as_md(survey(("text", "first", label),
                        extra_sheets={"settings": [["form_id", "version"], ["vf", version]]}))


def test_same_file_again_is_unchanged(db):
    assert import_form(db, versioned("1"), "vf.md").outcome == "added"
    before = forms_table(db)
    again = import_form(db, versioned("1"), "vf.md")
    assert again.outcome == "unchanged" and again.form.version == "1"
    assert forms_table(db) == before


def test_same_version_with_different_content_is_refused(db):
    import_form(db, versioned("1"), "vf.md")
    problems = refused(db, versioned("1", label="Changed"), "vf.md")
    [problem] = problems
    assert (problem.sheet, problem.column) == ("settings", "version")
    assert "vf" in problem.render() and "1" in problem.render()
    assert form_store.current_form(db, "vf").questions["first"].label == {"en": "First"}


def test_a_new_version_becomes_current_and_the_old_one_stays_loadable(db):
    import_form(db, versioned("1"), "vf.md")
    assert import_form(db, versioned("2", label="Second"), "vf.md").outcome == "added"
    current = form_store.current_form(db, "vf")
    assert current.version == "2" and current.questions["first"].label == {"en": "Second"}
    old = form_store.form_version(db, "vf", "1")
    assert old.version == "1" and old.questions["first"].label == {"en": "First"}
    assert form_store.form_version(db, "vf", "3") is None
    assert [f.version for f in form_store.all_versions(db, "vf")] == ["2", "1"]


def test_without_a_version_the_content_decides(db):
    plain = as_md(survey(GOOD))
    first = import_form(db, plain, "f.md")
    assert import_form(db, plain, "f.md").outcome == "unchanged"
    second = import_form(db, as_md(survey(GOOD, ("text", "more", "More"))), "f.md")
    assert second.outcome == "added" and second.form.version != first.form.version
    assert form_store.current_form(db, "f").version == second.form.version


# ------------------------------------------------------------------ languages

def test_any_number_of_languages_with_codes(db):
    header = ("type", "name", "label::English (en)", "label::Français (fr)", "label::العربية (ar)",
              "hint::Français (fr)")
    sheets = survey(("select_one yn", "q", "Agree?", "D'accord ?", "موافق؟", "Choisissez"), header=header)
    sheets["choices"] = [["list_name", "name", "label::English (en)", "label::Français (fr)", "label::العربية (ar)"],
                         ["yn", "yes", "Yes", "Oui", "نعم"], ["yn", "no", "No", "Non", "لا"]]
    form = import_form(db, as_xlsx(sheets), "langs.xlsx").form
    assert set(form.languages) == {"en", "fr", "ar"} and len(form.languages) == 3
    assert form.default_language == "en"  # no default_language: English when there is English
    assert form.questions["q"].label == {"en": "Agree?", "fr": "D'accord ?", "ar": "موافق؟"}
    assert form.questions["q"].hint == {"fr": "Choisissez"}
    assert form.choice_label(form.questions["q"], "yes", "ar") == "نعم"
    assert form.choice_label(form.questions["q"], "yes", "so") == "Yes"  # falls back to the default
    assert json.loads(forms_table(db)[0]["languages"]) == form.languages


@pytest.mark.parametrize("code", ["pt-BR", "fil", "zh-Hans"])
def test_language_codes_with_regions_and_three_letters(db, code):
    form = import_form(db, as_md(survey(("text", "q", "Q"), header=("type", "name", f"label::Name ({code})"),
                                        choices=False)),
                       "f.md").form
    assert form.languages == [code.lower()] and form.default_language == code.lower()


def test_a_form_in_one_coded_language_is_not_offered_in_english(db):
    form = import_form(db, as_md(survey(("text", "q", "¿Qué?"), header=("type", "name", "label::Español (es)"),
                                        choices=False)),
                       "f.md").form
    assert form.languages == ["es"] and form.default_language == "es"


def test_plain_label_column_means_one_language(db):
    form = import_form(db, as_md(survey(("text", "q", "What?"))), "f.md").form
    assert form.languages == ["en"] and form.default_language == "en"
    assert form.questions["q"].label == {"en": "What?"}
    assert form.choices["yn"][0].label == {"en": "Yes"}


def test_plain_label_column_in_the_default_language(db):
    sheets = survey(("text", "q", "¿Qué?"), extra_sheets={"settings": [["default_language"], ["Español (es)"]]})
    sheets["choices"] = [["list_name", "name", "label"], ["yn", "si", "Sí"]]
    form = import_form(db, as_md(sheets), "f.md").form
    assert form.languages == ["es"] and form.default_language == "es"
    assert form.questions["q"].label == {"es": "¿Qué?"}
    assert form.choices["yn"][0].label == {"es": "Sí"}


# ------------------------------------------------------------------ settings

def test_settings_are_honoured(db):
    header = ("type", "name", "label::English (en)", "label::Español (es)", "label::Soomaali (so)",
              "label::አማርኛ (am)")
    sheets = survey(("text", "q", "Name", "Nombre", "Magac", "ስም"), header=header, extra_sheets={
        "settings": [["form_title", "form_id", "version", "default_language"],
                     ["Encuesta de hogares", "hogares_2024", "2024-05-01", "Español (es)"]]})
    form = import_form(db, as_xlsx(sheets), "whatever_name.xlsx").form
    assert form.form_id == "hogares_2024" and form.version == "2024-05-01"
    assert form.default_language == "es"
    assert set(form.languages) == {"en", "es", "so", "am"}
    assert set(form.title.values()) == {"Encuesta de hogares"} and set(form.title) == set(form.languages)
    loaded = form_store.form_version(db, "hogares_2024", "2024-05-01")
    assert loaded == form
    assert form_store.current_form(db, "whatever_name") is None


def test_without_settings_the_file_name_is_the_form_id(db):
    form = import_form(db, as_md(survey(GOOD)), "my_survey.md").form
    assert form.form_id == "my_survey"
    assert form.title == {"en": "my_survey"}
    assert len(form.version) == 10  # a hash of the file's bytes


def test_translated_titles_in_settings(db):
    md = TITLED.encode()
    form = import_form(db, md, "titled.md").form
    assert form.title == {"en": "Wellbeing", "es": "Bienestar"}


TITLED = """| survey |
| | type | name | label::English (en) | label::Español (es) |
| | text | a | A | A |
| settings |
| | form_title | form_title::Español (es) | form_id | default_language |
| | Wellbeing | Bienestar | titled | English (en) |
"""
