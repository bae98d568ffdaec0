"""Nested repeats (issue 12): a repeat inside a repeat, answered through the HTML
pages alone (JavaScript off), with position(../..), counts and sums per instance,
stored as lists inside lists, exported as a table per repeat linked to its parent."""
from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest

from conftest import FORMS, Page as Html, Participant, drafts_of, submissions_of
from fieldkit.forms import engine
from fieldkit.forms.engine import Page
from fieldkit.forms.xlsform import load_xlsform
from fieldkit.services import export

FORM = load_xlsform((FORMS / "households.md").read_bytes(), "households.md")
VILLAGE, HOUSEHOLD, CHILD, PETS, PET, DONE = range(6)  # its screens

ANSWERS = {"village": "Hill", "done": "yes", "household": [
    {"head": "Amina", "kids": "2", "child": [{"child_age": "4"}, {"child_age": "9"}], "pets": "yes",
     "pet": [{"pet_kind": "cat"}]},
    {"head": "Ben", "kids": "1", "child": [{"child_age": "12"}], "pets": "no"}]}


def test_a_repeat_inside_a_repeat_knows_the_one_around_it_and_its_questions_go_on_after_it():
    assert [(s.repeat, s.questions) for s in FORM.screens] == [
        (None, ["village"]), ("household", ["head", "kids"]), ("child", ["child_age"]), ("household", ["pets"]),
        ("pet", ["pet_kind"]), (None, ["done"])]
    assert (FORM.repeats["child"].parent, FORM.repeats["pet"].parent, FORM.repeats["household"].parent) == (
        "household", "household", None)
    assert FORM.chain("child") == ["household", "child"] and FORM.anchor("child") == CHILD


def test_counts_positions_and_sums_are_worked_out_in_each_instance():
    final = engine.final_answers(FORM, ANSWERS)
    first, second = final["household"]
    assert [(c["child_no"], c["household_no"]) for c in first["child"] + second["child"]] == [
        ("1", "1"), ("2", "1"), ("1", "2")]
    assert (first["household_children"], first["household_ages"]) == ("2", "13")
    assert (second["household_children"], second["household_ages"]) == ("1", "12")
    assert (final["all_children"], final["all_pets"], final["second_child_of_first"]) == ("3", "1", "9")
    assert second["pet"] == []  # not relevant there: no pets


def test_a_count_inside_an_instance_follows_that_instance():
    state = engine.evaluate(FORM, dict(ANSWERS, household=[dict(ANSWERS["household"][0], kids="1")]))
    assert len(state.rows(["household", "child"], (1,))) == 1  # the second child's answers are not kept


def test_pages_go_through_each_instance_and_the_repeats_inside_it_before_the_next():
    state = engine.evaluate(FORM, ANSWERS)
    shown = [p for p in engine.all_pages(FORM, state) if engine.page_shown(FORM, p, state)]
    assert shown == [
        Page(VILLAGE), Page(HOUSEHOLD, (1,)), Page(CHILD, (1, 1)), Page(CHILD, (1, 2)), Page(PETS, (1,)),
        Page(PET, (1, 1)), Page(PET, (1, 0)), Page(HOUSEHOLD, (2,)), Page(CHILD, (2, 1)), Page(PETS, (2,)),
        Page(HOUSEHOLD, (0,)), Page(DONE)]
    assert engine.next_page(FORM, Page(PET, (1, 0)), state) == Page(HOUSEHOLD, (2,))
    assert engine.previous_page(FORM, Page(HOUSEHOLD, (2,)), state) == Page(PET, (1, 0))
    # an instance that is gone settles on the next page shown
    assert engine.settle(FORM, Page(CHILD, (2, 3)), state) == Page(PETS, (2,))
    assert not engine.page_exists(FORM, Page(CHILD, (1,)), state)  # a path as long as its repeats
    assert not engine.page_exists(FORM, Page(CHILD, (1, 0)), state)  # a count makes its instances: no list


def test_a_nested_instance_is_checked_where_it_is():
    answers = json.loads(json.dumps(ANSWERS))
    answers["household"][1]["child"][0]["child_age"] = "30"
    assert engine.first_invalid_page(FORM, answers) == Page(CHILD, (2, 1))


