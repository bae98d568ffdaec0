"""The form engine on its own (fieldkit.forms.engine): relevance, calculations,
validation, interpolation, navigation. No Flask, no database."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings, strategies as st

from fieldkit.forms import engine
from fieldkit.forms.engine import MAX_INT, MAX_TEXT, Page
from fieldkit.forms.xlsform import load_xlsform
from fieldkit.messages import Message

NOW = dt.datetime(2024, 6, 15, 12, 0, 0)


def form_of(md: str, name: str = "t_engine.md"):
    return load_xlsform(md.encode(), name)


FORM = form_of("""
| survey |
|  | type | name | label::English (en) | label::Español (es) | required | relevant | constraint | calculation |
|  | select_one yn | consent | Agree? | ¿Acepta? | yes | | | |
|  | begin_group | home | Home | Hogar | | ${consent} = 'yes' | | |
|  | integer | people | People | Personas | yes | | . >= 1 and . <= 20 | |
|  | integer | children | Children | Niños | | ${people} > 1 | . < ${people} | |
|  | end_group | | | | | | | |
|  | calculate | half | | | | | | ${double} div 4 |
|  | calculate | double | | | | | | ${people} * 2 |
|  | select_multiple income | income | Income | Ingreso | | | | |
|  | select_one yn | pet | Pet? | ¿Mascota? | | | | |
|  | text | pet_name | Name of the pet | Nombre de la mascota | ${pet} = 'yes' | | string-length(.) >= 2 | |
|  | note | summary | ${people} people, income: ${income}, pet: ${pet} | ${people} personas, ingreso: ${income}, mascota: ${pet} | | | | |
|  | date | visit | Visit | Visita | | | . <= today() | |
| choices |
|  | list_name | name | label::English (en) | label::Español (es) |
|  | yn | yes | Yes | Sí |
|  | yn | no | No | No |
|  | income | work | Work | Trabajo |
|  | income | benefits | Benefits | Ayudas |
|  | income | other | Other | Otro |
| settings |
|  | form_id | version | default_language |
|  | t_engine | 1 | English (en) |
""")

SCREEN = {s.name: i for i, s in enumerate(FORM.screens)}


def state(answers: dict, lang="en"):
    return engine.evaluate(FORM, answers, now=NOW, lang=lang)


def q(name):
    return FORM.questions[name]


# ------------------------------------------------------------------ relevance

def test_question_inside_a_non_relevant_group_is_non_relevant_and_cleared():
    answers = {"consent": "no", "people": "5", "children": "2"}
    s = state(answers)
    assert "people" not in s.relevant and "children" not in s.relevant
    assert s.values["people"] == "" and s.values["children"] == ""
    final = engine.final_answers(FORM, answers, now=NOW)
    assert final["people"] == "" and final["children"] == ""
    assert final["double"] == "" and final["half"] == ""  # what depended on them too
    assert final["consent"] == "no"
    assert "summary" not in final  # notes are not stored
    assert set(final) == set(FORM.questions) - {"summary"}


def test_the_same_answers_are_kept_when_the_group_is_relevant():
    final = engine.final_answers(FORM, {"consent": "yes", "people": "5", "children": "2"}, now=NOW)
    assert (final["people"], final["children"], final["double"], final["half"]) == ("5", "2", "10", "2.5")


def test_a_screen_whose_questions_are_all_non_relevant_is_skipped():
    s = state({"consent": "no"})
    assert engine.next_page(FORM, Page(SCREEN["consent"]), s) == Page(SCREEN["income"])
    assert engine.previous_page(FORM, Page(SCREEN["income"]), s) == Page(SCREEN["consent"])
    s = state({"consent": "yes"})
    assert engine.next_page(FORM, Page(SCREEN["consent"]), s) == Page(SCREEN["home"])


@pytest.mark.parametrize("relevant", ["${n} > 0", "${n} < 5", "${n} >= 0", "${n} <= 5", "${n} = 0",
                                      "${n} + 1 > 0", "${n} * 1 = 0"])
def test_empty_compared_with_a_number_is_false_in_relevance(relevant):
    form = form_of(f"""
