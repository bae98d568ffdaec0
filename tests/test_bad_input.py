"""Whatever a phone (or someone pretending to be one) posts: the right 4xx, a
clear message in the participant's language, nothing stored, never a 500."""
from __future__ import annotations

import functools
import html
import re
from html.parser import HTMLParser

import pytest
from babel.messages.pofile import read_po
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import ROOT, Page, drafts_of, submissions_of
from fieldkit.forms.engine import MAX_TEXT
from fieldkit.store.drafts import delete_draft

FORM = "t_inputs"
SCREENS = ["comment", "age", "weight", "when", "agree", "fruits", "ok"]  # one question per screen

MSG_INTEGER = "Please enter a whole number, like 12."
MSG_DECIMAL = "Please enter a number, like 2.5."
MSG_DATE = "Please enter a date as year-month-day, like 2024-05-31."
MSG_CHOICE = "Please choose from the answers listed."
MSG_TEXT = "Please keep this answer under %(max)s characters."
MSG_MISMATCH = "The answers sent do not match this form's questions."


# ------------------------------------------------------------------ helpers

@functools.lru_cache(maxsize=1)
def _spanish_catalogue():
    try:
        with (ROOT / "translations" / "es" / "LC_MESSAGES" / "messages.po").open("rb") as f:
            return read_po(f)
    except Exception:  # a catalogue caught half-written: fall back to the language checks
        return None


def spanish(msgid: str) -> str | None:
    """The Spanish msgstr if the catalogue already has one (it is being written now)."""
    catalogue = _spanish_catalogue()
    message = catalogue.get(msgid) if catalogue is not None else None
    return message.string if message and message.string and not message.fuzzy else None


class ErrorPage(HTMLParser):
    """error.html: the element carrying data-error-code, its text, and its links."""

    def __init__(self, text: str):
        super().__init__()
        self.lang = self.code = None
        self.message = ""
        self.links: list[str] = []
        self._in = 0
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        if "data-error-code" in a:
            self.code, self._in = a["data-error-code"], 1
        elif self._in:
            self._in += 1
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])

    def handle_endtag(self, tag):
        if self._in:
            self._in -= 1

    def handle_data(self, data):
        if self._in:
            self.message += data

    @property
    def text(self) -> str:
        return html.unescape(self.message).strip()


def assert_error_page(response, status: int, code: str, lang: str | None = None, msgid: str | None = None,
                      params: dict | None = None) -> ErrorPage:
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    page = ErrorPage(response.get_data(as_text=True))
    assert page.code == code
    assert page.text, "the error paragraph is empty"
    if lang is not None:
        assert page.lang == lang
        if lang == "es" and msgid and spanish(msgid):
            expected = spanish(msgid) % params if params else spanish(msgid)
            assert page.text == " ".join(expected.split())
    return page


def assert_question_error(response, name: str, msgid: str, lang: str = "es", params: dict | None = None):
    """422 with the message beside that question, in the participant's language."""
    assert response.status_code == 422, response.get_data(as_text=True)[:2000]
    text = response.get_data(as_text=True)
    page = Page(text)
    assert page.lang == lang
    assert page.errors and all(page.errors)
    # the message sits beside the question: inside that question's block, before the next one
    start = text.index(f'id="{name}-field"')
    following = text.find('class="question', start)
    block = text[start:following if following != -1 else len(text)]
    assert f'id="{name}-error"' in block
    assert re.search(rf'aria-describedby="[^"]*\b{name}-error"', block)  # read out with the question
    if lang == "es" and spanish(msgid):
        expected = spanish(msgid) % params if params else spanish(msgid)
        assert " ".join(expected.split()) in [html.unescape(e) for e in page.errors]
    return page


def answers_of(db) -> dict:
    [draft] = drafts_of(db)
    return draft["answers"]


