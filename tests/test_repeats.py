"""Repeats (issue 8): a household roster answered through the HTML pages alone
(JavaScript off), stored as a list per repeat, exported as a table per repeat."""
import csv
import io
import json
import zipfile

import pytest

from conftest import FORMS, Page, Participant, drafts_of, submissions_of
from fieldkit.forms import engine, expr
from fieldkit.forms.xlsform import FormImportError, load_xlsform
from fieldkit.services import export

ROSTER = load_xlsform((FORMS / "roster.md").read_bytes(), "roster.md")
KIDS, CHILD, MEMBER, ENOUGH = range(4)  # the roster's screens


def load(md: str):
    return load_xlsform(md.encode("utf-8"), "f.md")


# ------------------------------------------------------------------ import

def test_a_repeat_is_one_screen_and_its_questions_know_it():
    assert [(s.name, s.repeat) for s in ROSTER.screens] == [
        ("kids", None), ("child", "child"), ("member", "member"), ("enough", None)]
    assert ROSTER.repeats["child"].count == ["ref", "kids"]
    assert ROSTER.repeats["member"].count is None  # the participant adds adults
    assert ROSTER.questions["age"].repeat == "member" and ROSTER.questions["adults"].repeat is None
    # a sum over a repeat comes after the questions it adds up
    assert ROSTER.order.index("adults") > ROSTER.order.index("age")


def test_the_model_survives_json_and_forms_without_repeats_keep_their_shape():
    from fieldkit.forms.model import Form
    again = Form.from_dict(json.loads(json.dumps(ROSTER.to_dict())))
    assert again == ROSTER
    plain = load("| survey |\n| | type | name | label |\n| | text | a | A |\n")
    data = plain.to_dict()
    assert "repeats" not in data and "repeat" not in data["questions"]["a"] and "repeat" not in data["screens"][0]


def test_a_group_around_a_repeat_continues_on_a_page_of_its_own_after_it():
    form = load("| survey |\n| | type | name | label |\n| | begin_group | g | G |\n| | text | a | A |\n"
                "| | begin_repeat | r | R |\n| | text | b | B |\n| | end_repeat | | |\n| | text | c | C |\n"
                "| | end_group | | |\n")
    assert [(s.name, s.repeat, s.questions) for s in form.screens] == [
        ("g", None, ["a"]), ("r", "r", ["b"]), ("g", None, ["c"])]


def test_a_circle_through_repeat_count_is_refused():
    with pytest.raises(FormImportError) as caught:
        load("| survey |\n| | type | name | label | repeat_count | calculation |\n"
             "| | begin_repeat | r | R | ${n} | |\n| | text | b | B | | |\n| | end_repeat | | | | |\n"
             "| | calculate | n | | | count(${b}) |\n")
    assert "circle" in caught.value.problems[0].render()


# ------------------------------------------------------------------ the engine

def roster_answers(**top):
    return dict({"kids": "2", "child": [{"child_age": "4"}, {"child_age": "9", "school": "yes"}],
                 "member": [{"name": "Amina", "age": "34", "works": "yes"}, {"name": "Hodan", "age": "70"}]}, **top)


def test_functions_over_repeats():
    state = engine.evaluate(ROSTER, roster_answers())
    assert state.values["adults"] == "2"
    assert state.values["oldest"] == "70" and state.values["youngest"] == "34"
    assert state.values["child_years"] == "13"
    assert state.values["first_adult"] == "Amina"
    assert [row.values["child_no"] for row in state.instances["child"]] == ["1", "2"]


def test_relevance_is_per_instance():
    state = engine.evaluate(ROSTER, roster_answers())
    first, second = state.instances["member"]
    assert "works" in first.relevant and "works" not in second.relevant  # 70 is not under 65
    assert "school" not in state.instances["child"][0].relevant  # a 4-year-old
    assert "school" in state.instances["child"][1].relevant


def test_repeat_count_decides_the_instances_whatever_the_draft_holds():
    state = engine.evaluate(ROSTER, roster_answers(kids="1"))
    assert len(state.instances["child"]) == 1
    assert engine.final_answers(ROSTER, roster_answers(kids="1"))["child"] == [
        {"child_age": "4", "school": "", "child_no": "1"}]
    assert engine.evaluate(ROSTER, roster_answers(kids="0")).instances["child"] == []
    # a count that is not a number, or far too big, is held to 0..MAX_INSTANCES
    assert engine.evaluate(ROSTER, roster_answers(kids="")).instances["child"] == []
    assert len(engine.evaluate(ROSTER, roster_answers(kids="5000")).instances["child"]) == engine.MAX_INSTANCES


