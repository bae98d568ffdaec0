"""Question types and appearances beyond the first set: time, dateTime, range,
hidden, the metadata types, and select_one's minimal and likert appearances."""
import csv
import io
import re

import pytest

from conftest import FORMS, Page, submissions_of
from fieldkit.forms import engine
from fieldkit.forms.xlsform import FormImportError, Problem, load_xlsform
from fieldkit.services.export import export_csv


def load(md: str):
    return load_xlsform(md.encode("utf-8"), "f.md")


def one_row(row: str, header="| | type | name | label | parameters | appearance | default |"):
    return load(f"| survey |\n{header}\n{row}\n| choices |\n| | list_name | name | label |\n| | yn | yes | Yes |\n")


def refusal(row: str, **kw):
    with pytest.raises(FormImportError) as caught:
        one_row(row, **kw)
    [problem] = caught.value.problems
    return problem


def test_new_types_import():
    form = load_xlsform((FORMS / "t_types.md").read_bytes(), "t_types.md")
    types = {n: q.type for n, q in form.questions.items()}
    assert types["visit_time"] == "time" and types["left_at"] == "dateTime" and types["score"] == "range"
    assert (types["source"], types["started"], types["ended"], types["day"], types["device"]) == (
        "hidden", "start", "end", "today", "deviceid")
    assert form.questions["share"].parameters == {"start": "0", "end": "100", "step": "5"}
    assert form.questions["place"].appearance == "minimal" and form.questions["agree"].appearance == "likert"
    shown = {n for s in form.screens for n in s.questions}
    assert not shown & {"source", "started", "ended", "day", "device", "double"}  # never on a screen


def test_range_defaults_to_odks_parameters():
    q = one_row("| | range | r | R | | | |").questions["r"]
    assert q.parameters == {"start": "1", "end": "10", "step": "1"}


@pytest.mark.parametrize("row,column,text", [
    ("| | text | t | T | start=1 | | |", "parameters", "parameters"),
    ("| | range | r | R | start=5 end=1 step=1 | | |", "parameters", "start below end"),
    ("| | range | r | R | start=1 end=5 step=0 | | |", "parameters", "step"),
    ("| | range | r | R | start=1 end=5 step=-1 | | |", "parameters", "step"),
])
def test_refused_parameters_name_row_and_column(row, column, text):
    problem = refusal(row)
    assert (problem.sheet, problem.row, problem.column) == ("survey", 2, column)
    assert text in problem.render()


@pytest.mark.parametrize("row,column,text", [
    ("| | integer | t | T | start=1 end=4 | | |", "parameters", "end"),
    ("| | text | t | T | | sparkly | |", "appearance", "sparkly"),
])
def test_parameters_of_another_type_and_unknown_appearances_are_a_warning_at_their_cell(row, column, text):
    warnings = [Problem.from_dict(w) for w in one_row(row).warnings]
    assert {(w.sheet, w.row, w.column) for w in warnings} == {("survey", 2, column)}
    assert any(text in w.render() for w in warnings)


@pytest.mark.parametrize("value,parsed", [
    ("14:30", "14:30"), ("09:05:59", "09:05"), ("24:00", None), ("9:5", None), ("noon", None)])
def test_time_is_stored_as_hours_and_minutes(value, parsed):
    form = one_row("| | time | t | T | | | |")
    result = engine.parse_answer(form.questions["t"], [value], form)
    assert result == parsed if parsed else "hours:minutes" in result.text


@pytest.mark.parametrize("value,parsed", [
    ("2024-05-31T14:30", "2024-05-31T14:30"), ("2024-05-31 14:30:15", "2024-05-31T14:30"),
    ("2024-02-30T10:00", None), ("2024-05-31", None), ("1800-01-01T10:00", None)])
def test_datetime_is_stored_as_iso_minutes(value, parsed):
    form = one_row("| | dateTime | t | T | | | |")
    result = engine.parse_answer(form.questions["t"], [value], form)
    assert result == parsed if parsed else "year-month-day hours:minutes" in result.text


@pytest.mark.parametrize("value,parsed", [
    ("0", "0"), ("0.5", "0.5"), ("2,5", "2.5"), ("3", None), ("-0.5", None), ("0.25", None), ("x", None)])
def test_range_checks_bounds_and_step(value, parsed):
    form = one_row("| | range | r | R | start=0 end=2.5 step=0.5 | | |")
    result = engine.parse_answer(form.questions["r"], [value], form)
    assert result == parsed if parsed else "from 0 to 2.5" in result.render()


