"""The participant flow, end to end through the HTML forms alone (no JavaScript)."""
import re
import threading

import pytest

from conftest import Page, Participant, drafts_of, submissions_of

LANGS = {
    "en": ("How many people live with you?", "Adults at home: 3"),
    "es": ("¿Cuántas personas viven con usted?", "Adultos en casa: 3"),
    "so": ("Immisa qof ayaa kula nool?", "Dadka waaweyn: 3"),
    "am": ("ከእርስዎ ጋር ስንት ሰዎች ይኖራሉ?", "በቤት ያሉ አዋቂዎች: 3"),
}


def walk_household(p: Participant, lang: str) -> list[Page]:
    pages = [p.start(lang)]
    assert pages[-1].visible_names == ["consent"]
    pages.append(p.answer({"consent": "yes"}))
    assert LANGS[lang][0] in pages[-1].text
    pages.append(p.answer({"people": "5", "children": "2"}))
    pages.append(p.answer({"income": ["work", "other"], "rent_share": "0.4", "other_income": "Market stall"}))
    pages.append(p.answer({"visit_date": "2024-03-01"}))
    assert LANGS[lang][1] in pages[-1].text  # ${adults} in a label shows the calculation
    pages.append(p.answer({}))
    assert "_uuid" in pages[-1].hidden_fields
    return pages


@pytest.mark.parametrize("lang", ["en", "es", "so", "am"])
def test_household_end_to_end_in_each_language(lang, add_form, participant, db):
    add_form("household.md")
    p = participant("household")
    pages = walk_household(p, lang)
    assert all(page.lang == lang for page in pages)
    response = p.submit()
    assert response.status_code == 303 and response.location.endswith("/f/household/done")
    done = p.client.get("/f/household/done")
    assert done.status_code == 200 and Page(done.get_data(as_text=True)).lang == lang
    [sub] = submissions_of(db, "household")
    assert sub["language"] == lang and sub["form_version"] == "1"
    assert sub["answers"] == {
        "consent": "yes", "people": "5", "children": "2", "income": "work other",
        "rent_share": "0.4", "other_income": "Market stall", "visit_date": "2024-03-01", "adults": "3"}
    assert drafts_of(db) == []


def test_demo_form_end_to_end(participant, db):
    p = participant("wellbeing")
    p.start("am")
    p.answer({"age_band": "age_25_34", "household_size": "4"})
    p.answer({"wellbeing_rating": "okay", "worries": ["money", "housing"]})
    page = p.answer({"has_support": "no"})
    assert "last_gathering" in page.visible_names
    page = p.answer({"comments": "ሰላም"})
    assert "2" in page.text  # the summary note shows worry_count
    p.answer({})
    assert p.submit().status_code == 303
    [sub] = submissions_of(db, "wellbeing")
    assert sub["answers"]["worries"] == "money housing"
    assert sub["answers"]["worry_count"] == "2"
    assert sub["answers"]["comments"] == "ሰላም"
    assert sub["answers"]["support_who"] == ""


def test_declining_consent_skips_to_the_end(add_form, participant, db):
    add_form("household.md")
    p = participant("household")
    p.start("en")
    page = p.answer({"consent": "no"})
    assert "_uuid" in page.hidden_fields  # straight to the review page
    p.submit()
    [sub] = submissions_of(db, "household")
    assert sub["answers"]["people"] == "" and sub["answers"]["adults"] == ""


def test_question_in_non_relevant_group_is_cleared_before_saving(add_form, participant, db):
    add_form("household.md")
    p = participant("household")
    p.start("en")
    p.answer({"consent": "yes"})
    p.answer({"people": "3", "children": "1"})
    # Back to the first screen and decline: the answers given in the group go.
    p.post({}, action="back")
    p.post({}, action="back")
    assert p.current().visible_names == ["consent"]
    p.answer({"consent": "no"})
    p.submit()
    [sub] = submissions_of(db, "household")
    assert sub["answers"]["people"] == "" and sub["answers"]["children"] == ""


def test_back_keeps_answers(add_form, participant):
    add_form("household.md")
    p = participant("household")
    p.start("en")
    p.answer({"consent": "yes"})
    p.answer({"people": "1"})
    p.post({"income": ["benefits"]}, action="back")
    page = p.current()
    values = {i["name"]: i.get("value") for i in page.inputs}
    assert values["people"] == "1"
    page = p.answer({"people": "1"})
    checked = [i["value"] for i in page.inputs if i["name"] == "income" and "checked" in i]
    assert checked == ["benefits"]


def test_within_screen_relevance_shows_new_question_without_javascript(add_form, participant):
    add_form("household.md")
    p = participant("household")
    p.start("en")
    page = p.answer({"consent": "yes"})
    assert page.visible_names == ["people"]  # children is hidden until people > 1
    response = p.post({"people": "3"})
    assert response.status_code == 200  # same screen again, now with the new question
    page = Page(response.get_data(as_text=True))
    assert page.visible_names == ["people", "children"]
    assert "More questions appeared" in page.text


def test_required_and_constraint_messages_in_the_chosen_language(add_form, participant):
    add_form("household.md")
    p = participant("household")
    p.start("es")
    p.answer({"consent": "yes"})
    response = p.post({"people": ""})
    assert response.status_code == 422
    page = Page(response.get_data(as_text=True))
    assert page.errors and "pregunta" in page.errors[0].lower()
    response = p.post({"people": "30"})
    assert Page(response.get_data(as_text=True)).errors == ["De 1 a 20"]  # the form's own message