def post_screen(p, name: str, value, **extra):
    """Post one question's screen as the browser would (any screen, by index)."""
    page = p.current()
    data = {"csrf_token": page.hidden_fields["csrf_token"], "_screen": str(SCREENS.index(name)),
            "_action": "next", name: value}
    data.update(extra)
    return p.client.post(f"/f/{FORM}/q", data=data)


def csrf_of(p) -> str:
    return p.current().hidden_fields["csrf_token"]


def draft_token(client) -> str:
    with client.session_transaction() as session:
        return session["drafts"][FORM]


@pytest.fixture
def app(tmp_path):
    """The conftest app without the demo form, which these tests never open (faster)."""
    from fieldkit import create_app
    return create_app({"DATA_DIR": tmp_path / "data", "TESTING": True, "LOAD_DEMO": False})


@pytest.fixture
def p(add_form, participant):
    """A participant answering t_inputs in Spanish, on its first screen."""
    add_form("t_inputs.md")
    person = participant(FORM)
    person.start("es")
    return person


def nothing_stored(db, before: dict):
    assert submissions_of(db, FORM) == []
    assert answers_of(db) == before


# ------------------------------------------------------------------ 1. wrong types

@pytest.mark.parametrize("name,good,bad,msgid", [
    ("age", "30", "abc", MSG_INTEGER),
    ("age", "30", "1e5", MSG_INTEGER),
    ("age", "30", "12.5", MSG_INTEGER),
    ("age", "30", "99999999999", MSG_INTEGER),  # beyond a 32-bit integer
    ("weight", "60.5", "abc", MSG_DECIMAL),
    ("weight", "60.5", "1,2,3", MSG_DECIMAL),
    ("when", "2024-05-31", "2024-13-45", MSG_DATE),
    ("when", "2024-05-31", "31/12/2024", MSG_DATE),
    ("when", "2024-05-31", "2024-02-30", MSG_DATE),
])
def test_wrong_type_is_422_beside_the_question_and_keeps_the_old_answer(p, db, name, good, bad, msgid):
    assert post_screen(p, name, good).status_code == 303
    before = answers_of(db)
    assert before[name] == good
    response = post_screen(p, name, bad)
    page = assert_question_error(response, name, msgid)
    typed = [i.get("value") for i in page.inputs if i["name"] == name]
    assert typed == [bad]  # shown again so it can be corrected
    nothing_stored(db, before)


def test_well_formed_numbers_and_dates_are_stored_canonically(p, db):
    for name, posted, stored in [
        ("weight", "2,5", "2.5"),  # comma as the decimal separator
        ("weight", " 2.50 ", "2.5"),
        ("age", "-5", "-5"),
        ("age", "+7", "7"),
        ("when", "2024-02-29", "2024-02-29"),
    ]:
        assert post_screen(p, name, posted).status_code == 303, posted
        assert answers_of(db)[name] == stored


# ------------------------------------------------------------------ 2. choices

@pytest.mark.parametrize("name,bad", [
    ("agree", "maybe"),
    ("agree", "Yes"),  # the label, not the name
    ("fruits", ["apple", "banana"]),
    ("fruits", "banana"),
    ("ok", "yes"),
    ("ok", "ok"),
])
def test_choice_not_in_the_list_is_422(p, db, name, bad):
    before = answers_of(db)
    response = post_screen(p, name, bad)
    assert_question_error(response, name, MSG_CHOICE)
    nothing_stored(db, before)


def test_listed_choices_are_stored_in_list_order(p, db):
    assert post_screen(p, "fruits", ["pear", "apple", "pear"]).status_code == 303
    assert post_screen(p, "ok", "OK").status_code == 303
    assert post_screen(p, "agree", "no").status_code == 303
    answers = answers_of(db)
    assert (answers["fruits"], answers["ok"], answers["agree"]) == ("apple pear", "OK", "no")


# ------------------------------------------------------------------ 3. fields that no page has