@pytest.fixture
def households(add_form, client):
    add_form("households.md")
    return Participant(client, "households")


def test_households_end_to_end_without_javascript_in_spanish(households, db):
    p = households
    page = p.start("es")
    page = p.answer({"village": "Colina"})
    assert "Hogar" in page.text and page.hidden_fields["_instance"] == "0"  # the households' list, empty
    assert p.post({}, action="add").status_code == 303
    page = p.current()
    assert page.hidden_fields["_instance"] == "1" and page.visible_names == ["head", "kids"]
    page = p.answer({"head": "Amina", "kids": "2"})
    assert page.hidden_fields["_instance"] == "1.1" and "Hogar 1 · Niño 1" in page.text
    assert "Edad del niño 1 del hogar 1" in page.text  # position(..) and position(../..) in the label
    response = p.post({"child_age": "30"})
    assert response.status_code == 422  # the constraint, checked inside the nested instance
    page = p.answer({"child_age": "4"})
    assert page.hidden_fields["_instance"] == "1.2" and "Edad del niño 2 del hogar 1" in page.text
    page = p.answer({"child_age": "9"})
    assert page.visible_names == ["pets"] and "Amina" in page.text
    page = p.answer({"pets": "yes"})
    assert page.hidden_fields["_instance"] == "1.0" and "Hogar 1 · Mascota" in page.text  # the pets' list
    p.post({}, action="add")
    page = p.answer({"pet_kind": "gato"})
    assert "Mascota 1: gato" in page.text
    p.post({}, action="add")
    p.answer({"pet_kind": "error"})
    assert p.post({}, action="remove-2").status_code == 303
    page = p.answer({})  # go on from the pets: back to the households' list
    assert page.hidden_fields["_instance"] == "0" and "Hogar 1: Amina" in page.text
    p.post({}, action="add")
    p.answer({"head": "Ben", "kids": "0"})  # no children: straight to the pets question
    page = p.answer({"pets": "no"})
    assert "Hogar 2: Ben" in page.text
    # change the first household's second child, through the list
    p.post({}, action="edit-1")
    p.answer({"head": "Amina", "kids": "2"})
    p.answer({"child_age": "4"})
    page = p.answer({"child_age": "10"})
    page = p.answer({"pets": "yes"})
    page = p.answer({"pet_kind": "gato"})  # the pet kept, on the way
    page = p.answer({})  # pets' list: on through the second household, as it stands
    assert page.hidden_fields["_instance"] == "2"
    p.answer({"head": "Ben", "kids": "0"})
    p.answer({"pets": "no"})
    page = p.answer({})  # households' list
    assert "Colina" in page.text
    p.answer({"done": "yes"})
    assert p.submit().status_code == 303
    [sub] = submissions_of(db, "households")
    first, second = sub["answers"]["household"]
    assert [c["child_age"] for c in first["child"]] == ["4", "10"] and first["pet"] == [{"pet_kind": "gato"}]
    assert (second["head"], second["child"], second["pet"]) == ("Ben", [], [])
    assert (sub["answers"]["all_children"], sub["answers"]["second_child_of_first"]) == ("2", "10")
    assert drafts_of(db) == []


def test_back_climbs_out_of_a_nested_instance(households):
    p = households
    p.start("en")
    p.answer({"village": "Hill"})
    p.post({}, action="add")
    p.answer({"head": "Amina", "kids": "1"})
    assert p.post({}, action="back").status_code == 303
    assert p.current().hidden_fields["_instance"] == "1"  # the household, from its first child


def test_a_draft_kept_before_nested_repeats_resumes_on_its_page(households, db):
    p = households
    p.start("en")
    p.answer({"village": "Hill"})
    p.post({}, action="add")
    db.execute("UPDATE drafts SET path = NULL, instance = 1")  # as a draft from before the path column
    assert p.current().visible_names == ["head", "kids"]


