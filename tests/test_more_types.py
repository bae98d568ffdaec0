"""read_only, trigger and multiline (issue 8), through the HTML pages with
JavaScript off: tests/forms/t_more.md."""
import datetime as dt

import pytest

from conftest import FORMS, Participant, submissions_of
from fieldkit.forms.xlsform import FormImportError, load_xlsform

FORM = load_xlsform((FORMS / "t_more.md").read_bytes(), "t_more.md")


def one_row(row: str):
    return load_xlsform(f"| survey |\n| | type | name | label | read_only | trigger | calculation |\n{row}\n".encode(),
                        "f.md")


def test_read_only_and_trigger_import():
    assert FORM.questions["site"].read_only and FORM.questions["rooms_each"].read_only
    assert FORM.questions["people_at"].trigger == ["people"]
    assert FORM.screens[0].questions == ["site", "people"]


@pytest.mark.parametrize("row,column,text", [
    ("| | integer | x | X | | | |\n| | text | t | T | ${x} = 1 | | |", "read_only", "yes or no"),
])
def test_what_fieldkit_cannot_do_with_them_is_refused_at_its_cell(row, column, text):
    with pytest.raises(FormImportError) as caught:
        one_row(row)
    [problem] = caught.value.problems
    assert problem.column == column and text in problem.render()


@pytest.fixture
def participant(add_form, client):
    add_form("t_more.md")
    return Participant(client, "t_more")


def test_read_only_is_shown_never_posted_and_trigger_keeps_its_moment(participant, db):
    page = participant.start("es")
    assert page.visible_names == ["people"]  # the read-only site is shown as text, not an input
    assert "Church hall" in page.text and 'class="readonly-value"' in page.html
    # a browser that sends the read-only question anyway is refused whole
    assert participant.post({"people": "4", "site": "Elsewhere"}).status_code == 400
    before = dt.datetime.now().replace(microsecond=0) - dt.timedelta(seconds=1)
    page = participant.answer({"people": "4"})
    assert "1" in page.text  # rooms for each person: 4 div 4, worked out and shown
    participant.post({}, action="back")
    participant.answer({"people": "4"})  # the same answer again: the trigger does not run
    page = participant.answer({})
    assert '<textarea id="story"' in page.html
    page = participant.answer({"story": "Two lines\nof text"})
    assert '<select id="worries-0" name="worries">' in page.html
    # two answers in the same place: asked again, with what was chosen kept
    response = participant.post({"worries": ["money@1", "housing@1", "health@2"]})
    assert response.status_code == 422 and "su propio lugar" in response.get_data(as_text=True)  # in Spanish
    participant.answer({"worries": ["money@2", "housing@3", "health@1"]})
    assert participant.submit().status_code == 303
    [sub] = submissions_of(db, "t_more")
    answers = sub["answers"]
    assert answers["worries"] == "health money housing"  # first place first, as ODK stores a rank
    assert answers["site"] == "Church hall" and answers["rooms_each"] == "1" and answers["story"] == "Two lines\nof text"
    moment = dt.datetime.fromisoformat(answers["people_at"])  # now() with its offset, as ODK writes it
    assert moment.tzinfo is not None
    moment = moment.astimezone().replace(tzinfo=None)
    assert before.replace(microsecond=0) <= moment <= dt.datetime.now() + dt.timedelta(seconds=1)


@pytest.mark.parametrize("values,expected", [
    (["money@1", "housing@2", "health@3"], "money housing health"), ([], ""), (["money@", "housing@", "health@"], ""),
    (["money@1"], None), (["money@1", "money@2", "health@3"], None), (["cash@1", "housing@2", "health@3"], None),
    (["money@1", "housing@2", "health@x"], None), (["money@1", "housing@2", "health@4"], None),
])
def test_rank_answers(values, expected):
    from fieldkit.forms import engine
    parsed = engine.parse_answer(FORM.questions["worries"], values, FORM)
    assert parsed == expected if expected is not None else not isinstance(parsed, str)


def test_a_trigger_runs_again_when_its_question_changes(participant, db, monkeypatch):
    participant.start("en")
    participant.answer({"people": "2"})
    first = _draft_answer(db, "people_at")
    participant.post({}, action="back")
    participant.answer({"people": "2"})
    assert _draft_answer(db, "people_at") == first  # unchanged answer: the moment stays
    participant.post({}, action="back")
    participant.answer({"people": "3"})
    assert _draft_answer(db, "people_at")  # changed: worked out anew (it may be the same second)


def _draft_answer(db, name):
    from conftest import drafts_of
    [draft] = drafts_of(db)
    return draft["answers"][name]


def test_read_only_wins_over_other_widgets():
    form = load_xlsform(b"| survey |\n| | type | name | label | read_only | appearance | default |\n"
                        b"| | select_one yn | q | Q | yes | minimal | yes |\n| choices |\n"
                        b"| | list_name | name | label |\n| | yn | yes | Yes |\n| | yn | no | No |\n", "f.md")
    from fieldkit import create_app
    from fieldkit.forms import engine
    from fieldkit.web.present import question_view
    app = create_app({"DATA_DIR": __import__("tempfile").mkdtemp(), "TESTING": True, "FONTS_IN_BACKGROUND": False})
    with app.test_request_context():
        state = engine.evaluate(form, engine.defaults(form))
        view = question_view(form, form.questions["q"], state, "en", None, None, hidden=False)
    assert view["widget"] == "readonly" and view["shown_value"] == "Yes"