| survey |
|  | type | name | label | relevant |
|  | integer | n | N | |
|  | text | t | T | {relevant} |
""")
    assert "t" not in engine.evaluate(form, {}).relevant
    assert "t" not in engine.evaluate(form, {"n": ""}).relevant


def test_a_number_makes_the_same_relevance_true():
    form = form_of("""
| survey |
|  | type | name | label | relevant |
|  | integer | n | N | |
|  | text | t | T | ${n} >= 0 |
""")
    assert "t" in engine.evaluate(form, {"n": "0"}).relevant
    assert "t" not in engine.evaluate(form, {"n": "-1"}).relevant


# ------------------------------------------------------------------ calculations

def test_calculations_run_in_dependency_order_even_when_written_first():
    # 'half' is written before 'double', which it uses.
    assert FORM.order.index("double") < FORM.order.index("half")
    assert FORM.order.index("people") < FORM.order.index("double")
    s = state({"consent": "yes", "people": "3"})
    assert s.values["double"] == "6" and s.values["half"] == "1.5"


def test_a_chain_of_calculations_written_backwards():
    form = form_of("""
| survey |
|  | type | name | label | calculation |
|  | calculate | c3 | | ${c2} + 1 |
|  | calculate | c2 | | ${c1} * 10 |
|  | calculate | c1 | | ${x} + 1 |
|  | integer | x | X | |
""")
    assert form.order == ["x", "c1", "c2", "c3"]
    assert engine.final_answers(form, {"x": "4"}) == {"c3": "51", "c2": "50", "c1": "5", "x": "4"}


def test_a_calculation_on_an_empty_answer_is_empty_not_nan():
    assert state({"consent": "yes"}).values["double"] == ""


# ------------------------------------------------------------------ constraints and required

def test_constraint_is_not_checked_on_an_empty_optional_answer():
    s = state({"consent": "yes", "people": "3", "children": ""})
    assert engine.check_answer(FORM, q("children"), s, now=NOW) is None


def test_constraint_is_checked_on_a_relevant_non_empty_answer():
    s = state({"consent": "yes", "people": "3", "children": "3"})
    message = engine.check_answer(FORM, q("children"), s, now=NOW)
    assert isinstance(message, Message)
    assert engine.check_answer(FORM, q("children"), state({"consent": "yes", "people": "3", "children": "2"}),
                               now=NOW) is None


def test_constraint_is_not_checked_on_a_non_relevant_answer():
    # children = 9 breaks its constraint, but with people = 1 the question is not asked.
    answers = {"consent": "yes", "people": "1", "children": "9", "pet": "no", "visit": ""}
    assert "children" not in state(answers).relevant
    assert engine.first_invalid_page(FORM, answers, now=NOW) is None
    result = engine.apply_screen(FORM, SCREEN["home"], {"consent": "yes"}, {"people": ["1"], "children": ["9"]},
                                 now=NOW)
    assert result.errors == {}


def test_apply_screen_applies_constraints_to_relevant_answers():
    result = engine.apply_screen(FORM, SCREEN["home"], {"consent": "yes"}, {"people": ["3"], "children": ["7"]},
                                 now=NOW)
    assert set(result.errors) == {"children"}
    assert result.answers["people"] == "3"  # the valid answer beside the error is kept
    result = engine.apply_screen(FORM, SCREEN["home"], {"consent": "yes"}, {"people": ["30"]}, now=NOW)
    assert set(result.errors) == {"people"}


def test_a_question_that_just_appeared_is_not_checked_yet():
    result = engine.apply_screen(FORM, SCREEN["home"], {"consent": "yes"}, {"people": ["3"]}, now=NOW)
    assert result.appeared == ["children"] and result.errors == {}


def test_constraint_with_today_uses_now():
    future = {"visit": "2024-06-16"}
    assert engine.check_answer(FORM, q("visit"), state(future), now=NOW) is not None
    assert engine.check_answer(FORM, q("visit"), state({"visit": "2024-06-15"}), now=NOW) is None


def test_required_as_an_expression():
    s = state({"pet": "yes"})
    assert engine.check_answer(FORM, q("pet_name"), s, now=NOW) == Message("This question needs an answer.")
    assert engine.check_answer(FORM, q("pet_name"), state({"pet": "no"}), now=NOW) is None
    assert engine.check_answer(FORM, q("pet_name"), state({}), now=NOW) is None
    assert engine.check_answer(FORM, q("pet_name"), state({"pet": "yes", "pet_name": "Rex"}), now=NOW) is None


def test_required_message_and_constraint_message_in_the_language():
    form = form_of("""