def test_range_value_is_a_number_in_expressions():
    form = load_xlsform((FORMS / "t_types.md").read_bytes(), "t_types.md")
    assert engine.final_answers(form, {"score": "4"})["double"] == "8"


def radios(page: Page, name: str) -> list[str]:
    return [i["value"] for i in page.inputs if i["name"] == name and i.get("type") == "radio"]


def walk(p, lang="en", label="What time did you arrive?"):
    page = p.start(lang)
    assert page.visible_names == ["visit_time"] and label in page.text
    assert [i["type"] for i in page.inputs if i["name"] == "visit_time"] == ["time"]
    page = p.answer({"visit_time": "09:15"})
    assert [i["type"] for i in page.inputs if i["name"] == "left_at"] == ["datetime-local"]
    page = p.answer({"left_at": "2024-05-31T17:45"})
    assert radios(page, "score") == ["1", "2", "3", "4", "5"]  # 5 values: radio buttons in a row
    assert 'class="likert"' in page.html
    page = p.answer({"score": "4"})
    [share] = [i for i in page.inputs if i["name"] == "share"]  # 21 values: a number field
    assert (share["type"], share["min"], share["max"], share["step"]) == ("number", "0", "100", "5")
    page = p.answer({"share": "35"})
    assert re.search(r'<select id="place" name="place"', page.html) and '<option value="town"' in page.html
    page = p.answer({"place": "town"})
    assert radios(page, "agree") == ["no", "maybe", "yes"] and 'class="likert"' in page.html
    page = p.answer({"agree": "yes"})
    assert "8" in page.text  # ${double} from the range
    p.answer({})
    return p


@pytest.mark.parametrize("lang,label", [("en", "What time did you arrive?"), ("es", "¿A qué hora llegó?")])
def test_end_to_end_stores_new_types_and_metadata(add_form, participant, db, lang, label):
    add_form("t_types.md")
    p = participant("t_types")
    walk(p, lang, label)
    for page_html in (p.current().html,):
        assert 'name="source"' not in page_html and "poster" not in page_html  # hidden never rendered
    assert p.submit().status_code == 303
    [sub] = submissions_of(db, "t_types")
    answers = sub["answers"]
    assert {k: answers[k] for k in ("visit_time", "left_at", "score", "share", "place", "agree", "double",
                                    "source")} == {
        "visit_time": "09:15", "left_at": "2024-05-31T17:45", "score": "4", "share": "35",
        "place": "town", "agree": "yes", "double": "8", "source": "poster"}
    assert answers["started"] == sub["started_at"] and answers["ended"] == sub["submitted_at"]
    assert answers["day"] == sub["submitted_at"][:10] and re.fullmatch(r"\d{4}-\d\d-\d\d", answers["day"])
    assert answers["device"] == sub["device_id"] and answers["device"]


@pytest.mark.parametrize("screen,answers,message", [
    (0, {"visit_time": "25:61"}, "Please enter a time as hours:minutes, like 14:30."),
    (1, {"left_at": "31/05/2024 17:45"}, "Please enter a date and time as year-month-day hours:minutes"),
    (2, {"score": "6"}, "Please choose a number from 1 to 5."),
    (3, {"share": "33"}, "Please choose a number from 0 to 100 in steps of 5."),
])
def test_invalid_answers_are_422_with_the_message(add_form, participant, screen, answers, message):
    add_form("t_types.md")
    p = participant("t_types")
    p.start("en")
    before = [{"visit_time": "09:15"}, {"left_at": ""}, {"score": "4"}][:screen]
    for step in before:
        p.answer(step)
    response = p.post(answers)
    assert response.status_code == 422
    assert any(e.startswith(message) for e in Page(response.get_data(as_text=True)).errors)


def test_hidden_and_metadata_cannot_be_posted(add_form, participant):
    add_form("t_types.md")
    p = participant("t_types")
    p.start("en")
    assert p.post({"visit_time": "09:15", "source": "forged"}).status_code == 400
    assert p.post({"visit_time": "09:15", "started": "2000-01-01"}).status_code == 400


def test_export_carries_the_new_columns(add_form, participant, db):
    add_form("t_types.md")
    walk(participant("t_types")).submit()
    rows = list(csv.reader(io.StringIO("".join(export_csv(db, "t_types")).lstrip("\ufeff"))))
    record = dict(zip(rows[0], rows[1]))
    for column, value in {"visit_time": "09:15", "left_at": "2024-05-31T17:45", "score": "4", "share": "35",
                          "source": "poster"}.items():
        assert record[column] == value
    for column in ("started", "ended", "day", "device"):
        assert record[column]