@pytest.mark.parametrize("extra", [
    {"nickname": "Bob"},  # no such question
    {"age": "30"},  # a question of another screen
    {"_admin": "1"},
])
def test_unknown_field_names_are_400(p, db, extra):
    before = answers_of(db)
    response = post_screen(p, "comment", "hello", **extra)
    assert_error_page(response, 400, "bad_request", "es", MSG_MISMATCH)
    nothing_stored(db, before)


@pytest.mark.parametrize("name,values", [
    ("agree", ["yes", "no"]),
    ("age", ["1", "2"]),
    ("comment", ["a", "b"]),
])
def test_two_values_for_a_single_answer_are_400(p, db, name, values):
    before = answers_of(db)
    response = post_screen(p, name, values)
    assert_error_page(response, 400, "bad_request", "es", MSG_MISMATCH)
    nothing_stored(db, before)


# ------------------------------------------------------------------ 4. text length, control characters

def test_text_over_the_limit_is_422(p, db):
    assert MAX_TEXT == 2000
    assert post_screen(p, "comment", "short").status_code == 303
    before = answers_of(db)
    response = post_screen(p, "comment", "a" * (MAX_TEXT + 1))
    assert_question_error(response, "comment", MSG_TEXT, params={"max": MAX_TEXT})
    nothing_stored(db, before)


@pytest.mark.parametrize("char", ["a", "ሰ"])  # Amharic is 3 bytes a character, still one character
def test_text_of_exactly_the_limit_is_kept(p, db, char):
    assert post_screen(p, "comment", char * MAX_TEXT).status_code == 303
    assert answers_of(db)["comment"] == char * MAX_TEXT


def test_control_characters_are_stripped_not_stored(p, db):
    assert post_screen(p, "comment", "a\x00b\x07c\x1b\x7fd\tend").status_code == 303
    assert answers_of(db)["comment"] == "abcd\tend"
    assert post_screen(p, "age", "4\x002").status_code == 303
    assert answers_of(db)["age"] == "42"


# ------------------------------------------------------------------ 5. body size

def test_oversized_body_is_413_in_the_participants_language(p, db, app):
    assert app.config["COLLECT_MAX_BODY"] == 64 * 1024
    before = answers_of(db)
    response = post_screen(p, "comment", "x" * (app.config["COLLECT_MAX_BODY"] + 1))
    assert_error_page(response, 413, "too_large", "es", "What was sent is too large.")
    nothing_stored(db, before)


def test_body_just_under_the_limit_is_read(p, db, app):
    # One byte under the limit in all: read as usual, then refused for its length (422).
    data = {"csrf_token": csrf_of(p), "_screen": "0", "_action": "next", "comment": ""}
    from urllib.parse import urlencode
    overhead = len(urlencode(data))
    data["comment"] = "y" * (app.config["COLLECT_MAX_BODY"] - overhead - 1)
    response = p.client.post(f"/f/{FORM}/q", data=urlencode(data),
                             content_type="application/x-www-form-urlencoded")
    assert response.status_code == 422


# ------------------------------------------------------------------ 6. encoding

@pytest.mark.parametrize("values", [[b"\xff\xfe", b"caf\xe9"], [b"%C3%28", b"%FF"]], ids=["raw", "escaped"])
def test_invalid_utf8_is_400_bad_encoding(p, db, values):
    assert post_screen(p, "comment", "kept").status_code == 303
    before = answers_of(db)
    for value in values:
        body = b"csrf_token=" + csrf_of(p).encode() + b"&_screen=0&_action=next&comment=" + value
        response = p.client.post(f"/f/{FORM}/q", data=body, content_type="application/x-www-form-urlencoded")
        assert_error_page(response, 400, "bad_encoding", "es",
                          "The answers sent could not be read. Please try again.")
    nothing_stored(db, before)


def test_invalid_utf8_in_a_field_name_is_400(p, db):
    before = answers_of(db)
    body = b"csrf_token=" + csrf_of(p).encode() + b"&_screen=0&_action=next&com%E9nt=x"
    response = p.client.post(f"/f/{FORM}/q", data=body, content_type="application/x-www-form-urlencoded")
    assert_error_page(response, 400, "bad_encoding", "es")
    nothing_stored(db, before)