@pytest.mark.parametrize("instance", ["1.x", "1.1.1.1.1.1", "1.", "1..1", "²", "1.1", "3"])
def test_a_page_that_is_not_there_is_refused_whole(households, db, instance):
    p = households
    p.start("en")
    p.answer({"village": "Hill"})
    p.post({}, action="add")
    page = p.current()
    before = drafts_of(db)
    response = p.client.post("/f/households/q", data=dict(page.hidden_fields, _action="next", _instance=instance,
                                                          head="x", kids="1"))
    assert response.status_code == 400 and "<html" in response.get_data(as_text=True)
    assert drafts_of(db) == before


@pytest.fixture
def submitted(households, db):
    from fieldkit.services import collect
    draft = collect.start(db, FORM, "en")
    draft.row["answers"] = ANSWERS
    assert collect.submit(db, collect.Draft(FORM, draft.token, dict(draft.row, answers=ANSWERS)), "laptop")[0] == "created"
    return submissions_of(db, "households")[0]


def test_the_zip_has_a_table_per_repeat_linked_to_the_instance_it_is_in(db, submitted):
    data = b"".join(export.export_zip(db, "households"))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        read = {n: list(csv.reader(io.StringIO(archive.read(n).decode("utf-8-sig")))) for n in archive.namelist()}
    main = read["households.csv"]
    assert "household" in main[0] and "child" not in main[0]  # the households' count; children are theirs
    households = read["households-household.csv"]
    assert households[0][:2] == ["_submission_uuid", "_index"] and "child" in households[0]
    assert [(r[1], r[households[0].index("child")]) for r in households[1:]] == [("1", "2"), ("2", "1")]
    children = read["households-child.csv"]
    assert children[0][:3] == ["_submission_uuid", "_parent_index", "_index"]
    age = children[0].index("child_age")
    assert [(r[0], r[1], r[2], r[age]) for r in children[1:]] == [
        (submitted["uuid"], "1", "1", "4"), (submitted["uuid"], "1", "2", "9"), (submitted["uuid"], "2", "1", "12")]


def test_json_keeps_the_instances_inside_their_instance(db, submitted):
    [record] = json.loads("".join(export.export_json(db, "households")))
    first = record["answers"]["household"][0]
    assert first["child"] == [{"child_age": 4, "child_no": 1, "household_no": 1},
                              {"child_age": 9, "child_no": 2, "household_no": 1}]  # calculations typed
    assert first["pet"] == [{"pet_kind": "cat"}] and "child" not in record["answers"]


def test_xlsx_has_a_sheet_per_repeat_and_the_codebook_names_each(db, submitted):
    import openpyxl
    book = openpyxl.load_workbook(io.BytesIO(b"".join(export.export_xlsx(db, "households"))))
    assert book.sheetnames == ["answers", "household", "child", "pet", "codebook"]
    rows = list(book["child"].values)
    assert rows[0][:3] == ("_submission_uuid", "_parent_index", "_index") and rows[3][1:3] == (2, 1)
    codebook = {r[0]: r for r in book["codebook"].values}
    assert codebook["child"][1] == "repeat" and codebook["child"][-1] == "household"
    assert codebook["child_age"][-1] == "child"


def test_the_console_lists_each_nested_answer_under_its_instances(db, submitted, tmp_path):
    from fieldkit.web.console import answer_items
    from fieldkit import create_app
    with create_app({"DATA_DIR": tmp_path, "TESTING": True}).test_request_context():
        from flask import g
        g.lang = "en"
        items = answer_items(FORM, submitted["answers"])
    assert ("Household 1 · Child 2 · Age of child ${child_no} of household ${household_no}",
            "household[1]/child[2]/child_age", "9") in items


def test_a_central_takes_nested_answers_and_refuses_them_nested_without_end(client, db):
    from test_sync_api import push, record
    from fieldkit.store import devices
    headers = {"Authorization": f"Bearer {devices.add_device(db, 'hall')}"}
    nested = record({"consent": "yes", "r": [{"q": "1", "inner": [{"x": "2"}]}]})
    assert push(client, headers, [nested]).status_code == 200
    deep: dict = {"x": "1"}
    for _ in range(engine.MAX_DEPTH + 2):
        deep = {"r": [deep]}
    response = push(client, headers, [record(deep)])
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "bad_batch"
