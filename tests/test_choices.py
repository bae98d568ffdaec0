"""Cascading choices (choice_filter), or_other, and a Likert block (issue 8):
tests/forms/cascade.md in English and Somali, answered through the HTML pages
with JavaScript off, checked in storage and in the export."""
import csv
import io

import pytest

from conftest import FORMS, Page, Participant, submissions_of
from fieldkit.forms import engine, expr
from fieldkit.forms.xlsform import FormImportError, load_xlsform
from fieldkit.services import export
from fieldkit.services.forms import own_words

CASCADE = load_xlsform((FORMS / "cascade.md").read_bytes(), "cascade.md", translate=own_words)


def offered(name: str, **answers) -> list[str]:
    state = engine.evaluate(CASCADE, answers)
    return [c.name for c in engine.choices_for(CASCADE, CASCADE.questions[name], state)]


def test_choice_filter_reads_the_choices_sheet_columns():
    assert CASCADE.questions["district"].choice_filter == ["=", ["col", "region"], ["ref", "region"]]
    assert CASCADE.choices["district"][0].columns == {"region": "north"}
    assert offered("district", region="north") == ["n1", "n2"]
    assert offered("district", region="south") == ["s1"]
    assert offered("district") == []  # no region yet: nothing to choose from, as in ODK
    assert offered("shift", sector="farm") == ["day"] and offered("shift", sector="care") == ["day", "night"]


def test_a_bare_name_is_only_a_column_inside_choice_filter():
    # elsewhere it is, as in Collect, a relative path that selects nothing
    assert "col" not in str(expr.parse("region = ${region}"))
    assert expr.parse("starts-with(name, 'n')", columns=True) == ["call", "starts-with", ["col", "name"], ["str", "n"]]


def test_a_broken_choice_filter_is_refused_at_its_cell():
    md = ("| survey |\n| | type | name | label | choice_filter |\n| | select_one l | q | Q | region = = 1 |\n"
          "| choices |\n| | list_name | name | label |\n| | l | a | A |\n")
    with pytest.raises(FormImportError) as caught:
        load_xlsform(md.encode(), "f.md")
    [problem] = caught.value.problems
    assert (problem.sheet, problem.row, problem.column) == ("survey", 2, "choice_filter")


def test_or_other_adds_a_translated_choice_and_question():
    sector = CASCADE.choices["sector"]
    assert sector[-1].name == "other"
    other = CASCADE.questions["sector_other"]
    assert other.relevant == ["call", "selected", ["ref", "sector"], ["str", "other"]]
    assert other.label["en"] == "Please specify" and other.label["so"] != "Please specify"
    assert sector[-1].label["so"] != "Other"
    assert CASCADE.screens[2].questions == ["sector", "sector_other", "shift"]


def test_a_choice_the_filter_no_longer_offers_is_asked_again():
    answers = {"region": "south", "district": "n1", "sector": "farm", "safe_home": "1", "safe_work": "2"}
    assert engine.first_invalid_page(CASCADE, answers) == engine.Page(1)  # the district page


@pytest.fixture
def participant(add_form, client):
    add_form("cascade.md")
    return Participant(client, "cascade")


def choice_values(page: Page, name: str) -> list[str]:
    import re
    select = re.search(rf'<select id="{name}" name="{name}"[^>]*>(.*?)</select>', page.html, re.S)
    if select:
        return [v for v in re.findall(r'<option value="([^"]*)"', select.group(1)) if v]
    return [i["value"] for i in page.inputs if i["name"] == name]


@pytest.mark.parametrize("lang,other_label", [("en", "Please specify"), ("so", None)])
def test_cascade_end_to_end_without_javascript(participant, db, lang, other_label):
    page = participant.start(lang)
    assert choice_values(page, "region") == ["north", "south"]
    page = participant.answer({"region": "north"})
    assert choice_values(page, "district") == ["n1", "n2"]  # a drop-down (minimal), only the north's
    # a district of another region is refused, whatever the page offered
    response = participant.post({"district": "s1"})
    assert response.status_code == 422
    page = participant.answer({"district": "n2"})
    assert choice_values(page, "shift") == ["day"]
    # choosing "care" changes what shift offers: the page comes back to show it (no JavaScript)
    response = participant.post({"sector": "care"})
    assert response.status_code == 200
    page = Page(response.get_data(as_text=True))
    assert choice_values(page, "shift") == ["day", "night"]
    # "other" asks to specify (shown on Next without JavaScript)
    response = participant.post({"sector": "other", "shift": "day"})
    page = Page(response.get_data(as_text=True))
    assert "sector_other" in page.visible_names
    if other_label:
        assert other_label in page.text
    page = participant.answer({"sector": "other", "sector_other": "Street vending", "shift": "day"})
    assert [n for n in page.visible_names] == ["safe_home", "safe_work", "heard"]
    assert 'class="likert"' in page.html
    participant.answer({"safe_home": "3", "safe_work": "1"})
    assert participant.submit().status_code == 303
    [sub] = submissions_of(db, "cascade")
    assert {k: sub["answers"][k] for k in ("region", "district", "sector", "sector_other", "shift", "safe_home",
                                           "safe_work", "heard")} == {
        "region": "north", "district": "n2", "sector": "other", "sector_other": "Street vending",
        "shift": "day", "safe_home": "3", "safe_work": "1", "heard": ""}
    rows = list(csv.DictReader(io.StringIO("".join(export.export_csv(db, "cascade")).lstrip("\ufeff"))))
    assert rows[0]["district"] == "n2" and rows[0]["sector_other"] == "Street vending"


def test_changing_the_region_sends_the_participant_back_to_the_district(participant, db):
    participant.start("en")
    participant.answer({"region": "north"})
    participant.answer({"district": "n1"})
    participant.post({}, action="back")
    participant.post({}, action="back")
    participant.answer({"region": "south"})
    page = participant.current()
    assert choice_values(page, "district") == ["s1"]
    participant.post({}, action="back")
    page = participant.current()
    participant.answer({"region": "south"})
    participant.answer({"district": "s1"})
    participant.answer({"sector": "farm", "shift": "day"})
    participant.answer({"safe_home": "2", "safe_work": "2"})
    assert participant.submit().status_code == 303
    assert submissions_of(db, "cascade")[0]["answers"]["district"] == "s1"