| survey |
|  | type | name | label::English (en) | label::Español (es) | required | required_message::English (en) | required_message::Español (es) | constraint | constraint_message::English (en) | constraint_message::Español (es) |
|  | integer | n | N | N | yes | Say a number | Diga un número | . > 0 | Above zero | Mayor que cero |
""")
    n = form.questions["n"]
    assert engine.check_answer(form, n, engine.evaluate(form, {}), lang="es").render() == "Diga un número"
    assert engine.check_answer(form, n, engine.evaluate(form, {"n": "0"}), lang="es").render() == "Mayor que cero"
    assert engine.check_answer(form, n, engine.evaluate(form, {"n": "0"}), lang="en").render() == "Above zero"


def test_first_invalid_page_finds_a_skipped_required_question():
    answers = {"consent": "yes", "people": "", "pet": "no"}
    assert engine.first_invalid_page(FORM, answers, now=NOW) == Page(SCREEN["home"])
    answers = {"consent": "yes", "people": "2", "pet": "yes"}
    assert engine.first_invalid_page(FORM, answers, now=NOW) == Page(SCREEN["pet_name"])
    answers["pet_name"] = "Rex"
    assert engine.first_invalid_page(FORM, answers, now=NOW) is None
    assert engine.first_invalid_page(FORM, {}, now=NOW) == Page(SCREEN["consent"])


def test_first_invalid_page_finds_a_broken_constraint_and_skips_unasked_questions():
    answers = {"consent": "yes", "people": "2", "pet": "no", "visit": "2030-01-01"}
    assert engine.first_invalid_page(FORM, answers, now=NOW) == Page(SCREEN["visit"])
    assert engine.first_invalid_page(FORM, {"consent": "no", "pet": "no"}, now=NOW) is None


# ------------------------------------------------------------------ labels

def test_interpolation_shows_answers_and_choice_labels_in_the_language():
    answers = {"consent": "yes", "people": "4", "income": "work other", "pet": "yes"}
    summary = q("summary")
    en = engine.interpolate(summary.label["en"], FORM, state(answers, "en"), "en")
    es = engine.interpolate(summary.label["es"], FORM, state(answers, "es"), "es")
    assert en == "4 people, income: Work, Other, pet: Yes"
    assert es == "4 personas, ingreso: Trabajo, Otro, mascota: Sí"


def test_interpolation_of_an_empty_or_non_relevant_answer_is_empty():
    text = engine.interpolate("[${people}] [${pet}] [${nobody}]", FORM, state({"consent": "no", "people": "4"}), "en")
    assert text == "[] [] []"


def test_interpolation_of_a_calculation_and_a_formatter():
    s = state({"consent": "yes", "people": "1234"})
    assert engine.interpolate("${double}", FORM, s, "en") == "2468"
    assert engine.interpolate("${double}", FORM, s, "en", lambda q, v: f"<{q.name}:{v}>") == "<double:2468>"


# ------------------------------------------------------------------ parsing answers

@pytest.mark.parametrize("qtype,raw,stored", [
    ("integer", " 42 ", "42"), ("integer", "-0", "0"), ("integer", "+7", "7"), ("integer", "007", "7"),
    ("decimal", "2,5", "2.5"), ("decimal", ".5", "0.5"), ("decimal", "-1.50", "-1.5"), ("decimal", "3", "3"),
    ("date", "2024-02-29", "2024-02-29"),
    ("text", "a\r\nb", "a\nb"), ("text", "  padded  ", "padded"), ("text", "e\u0301", "\u00e9"),
    ("text", "nul\x00byte", "nulbyte"),
])
def test_parse_answer_canonical_forms(qtype, raw, stored):
    question = next(x for x in FORM.questions.values() if x.type == qtype) if qtype != "decimal" else \
        form_of("| survey |\n| | type | name | label |\n| | decimal | d | D |\n").questions["d"]
    assert engine.parse_answer(question, [raw], FORM) == stored


@pytest.mark.parametrize("qtype,raw", [
    ("integer", "1e5"), ("integer", "12.5"), ("integer", str(MAX_INT + 1)), ("integer", "abc"),
    ("date", "2024-13-45"), ("date", "31/12/2024"), ("date", "20240101"), ("date", "1800-01-01"),
    ("text", "x" * (MAX_TEXT + 1)),
])
def test_parse_answer_refusals(qtype, raw):
    question = next(x for x in FORM.questions.values() if x.type == qtype)
    assert isinstance(engine.parse_answer(question, [raw], FORM), Message)


def test_select_multiple_is_stored_in_list_order_without_duplicates():
    assert engine.parse_answer(q("income"), ["other", "work", "other", ""], FORM) == "work other"
    assert isinstance(engine.parse_answer(q("income"), ["work", "salary"], FORM), Message)
    assert engine.parse_answer(q("income"), [], FORM) == ""


INTEGER = q("people")


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=-MAX_INT, max_value=MAX_INT))
def test_integers_within_bounds_round_trip(n):
    assert engine.parse_answer(INTEGER, [str(n)], FORM) == str(n)
    assert engine.parse_answer(INTEGER, [f" {n} "], FORM) == str(n)


@settings(max_examples=100, deadline=None)
@given(st.integers().filter(lambda n: abs(n) > MAX_INT))
def test_integers_out_of_bounds_are_refused(n):
    assert isinstance(engine.parse_answer(INTEGER, [str(n)], FORM), Message)


ALL_INPUTS = [x for x in FORM.questions.values() if x.is_input] + [
    form_of("| survey |\n| | type | name | label |\n| | decimal | d | D |\n| | acknowledge | a | A |\n")
    .questions[n] for n in ("d", "a")]


@settings(max_examples=300, deadline=None)
@given(question=st.sampled_from(ALL_INPUTS), values=st.lists(st.text(), max_size=3))
def test_parse_answer_never_raises_on_arbitrary_text(question, values):
    result = engine.parse_answer(question, values, FORM)
    assert isinstance(result, (str, Message))
    if isinstance(result, str):
        assert not engine.CONTROL.search(result)
        if question.type in ("integer", "decimal", "date") and result:
            # whatever is accepted is something the expression engine can read back
            from fieldkit.forms import expr
            expr.typed(question.type, result)


def test_a_post_that_comes_back_with_errors_works_the_form_out_twice_not_six_times(participant, monkeypatch):
    """Once on the answers it found, once on the answers posted; the page drawn again
    with its errors reuses the second (issue 16)."""
    p = participant("wellbeing")
    page = p.start("en")
    calls = []
    real = engine.evaluate
    monkeypatch.setattr(engine, "evaluate", lambda *a, **k: calls.append(1) or real(*a, **k))
    response = p.post({"household_size": "-3"}, page=page)
    assert response.status_code == 422
    assert len(calls) == 2