def test_valid_utf8_percent_escapes_are_read(p, db):
    body = b"csrf_token=" + csrf_of(p).encode() + b"&_screen=0&_action=next&comment=%E1%88%B0%C3%B1"
    response = p.client.post(f"/f/{FORM}/q", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 303
    assert answers_of(db)["comment"] == "ሰñ"


# ------------------------------------------------------------------ 7. unknown form

def test_unknown_form_is_404_form_not_found(p, db):
    csrf = csrf_of(p)  # a valid token, so that only the form id is wrong
    responses = [
        p.client.get("/f/nope"),
        p.client.post("/f/nope/start", data={"lang": "en", "csrf_token": csrf}),
        p.client.get("/f/nope/q"),
        p.client.post("/f/nope/q", data={"csrf_token": csrf, "_screen": "0", "_action": "next"}),
        p.client.post("/f/nope/submit", data={"csrf_token": csrf, "_uuid": "x"}),
    ]
    for response in responses:
        assert_error_page(response, 404,
                          "form_not_found",
                          msgid="There is no survey at this address. Please check the link or QR code.")
    assert db.execute("SELECT COUNT(*) FROM drafts").fetchone()[0] == 1  # only the fixture's own


def test_unknown_form_page_follows_the_browser_language(client, db):
    response = client.get("/f/nope", headers={"Accept-Language": "es"})
    assert_error_page(response, 404, "form_not_found", "es",
                      "There is no survey at this address. Please check the link or QR code.")


# ------------------------------------------------------------------ 8. stale draft, forged cookie

def _assert_start_again(page: ErrorPage):
    assert f"/f/{FORM}" in page.links


@pytest.mark.parametrize("how", ["deleted", "expired"])
def test_stale_draft_is_410_with_a_start_again_link(p, db, how):
    assert post_screen(p, "comment", "hello").status_code == 303
    csrf = csrf_of(p)
    if how == "deleted":
        delete_draft(db, draft_token(p.client))
    else:
        db.execute("UPDATE drafts SET updated_at = '2000-01-01T00:00:00Z'")
    before = [dict(d) for d in drafts_of(db)]
    page = assert_error_page(p.client.get(f"/f/{FORM}/q"), 410, "draft_missing")
    _assert_start_again(page)
    response = p.client.post(f"/f/{FORM}/q", data={"csrf_token": csrf, "_screen": "1", "_action": "next",
                                                   "age": "3"})
    _assert_start_again(assert_error_page(response, 410, "draft_missing"))
    response = p.client.post(f"/f/{FORM}/submit", data={"csrf_token": csrf, "_uuid": "whatever"})
    _assert_start_again(assert_error_page(response, 410, "draft_missing"))
    assert drafts_of(db) == before
    assert submissions_of(db, FORM) == []
    # and the link works: a fresh start page
    assert p.client.get(f"/f/{FORM}").status_code == 200


def _forged_cookie(app, payload: dict, secret: str) -> str:
    other = Flask("forger")
    other.secret_key = secret
    return SecureCookieSessionInterface().get_signing_serializer(other).dumps(payload)


@pytest.mark.parametrize("cookie", ["garbage", "eyJkcmFmdHMiOnt9fQ.bad.sig", "other-key"])
def test_forged_session_cookie_is_4xx_never_500(p, db, app, cookie):
    assert post_screen(p, "comment", "mine").status_code == 303
    csrf = csrf_of(p)
    with p.client.session_transaction() as session:
        payload = dict(session)
    before = answers_of(db)
    if cookie == "other-key":
        cookie = _forged_cookie(app, payload, "not the instance's secret")
    p.client.set_cookie("session", cookie)
    response = p.client.post(f"/f/{FORM}/q", data={"csrf_token": csrf, "_screen": "0", "_action": "next",
                                                   "comment": "forged"})
    assert response.status_code in (400, 410)
    assert_error_page(response, response.status_code,
                      "session_expired" if response.status_code == 400 else "draft_missing")
    assert_error_page(p.client.get(f"/f/{FORM}/q"), 410, "draft_missing")
    response = p.client.post(f"/f/{FORM}/submit", data={"csrf_token": csrf, "_uuid": "x"})
    assert response.status_code in (400, 410)
    nothing_stored(db, before)


# ------------------------------------------------------------------ 9. CSRF

@pytest.mark.parametrize("token", [None, "", "wrong", "IjEyMyI.abc.def"])
def test_missing_or_wrong_csrf_token_is_400_session_expired(p, db, token):
    before = answers_of(db)
    data = {"_screen": "0", "_action": "next", "comment": "sneaky"}
    if token is not None:
        data["csrf_token"] = token
    for path, extra in (("q", {}), ("start", {"lang": "en"}), ("submit", {"_uuid": "x"})):
        body = {k: v for k, v in data.items() if path == "q" or k == "csrf_token"} | extra
        page = assert_error_page(p.client.post(f"/f/{FORM}/{path}", data=body), 400, "session_expired", "es",
                                 "This page has expired. Please open the survey link again.")
        _assert_start_again(page)
    nothing_stored(db, before)
    assert answers_of(db).get("comment") is None and drafts_of(db)[0]["language"] == "es"


# ------------------------------------------------------------------ 10. control fields

@pytest.mark.parametrize("action", ["next", "back"])
def test_bad_screen_number_is_400(p, db, action):
    assert post_screen(p, "comment", "hello").status_code == 303
    before = drafts_of(db)
    # len(SCREENS) is the review page: only Back may come from there.
    bad = ["abc", "", "-1", "1.0", "99", "²", "٣", "99999999999999999999999"]
    for screen in bad + ([str(len(SCREENS))] if action == "next" else []):
        data = {"csrf_token": csrf_of(p), "_screen": screen, "_action": action, "comment": "changed"}
        response = p.client.post(f"/f/{FORM}/q", data=data)
        assert_error_page(response, 400, "bad_request", "es",
                          "The answers sent could not be used. Please go back and try again.")
        assert drafts_of(db) == before, screen
    assert submissions_of(db, FORM) == []


def test_unknown_action_is_400(p, db):
    before = answers_of(db)
    for action in ["submit", "delete", "", "NEXT"]:
        response = post_screen(p, "comment", "hello", _action=action)
        assert_error_page(response, 400, "bad_request", "es",
                          "The answers sent could not be used. Please go back and try again.")
    nothing_stored(db, before)


def walk_to_review(p):
    for _ in SCREENS:
        p.answer({})
    review = p.current()
    assert "_uuid" in review.hidden_fields
    return review


def test_back_from_the_review_page_still_works(p, db):
    review = walk_to_review(p)
    response = p.client.post(f"/f/{FORM}/q", data={"csrf_token": review.hidden_fields["csrf_token"],
                                                   "_screen": review.hidden_fields["_screen"], "_action": "back"})
    assert response.status_code == 303
    assert p.current().visible_names == ["ok"]


def test_submit_with_a_uuid_that_is_not_the_drafts_is_400(p, db):
    review = walk_to_review(p)
    before = drafts_of(db)
    for uuid in ["", "not-a-uuid", "00000000-0000-4000-8000-000000000000", None]:
        data = {"csrf_token": review.hidden_fields["csrf_token"]}
        if uuid is not None:
            data["_uuid"] = uuid
        response = p.client.post(f"/f/{FORM}/submit", data=data)
        assert_error_page(response, 400, "bad_request", "es",
                          "The answers sent could not be used. Please go back and try again.")
        assert submissions_of(db, FORM) == []
        assert drafts_of(db) == before
    assert p.submit().status_code == 303  # the right uuid still goes through
    assert len(submissions_of(db, FORM)) == 1


def test_bad_language_or_extra_fields_on_start_are_400(add_form, client, db):
    add_form("t_inputs.md")
    csrf = Page(client.get(f"/f/{FORM}").get_data(as_text=True)).hidden_fields["csrf_token"]
    for data in ({"lang": "fr"}, {"lang": ""}, {}, {"lang": "en", "admin": "1"}, {"lang": ["en", "es"]}):
        response = client.post(f"/f/{FORM}/start", data=dict(data, csrf_token=csrf))
        assert_error_page(response, 400, "bad_request")
    assert drafts_of(db) == []


# ------------------------------------------------------------------ 11. JSON

def _json_cases(p, db, app):
    csrf = csrf_of(p)
    big = "x" * (app.config["COLLECT_MAX_BODY"] + 1)
    yield "form_not_found", 404, ("get", "/f/nope", None)
    yield "session_expired", 400, ("post", f"/f/{FORM}/q", {"_screen": "0", "_action": "next"})
    yield "bad_request", 400, ("post", f"/f/{FORM}/q", {"csrf_token": csrf, "_screen": "x", "_action": "next"})
    yield "bad_request", 400, ("post", f"/f/{FORM}/q", {"csrf_token": csrf, "_screen": "0", "nick": "x"})
    yield "bad_encoding", 400, ("post", f"/f/{FORM}/q", b"csrf_token=" + csrf.encode() + b"&comment=%C3%28")
    yield "too_large", 413, ("post", f"/f/{FORM}/q", {"csrf_token": csrf, "_screen": "0", "comment": big})
    yield "not_found", 404, ("get", "/nowhere", None)
    yield "method_not_allowed", 405, ("delete", f"/f/{FORM}", None)


def test_errors_as_json_have_the_same_code_and_status(p, db, app):
    headers = {"Accept": "application/json"}
    before = answers_of(db)
    for code, status, (method, path, data) in _json_cases(p, db, app):
        kwargs = {"headers": headers}
        if isinstance(data, bytes):
            kwargs.update(data=data, content_type="application/x-www-form-urlencoded")
        elif data is not None:
            kwargs["data"] = data
        response = getattr(p.client, method)(path, **kwargs)
        assert response.status_code == status, (code, response.get_data(as_text=True)[:500])
        assert response.is_json, code
        body = response.get_json()
        assert set(body) == {"error"} and set(body["error"]) == {"code", "problem", "message"}
        assert body["error"]["code"] == code and body["error"]["problem"].startswith(f"{status}.")
        assert isinstance(body["error"]["message"], str) and body["error"]["message"].strip()
        # and the very same request as a person sees it
        page_response = getattr(p.client, method)(path, **{k: v for k, v in kwargs.items() if k != "headers"})
        assert page_response.status_code == status
        assert ErrorPage(page_response.get_data(as_text=True)).code == code
    nothing_stored(db, before)


def test_json_error_for_a_missing_draft_is_410(p, db):
    delete_draft(db, draft_token(p.client))
    response = p.client.get(f"/f/{FORM}/q", headers={"Accept": "application/json"})
    assert response.status_code == 410
    assert response.get_json()["error"]["code"] == "draft_missing"


def test_json_message_is_in_the_participants_language(p, db):
    response = p.client.post(f"/f/{FORM}/q", data={"csrf_token": csrf_of(p), "_screen": "zz"},
                             headers={"Accept": "application/json"})
    assert response.status_code == 400
    expected = spanish("The answers sent could not be used. Please go back and try again.")
    if expected:
        assert response.get_json()["error"]["message"] == " ".join(expected.split())


# ------------------------------------------------------------------ never a 500

@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(SCREENS), values=st.lists(st.text(max_size=40), max_size=3))
def test_arbitrary_answers_never_cause_a_server_error(p, db, name, values):
    response = post_screen(p, name, values)
    assert response.status_code in (200, 303, 400, 422), response.get_data(as_text=True)[:500]
    assert submissions_of(db, FORM) == []
    if response.status_code == 303:
        stored = answers_of(db)[name]
        assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", stored)