def test_constraint_not_checked_on_empty_optional_answer(add_form, participant):
    add_form("household.md")
    p = participant("household")
    p.start("en")
    p.answer({"consent": "yes"})
    assert p.post({"people": "2"}).status_code == 200  # children appears
    p.answer({"people": "2", "children": ""})


def test_language_defaults_from_browser_then_form(add_form, participant):
    add_form("household.md")
    p = participant("household")
    assert p.open(accept_language="so-SO,so;q=0.9").lang == "so"
    assert p.open(accept_language="fr-FR").lang == "es"  # the form's default_language
    assert p.open(lang="am").lang == "am"
    page = p.open(accept_language="am")
    first_button = page.html.index('name="lang" value="am"')
    assert first_button < page.html.index('name="lang" value="en"')
    for native in ("English", "Español", "Soomaali", "አማርኛ"):
        assert native in page.html


def test_dropped_connection_resumes_where_the_participant_stopped(add_form, participant, client, app):
    add_form("household.md")
    p = participant("household")
    p.start("so")
    p.answer({"consent": "yes"})
    p.answer({"people": "2", "children": "1"})
    # Same phone, a new connection later: the cookie is all it keeps.
    again = Participant(client, "household")
    page = again.open()
    assert again.last.status_code == 303 or "income" in page.visible_names
    page = again.current()
    assert "income" in page.visible_names and page.lang == "so"


def test_double_tap_on_submit_makes_one_submission(add_form, participant, db):
    add_form("household.md")
    p = participant("household")
    walk_household(p, "en")
    review = p.current()
    data = {"csrf_token": review.hidden_fields["csrf_token"], "_uuid": review.hidden_fields["_uuid"]}
    first = p.client.post("/f/household/submit", data=data)
    second = p.client.post("/f/household/submit", data=data)
    assert first.status_code == second.status_code == 303
    assert second.location == first.location
    assert len(submissions_of(db, "household")) == 1


def test_participants_at_once_do_not_block_or_mix(app, add_form, db):
    add_form("household.md")
    errors = []

    def one(n):
        try:
            p = Participant(app.test_client(), "household")
            p.start("en")
            p.answer({"consent": "yes"})
            p.answer({"people": str(n + 2), "children": "1"})
            p.answer({"income": ["benefits"]})
            p.answer({})
            p.answer({})
            assert p.submit().status_code == 303
        except Exception as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    subs = submissions_of(db, "household")
    assert sorted(int(s["answers"]["people"]) for s in subs) == list(range(2, 14))
    assert len({s["uuid"] for s in subs}) == 12


def test_reload_after_submit_does_not_resubmit(add_form, participant, db):
    add_form("household.md")
    p = participant("household")
    walk_household(p, "en")
    p.submit()
    page = p.open()  # the participant opens the link again: a fresh start page
    assert "lang" in {i["name"] for i in page.inputs} or 'name="lang"' in page.html
    assert len(submissions_of(db, "household")) == 1


def test_form_title_in_each_language(participant):
    p = participant("wellbeing")
    assert "<h1>Encuesta de bienestar comunitario</h1>" in p.open(lang="es").html
    assert "<title>የማህበረሰብ ደህንነት መጠይቅ</title>" in p.open(lang="am").html
    assert "<h1>Community wellbeing check-in</h1>" in p.open(lang="en").html


def test_every_participant_page_has_help_in_the_same_place_and_after_submit_help_promises_nothing(
        participant, client, add_form):
    """Issue 14, 4: the thank-you, declined and help pages had no Help link; the help page
    after Submit still said "your answers so far are kept"."""
    import re as _re

    from conftest import submit_household
    add_form("household.md")
    help_link = _re.compile(r'<a class="help-link" href="/f/household/help')
    declining = participant("household")
    declining.choose_language("en")
    during = client.get("/f/household/help").get_data(as_text=True)
    assert help_link.search(during)
    declining.consent("no")
    assert help_link.search(client.get("/f/household/declined").get_data(as_text=True))
    midway = participant("household", client_=client.application.test_client())
    midway.start("en")
    assert "Your answers so far are kept" in midway.client.get("/f/household/help").get_data(as_text=True)
    answering = participant("household", client_=client.application.test_client())
    submit_household(answering, "fine")
    assert help_link.search(answering.client.get("/f/household/done").get_data(as_text=True))
    after = answering.client.get("/f/household/help").get_data(as_text=True)
    assert help_link.search(after) and "Your answers so far are kept" not in after


def test_a_screen_works_its_answers_out_once(participant, monkeypatch):
    """A GET of a screen evaluates the draft's answers once (they were evaluated twice:
    bench/RESULTS.md, issue 18)."""
    from fieldkit.forms import engine
    p = participant("wellbeing")
    p.start("en")
    calls = {"evaluate": 0}
    evaluate = engine.evaluate

    def counted(*args, **kwargs):
        calls["evaluate"] += 1
        return evaluate(*args, **kwargs)
    monkeypatch.setattr(engine, "evaluate", counted)
    first = p.client.get("/f/wellbeing/q")
    again = p.client.get("/f/wellbeing/q")
    assert first.status_code == again.status_code == 200

    def without_clock(page):
        return re.sub(r"now&#34;:&#34;[^&]*&#34;", "", page.get_data(as_text=True))
    assert without_clock(first) == without_clock(again) and "data-fk-screen" in without_clock(first)
    assert calls["evaluate"] == 2