def test_constraints_are_checked_in_each_instance():
    answers = roster_answers(member=[{"name": "Amina", "age": "34"}, {"name": "Kid", "age": "12"}])
    assert engine.first_invalid_page(ROSTER, answers) == engine.Page(MEMBER, (2,))
    answers["member"][1]["age"] = "19"
    assert engine.first_invalid_page(ROSTER, dict(answers, enough="yes")) is None


def test_pages_run_through_every_instance_and_the_list_page():
    state = engine.evaluate(ROSTER, roster_answers())
    assert engine.all_pages(ROSTER, state) == [engine.Page(KIDS), engine.Page(CHILD, (1,)), engine.Page(CHILD, (2,)), engine.Page(MEMBER, (1,)),
                                              engine.Page(MEMBER, (2,)), engine.Page(MEMBER, (0,)), engine.Page(ENOUGH)]
    assert engine.next_page(ROSTER, engine.Page(CHILD, (2,)), state) == engine.Page(MEMBER, (1,))
    assert engine.previous_page(ROSTER, engine.Page(MEMBER, (0,)), state) == engine.Page(MEMBER, (2,))
    assert engine.previous_page(ROSTER, engine.end_page(ROSTER), state) == engine.Page(ENOUGH)
    # an instance that is gone settles on the next page shown
    assert engine.settle(ROSTER, engine.Page(CHILD, (5,)), state) == engine.Page(MEMBER, (1,))


@pytest.mark.parametrize("source,expected", [
    ("count(${r})", 3.0), ("sum(${n})", 6.0), ("max(${n})", 3.0), ("min(${n}, 0)", 0.0),
    ("indexed-repeat(${n}, ${r}, 2)", 2.0), ("indexed-repeat(${n}, ${r}, 9)", ""),
])
def test_nodeset_functions_on_their_own(source, expected):
    rows = {"n": [1.0, 2.0, 3.0], "r": ["", "", ""]}
    ctx = expr.Context(values=lambda name: rows[name][0], nodes=lambda name: rows[name])
    result = expr.evaluate(expr.parse(source), ctx)
    assert result == expected or expr.to_string(result) == expr.to_string(expected)


def test_position_of_the_instance_and_nan_outside_one():
    tree = expr.parse("position(..)")
    assert tree == ["call", "position"]
    assert expr.evaluate(tree, expr.Context(values=lambda n: "", position=3)) == 3.0
    assert expr.to_string(expr.evaluate(tree, expr.Context(values=lambda n: ""))) == ""


def test_a_sum_with_an_empty_answer_is_empty_as_in_odk():
    ctx = expr.Context(values=lambda n: "", nodes=lambda name: [1.0, ""])
    assert expr.to_string(expr.evaluate(expr.parse("sum(${n})"), ctx)) == ""


# ------------------------------------------------------------------ through the pages, JavaScript off

@pytest.fixture
def roster(add_form, client):
    add_form("roster.md")
    return Participant(client, "roster")


def test_roster_end_to_end_without_javascript(roster, db, client):
    page = roster.start("en")
    assert page.visible_names == ["kids"]
    page = roster.answer({"kids": "2"})
    assert "Child 1" in page.text and page.hidden_fields["_instance"] == "1"
    assert page.visible_names == ["child_age"]  # school waits for the age
    # too old for this repeat: the constraint is checked inside the instance
    response = roster.post({"child_age": "30"})
    assert response.status_code == 422 and "Under 18" in Page(response.get_data(as_text=True)).errors
    page = roster.answer({"child_age": "4"})
    assert "Child 2" in page.text and "Age of child 2" in page.text  # position(..) in the label
    # school appears once the age is known to be 5 or more (without JavaScript: shown on Next)
    response = roster.post({"child_age": "9"})
    assert response.status_code == 200 and "More questions appeared" in response.get_data(as_text=True)
    page = roster.answer({"child_age": "9", "school": "yes"})
    # the adults: a list page, empty, then add one
    assert "None added yet" in page.text and page.hidden_fields["_instance"] == "0"
    response = roster.post({}, action="add")
    assert response.status_code == 303
    page = roster.current()
    assert "Adult 1" in page.text and page.visible_names == ["name", "age"]  # works waits for the age
    page = roster.answer({"name": "Amina", "age": "34", "works": "yes"})
    assert "Adult 1: Amina" in page.text and "Add another" in page.text
    roster.post({}, action="add")
    page = roster.answer({"name": "Hodan", "age": "70"})
    roster.post({}, action="add")
    page = roster.answer({"name": "Mistake", "age": "40", "works": "no"})
    assert "Adult 3: Mistake" in page.text
    assert roster.post({}, action="remove-3").status_code == 303
    page = roster.current()
    assert "Mistake" not in page.text and "Adult 2: Hodan" in page.text
    # change an instance, then come back to the list
    roster.post({}, action="edit-1")
    page = roster.current()
    assert page.hidden_fields["_instance"] == "1"
    page = roster.answer({"name": "Amina", "age": "35", "works": "yes"})
    assert "Adult 2" in page.text and page.hidden_fields["_instance"] == "2"
    page = roster.answer({"name": "Hodan", "age": "70"})
    page = roster.answer({})  # Next from the list page
    assert "enough room for 2 adults" in page.text
    roster.answer({"enough": "yes"})
    assert roster.submit().status_code == 303
    [sub] = submissions_of(db, "roster")
    answers = sub["answers"]
    assert answers["member"] == [{"name": "Amina", "age": "35", "works": "yes"},
                                 {"name": "Hodan", "age": "70", "works": ""}]
    assert answers["child"] == [{"child_age": "4", "school": "", "child_no": "1"},
                                {"child_age": "9", "school": "yes", "child_no": "2"}]
    assert (answers["adults"], answers["oldest"], answers["child_years"], answers["first_adult"]) == (
        "2", "70", "13", "Amina")
    assert drafts_of(db) == []


def test_back_walks_through_instances(roster):
    roster.start("en")
    roster.answer({"kids": "1"})
    roster.answer({"child_age": "3"})
    response = roster.post({}, action="back")  # from the adults' list page
    assert response.status_code == 303
    page = roster.current()
    assert "Child 1" in page.text and page.hidden_fields["_instance"] == "1"


def test_lowering_the_count_drops_the_extra_instances(roster, db):
    roster.start("en")
    roster.answer({"kids": "2"})
    roster.answer({"child_age": "3"})
    roster.answer({"child_age": "4"})
    roster.post({}, action="back")  # list page -> child 2
    roster.post({}, action="back")  # -> child 1
    roster.post({}, action="back")  # -> kids
    page = roster.current()
    assert page.visible_names == ["kids"]
    page = roster.answer({"kids": "1"})
    page = roster.answer({"child_age": "3"})
    assert "None added yet" in page.text  # child 2 is gone: straight to the adults
    roster.answer({})
    roster.answer({"enough": "no"}) if "enough" in roster.current().visible_names else None
    assert roster.submit().status_code == 303
    [sub] = submissions_of(db, "roster")
    assert len(sub["answers"]["child"]) == 1 and sub["answers"]["member"] == []


def test_an_instance_is_checked_before_moving_on_and_back_is_not(roster, db):
    roster.start("en")
    roster.answer({"kids": "0"})
    roster.post({}, action="add")
    roster.post({"name": "", "age": ""}, action="back")  # back keeps what is there, unchecked
    assert roster.current().visible_names == ["kids"]
    page = roster.answer({"kids": "0"})
    assert "Adult 1" in page.text and page.hidden_fields["_instance"] == "1"  # the walk goes through it
    response = roster.post({"name": "", "age": ""})
    assert response.status_code == 422
    assert Page(response.get_data(as_text=True)).errors == ["This question needs an answer."] * 2
    assert drafts_of(db)[0]["instance"] == 1


@pytest.mark.parametrize("fields", [
    {"_action": "remove-9"}, {"_action": "edit-0"}, {"_action": "remove"}, {"_action": "dance"},
    {"_action": "add", "name": "x"}, {"_instance": "x"}, {"_instance": "99999999"},
])
def test_bad_list_page_posts_are_refused_whole(roster, db, fields):
    roster.start("en")
    roster.answer({"kids": "0"})
    page = roster.current()
    before = drafts_of(db)
    data = dict(page.hidden_fields, _action="next")
    data.update(fields)
    response = roster.client.post("/f/roster/q", data=data)
    assert response.status_code == 400
    assert "<html" in response.get_data(as_text=True)  # the error page, in the participant's language
    assert drafts_of(db) == before


def test_an_instance_beyond_the_count_is_refused(roster, db):
    roster.start("en")
    page = roster.answer({"kids": "1"})
    data = dict(page.hidden_fields, _action="next", _instance="2", child_age="3")
    assert roster.client.post("/f/roster/q", data=data).status_code == 400


def test_adding_beyond_the_limit_says_so(roster, monkeypatch):
    monkeypatch.setattr(engine, "MAX_INSTANCES", 1)
    roster.start("es")
    roster.answer({"kids": "0"})
    roster.post({}, action="add")
    roster.answer({"name": "Ana", "age": "30", "works": "no"})
    page = roster.current()
    assert "Añadir" not in page.text  # no Add button once full
    response = roster.post({}, action="add")
    assert response.status_code == 422
    assert "1" in Page(response.get_data(as_text=True)).text


def test_list_page_in_spanish(roster):
    roster.start("es")
    page = roster.answer({"kids": "0"})
    assert page.lang == "es" and "Adulto" in page.text and "None added yet" not in page.text


# ------------------------------------------------------------------ exports

@pytest.fixture
def two_households(roster, db):
    for kids, adults in (("1", [("Amina", "34", "yes")]), ("0", [("Bo", "20", "no"), ("=cmd", "50", "no")])):
        roster.start("en")
        roster.answer({"kids": kids})
        if kids == "1":
            roster.answer({"child_age": "7", "school": "no"})
        for name, age, works in adults:
            roster.post({}, action="add")
            roster.answer({"name": name, "age": age, "works": works})
        roster.answer({})
        roster.answer({"enough": "yes"})
        assert roster.submit().status_code == 303
    return submissions_of(db, "roster")


def test_csv_main_table_counts_instances(two_households, db):
    text = "".join(export.export_csv(db, "roster"))
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(rows) == 2
    assert sorted(r["member"] for r in rows) == ["1", "2"] and "name" not in rows[0]


def test_zip_has_a_table_per_repeat_linked_by_uuid(two_households, db):
    data = b"".join(export.export_zip(db, "roster"))
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert sorted(archive.namelist()) == ["roster-child.csv", "roster-member.csv", "roster.csv"]
    members = list(csv.DictReader(io.StringIO(archive.read("roster-member.csv").decode("utf-8-sig"))))
    uuids = {s["uuid"] for s in two_households}
    assert [(m["_index"], m["name"]) for m in members] in (
        [("1", "Amina"), ("1", "Bo"), ("2", "'=cmd")], [("1", "Bo"), ("2", "'=cmd"), ("1", "Amina")])
    assert {m["_submission_uuid"] for m in members} == uuids  # a formula is neutralised above, too
    children = list(csv.DictReader(io.StringIO(archive.read("roster-child.csv").decode("utf-8-sig"))))
    assert [(c["child_age"], c["school"], c["child_no"]) for c in children] == [("7", "no", "1")]


def test_xlsx_has_a_sheet_per_repeat(two_households, db):
    from openpyxl import load_workbook
    book = load_workbook(io.BytesIO(b"".join(export.export_xlsx(db, "roster"))), read_only=True)
    assert book.sheetnames == ["answers", "child", "member", "codebook"]
    member = [list(r) for r in book["member"].iter_rows(values_only=True)]
    assert member[0][:4] == ["_submission_uuid", "_index", "name", "age"]
    assert sorted((r[1], r[3]) for r in member[1:]) == [(1, 20), (1, 34), (2, 50)]  # numbers stay numbers
    codebook = [list(r) for r in book["codebook"].iter_rows(values_only=True)]
    at = codebook[0].index("repeat")
    repeat_of = {row[0]: (row + [None] * at)[at] for row in codebook[1:]}
    assert repeat_of["age"] == "member" and repeat_of["kids"] is None


def test_json_nests_instances(two_households, db):
    records = json.loads("".join(export.export_json(db, "roster")))
    members = sorted((m["name"], m["age"]) for r in records for m in r["answers"]["member"])
    assert members == [("=cmd", 50), ("Amina", 34), ("Bo", 20)]


def test_console_shows_each_instance(two_households, signed_in, app, db):
    client = signed_in("coordinator")
    listing = client.get("/console/forms/roster/submissions").get_data(as_text=True)
    assert listing.count("<td") > 0
    uuid = next(s["uuid"] for s in two_households if len(s["answers"]["member"]) == 2)
    page = client.get(f"/console/submissions/{uuid}").get_data(as_text=True)
    assert "Adult 2 · Age" in page and "=cmd" in page


def test_repeats_travel_through_sync_validation():
    from fieldkit.services.sync import _plain_answers
    assert _plain_answers({"a": "1", "member": [{"name": "x", "age": "3"}]})
    assert _plain_answers({"member": [{"name": "x", "kids": [{"age": "3"}]}]})  # a nested repeat
    deep: dict = {"x": "1"}
    for _ in range(engine.MAX_DEPTH + 1):
        deep = {"r": [deep]}
    assert not _plain_answers(deep)  # deeper than any form's pages go
    assert not _plain_answers({"member": [{"name": {"x": 1}}]})


def test_instances_a_count_makes_start_from_the_defaults():
    form = load("| survey |\n| | type | name | label | repeat_count | default |\n| | integer | n | N | | |\n"
                "| | begin_repeat | r | R | ${n} | |\n| | integer | size | Size | | 3 |\n| | end_repeat | | | | |\n")
    state = engine.evaluate(form, {"n": "2", "r": [{"size": "5"}]})
    assert [row.values["size"] for row in state.instances["r"]] == ["5", "3"]
