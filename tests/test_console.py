"""The coordinators' console: setup, sign-in, forms, events, poster, display."""
import io
import re
import time

import pytest

from conftest import (FORMS, PASSWORD, Page, Participant, csrf_of, sign_in, submissions_of,
                      submit_household)
from fieldkit import store
from fieldkit.services import poster
from fieldkit.services.accounts import new_setup_token

XSS = "<script>alert(1)</script>"


def upload(client, name: str, data: bytes):
    return client.post("/console/forms", data={"csrf_token": csrf_of(client, "/console/"),
                                               "xlsform": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


# --- accounts -------------------------------------------------------------------------------

def test_setup_link_creates_the_first_coordinator_once(app, db):
    token = new_setup_token(db)
    client = app.test_client()
    page = Page(client.get(f"/console/setup/{token}").get_data(as_text=True))
    response = client.post(f"/console/setup/{token}", data={
        "username": "ana", "password": PASSWORD, "confirm": PASSWORD, "csrf_token": page.hidden_fields["csrf_token"]})
    assert response.status_code == 303
    assert client.get("/console/").status_code == 200  # signed in straight away
    assert store.users.get_user(db, "ana")["role"] == "coordinator"
    assert app.test_client().get(f"/console/setup/{token}").status_code == 404  # used up
    assert new_setup_token(db) is None  # no new link once an account exists


def test_setup_refuses_weak_or_mismatched_passwords(app, db):
    token = new_setup_token(db)
    client = app.test_client()
    csrf = Page(client.get(f"/console/setup/{token}").get_data(as_text=True)).hidden_fields["csrf_token"]
    for password, confirm in (("short", "short"), (PASSWORD, PASSWORD + "x")):
        response = client.post(f"/console/setup/{token}", data={
            "username": "ana", "password": password, "confirm": confirm, "csrf_token": csrf})
        assert response.status_code == 422
    assert store.users.count_users(db) == 0


def test_passwords_are_stored_hashed(db):
    store.users.add_user(db, "ana", PASSWORD, "coordinator")
    stored = next(db.query("SELECT password_hash FROM users"))["password_hash"]
    assert PASSWORD not in stored and stored.startswith(("scrypt:", "pbkdf2:"))


def test_wrong_password_is_refused_and_brute_force_is_locked_out(app, db):
    store.users.add_user(db, "ana", PASSWORD, "coordinator")
    client = app.test_client()
    statuses = [sign_in(client, "ana", "wrong-password").status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 401, 429]
    assert sign_in(client, "ana", PASSWORD).status_code == 429  # even the right password, for a while
    db.execute("UPDATE users SET locked_until = '2000-01-01T00:00:00Z'")
    assert sign_in(client, "ana", PASSWORD).status_code == 303


def test_unknown_user_gets_the_same_answer(app):
    response = sign_in(app.test_client(), "nobody", "whatever-password")
    assert response.status_code == 401 and "user name or password" in response.get_data(as_text=True)


def test_sessions_expire_when_idle(app, signed_in):
    client = signed_in("coordinator")
    assert client.get("/console/").status_code == 200
    with client.session_transaction() as session:
        session["seen_at"] = time.time() - 2 * 60 * 60
    response = client.get("/console/")
    assert response.status_code == 303 and "/console/login" in response.location


def test_removed_account_is_signed_out_at_once(app, db, signed_in):
    client = signed_in("coordinator", "ana")
    store.users.delete_user(db, "ana")
    assert client.get("/console/").status_code == 303


def test_console_post_without_csrf_token_is_refused(add_form, signed_in):
    add_form("household.md")
    client = signed_in("coordinator")
    response = client.post("/console/forms/household/status", data={"status": "closed"})
    assert response.status_code == 400


def test_open_redirect_after_sign_in_is_refused(app, db):
    store.users.add_user(db, "ana", PASSWORD, "coordinator")
    client = app.test_client()
    csrf = csrf_of(client, "/console/login")
    response = client.post("/console/login?next=//evil.example/x", data={
        "username": "ana", "password": PASSWORD, "csrf_token": csrf})
    assert response.location.startswith("/console")


# --- forms ----------------------------------------------------------------------------------

def test_upload_an_xlsform_in_the_browser(signed_in, db):
    client = signed_in("coordinator")
    response = upload(client, "household.md", (FORMS / "household.md").read_bytes())
    assert response.status_code == 303 and response.location.endswith("/console/forms/household?added=added")
    page = client.get(response.location).get_data(as_text=True)
    assert "Household check" in page
    assert store.forms.current_form(db, "household").version == "1"
    assert store.audit.recent(db)[0]["action"] == "form.added"


@pytest.mark.parametrize("name,data,expected", [
    ("bad.md", b"| survey |\n| | type | name | label |\n| | geopointy | where | Where? |\n",
     "sheet survey, row 2, column type"),
    ("photo.xlsx", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "could not be read"),
    ("notes.txt", b"hello", "not an XLSForm"),
])
def test_bad_upload_is_explained_and_nothing_stored(signed_in, db, name, data, expected):
    client = signed_in("coordinator")
    before = db.count("forms")
    response = upload(client, name, data)
    assert response.status_code == 422
    assert expected in response.get_data(as_text=True)
    assert db.count("forms") == before


def test_huge_upload_is_refused_clearly(signed_in, app):
    client = signed_in("coordinator")
    response = upload(client, "big.xlsx", b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1))
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)


def test_upload_without_a_file(signed_in):
    client = signed_in("coordinator")
    response = client.post("/console/forms", data={"csrf_token": csrf_of(client, "/console/")})
    assert response.status_code == 400


def test_preview_in_each_language(add_form, signed_in):
    add_form("household.md")
    client = signed_in("coordinator")
    for lang, text in (("en", "How many people live with you?"), ("es", "¿Cuántas personas viven con usted?"),
                       ("so", "Immisa qof ayaa kula nool?"), ("am", "ከእርስዎ ጋር ስንት ሰዎች ይኖራሉ?")):
        page = client.get(f"/console/forms/household/preview?in={lang}").get_data(as_text=True)
        assert text in page and f'lang="{lang}"' in page
        assert "${consent} = &#39;yes&#39;" in page  # the rule that shows the group


def test_closing_a_form_stops_new_participants_but_not_those_answering(app, add_form, signed_in, participant, db):
    add_form("household.md")
    answering = participant("household")
    answering.start("en")
    client = signed_in("coordinator")
    response = client.post("/console/forms/household/status",
                           data={"status": "closed", "csrf_token": csrf_of(client, "/console/forms/household")})
    assert response.status_code == 303
    assert app.test_client().get("/f/household").status_code == 410
    answering.answer({"consent": "no"})
    assert answering.submit().status_code == 303
    assert len(submissions_of(db, "household")) == 1
    client.post("/console/forms/household/status",
                data={"status": "open", "csrf_token": csrf_of(client, "/console/forms/household")})
    assert app.test_client().get("/f/household").status_code == 200


def test_new_version_becomes_current_and_old_answers_keep_theirs(add_form, signed_in, participant, db):
    add_form("household.md")
    p = participant("household")
    p.start("en")
    p.answer({"consent": "no"})
    p.submit()
    client = signed_in("coordinator")
    v2 = (FORMS / "household.md").read_text(encoding="utf-8").replace(
        "| Household check | household | 1 |", "| Household check | household | 2 |")
    assert upload(client, "household.md", v2.encode()).status_code == 303
    assert store.forms.current_form(db, "household").version == "2"
    assert submissions_of(db, "household")[0]["form_version"] == "1"


def test_answers_are_escaped_in_the_table_and_detail(add_form, participant, signed_in, db):
    add_form("household.md")
    p = participant("household")
    submit_household(p, XSS)
    client = signed_in("coordinator")
    table = client.get("/console/forms/household/submissions").get_data(as_text=True)
    assert XSS not in table and "&lt;script&gt;alert(1)&lt;/script&gt;" in table
    uuid = submissions_of(db, "household")[0]["uuid"]
    detail = client.get(f"/console/submissions/{uuid}").get_data(as_text=True)
    assert XSS not in detail and "&lt;script&gt;" in detail


def test_submissions_are_paginated(add_form, signed_in, db):
    add_form("household.md")
    for i in range(120):
        store.submissions.add_submission(db, {
            "uuid": f"00000000-0000-0000-0000-{i:012d}", "form_id": "household", "form_version": "1",
            "language": "en", "answers": {"consent": "no"}, "started_at": "2026-01-01T10:00:00Z",
            "submitted_at": f"2026-01-01T10:{i // 60:02d}:{i % 60:02d}Z"})
    client = signed_in("coordinator")
    first = client.get("/console/forms/household/submissions").get_data(as_text=True)
    assert first.count("/console/submissions/") == 50 and "Page 1 of 3" in first
    third = client.get("/console/forms/household/submissions?page=3").get_data(as_text=True)
    assert third.count("/console/submissions/") == 20
    assert client.get("/console/forms/household/submissions?page=9").status_code == 404


# --- events, poster, display -----------------------------------------------------------------

def create_event(client, **values):
    data = {"name": "Saturday at the hall", "site": "St Mary's hall", "date": "2026-12-05",
            "forms": ["household"], "wifi_ssid": "Hall;2", "wifi_password": 'pa:ss"word',
            "wifi_security": "WPA", "csrf_token": csrf_of(client, "/console/events")}
    data.update(values)
    return client.post("/console/events", data=data)


def test_create_event_and_participants_are_counted_for_it(add_form, signed_in, app, db):
    add_form("household.md")
    client = signed_in("coordinator")
    response = create_event(client)
    assert response.status_code == 303
    event = store.events.list_events(db)[0]
    entry = app.test_client()
    redirect = entry.get(f"/e/{event['code']}")
    assert redirect.status_code == 303 and f"e={event['code']}" in redirect.location
    p = Participant(entry, "household")
    page = Page(entry.get(redirect.location).get_data(as_text=True))
    entry.post("/f/household/start", data={"lang": "es", "e": event["code"],
                                           "csrf_token": page.hidden_fields["csrf_token"]})
    p.consent("yes")
    p.answer({"consent": "no"})
    p.submit()
    assert submissions_of(db, "household")[0]["event_id"] == event["id"]


@pytest.mark.parametrize("values,status", [
    ({"name": ""}, 422), ({"forms": []}, 422), ({"date": "05/12/2026"}, 422),
    ({"forms": ["nope"]}, 400), ({"wifi_security": "WPA9"}, 400),
])
def test_event_form_refuses_bad_values(add_form, signed_in, db, values, status):
    add_form("household.md")
    client = signed_in("coordinator")
    assert create_event(client, **values).status_code == status
    assert store.events.list_events(db) == []


def test_unknown_event_code_is_404_and_bad_code_on_start_is_400(add_form, app):
    add_form("household.md")
    client = app.test_client()
    assert client.get("/e/zzzzz").status_code == 404
    page = Page(client.get("/f/household").get_data(as_text=True))
    response = client.post("/f/household/start", data={"lang": "en", "e": "zzzzz",
                                                       "csrf_token": page.hidden_fields["csrf_token"]})
    assert response.status_code == 400


def test_poster_has_wifi_and_form_qr_codes_and_four_languages(add_form, signed_in, db, app):
    add_form("household.md")
    client = signed_in("coordinator")
    create_event(client, name=XSS)
    event = store.events.list_events(db)[0]
    for paper in ("letter", "a4"):
        page = client.get(f"/console/events/{event['id']}/poster?paper={paper}").get_data(as_text=True)
        assert f"paper-{paper}" in page
    assert page.count('<svg class="qr"') == 2
    payload = poster.wifi_payload("Hall;2", 'pa:ss"word', "WPA")
    assert payload == 'WIFI:T:WPA;S:Hall\\;2;P:pa\\:ss\\"word;;'
    assert poster.svg(payload).split(">", 1)[1] in page  # the Wi-Fi code encodes exactly that payload
    for lang in ("en", "es", "so", "am"):
        assert f'<li lang="{lang}">' in page
    assert XSS not in page
    assert f"/e/{event['code']}" in page


def test_poster_without_wifi_has_one_code(add_form, signed_in, db):
    add_form("household.md")
    client = signed_in("coordinator")
    create_event(client, wifi_ssid="", wifi_password="")
    event = store.events.list_events(db)[0]
    page = client.get(f"/console/events/{event['id']}/poster").get_data(as_text=True)
    assert page.count('<svg class="qr"') == 1


def test_display_counts_responses_with_small_counts_hidden(add_form, signed_in, db):
    add_form("household.md")
    coordinator = signed_in("coordinator")
    create_event(coordinator)
    event = store.events.list_events(db)[0]
    facilitator = signed_in("facilitator")

    def add(n):
        for i in range(n):
            store.submissions.add_submission(db, {
                "uuid": f"{event['id']}-{time.time_ns()}-{i}", "form_id": "household", "form_version": "1",
                "language": "en", "answers": {}, "submitted_at": "2026-12-05T10:00:00Z",
                "event_id": event["id"]})

    add(3)
    page = facilitator.get(f"/console/events/{event['id']}/display").get_data(as_text=True)
    assert "&lt;5" in page and f'data-count-url="/console/events/{event["id"]}/count"' in page
    assert facilitator.get(f"/console/events/{event['id']}/count").get_json() == {"count": "<5"}
    add(4)
    page = facilitator.get(f"/console/events/{event['id']}/display").get_data(as_text=True)
    assert ">7<" in page
    assert facilitator.get(f"/console/events/{event['id']}/count").get_json() == {"count": "7"}


def test_small_counts_are_hidden_from_facilitators_only(add_form, participant, signed_in):
    add_form("household.md")
    for _ in range(3):
        p = participant("household", client_=None)
        p.client = p.client.application.test_client()
        p.start("en")
        p.answer({"consent": "no"})
        p.submit()
    facilitator = signed_in("facilitator").get("/console/").get_data(as_text=True)
    coordinator = signed_in("coordinator").get("/console/").get_data(as_text=True)
    assert '<td class="num">&lt;5</td>' in facilitator
    assert '<td class="num">3</td>' in coordinator


def test_the_poster_names_the_survey_by_its_public_title_and_speaks_its_languages(signed_in, db):
    """A call to action in each of the form's languages (those the interface speaks), the
    network and its password printed, and nothing that names the survey's topic."""
    from fieldkit.services import forms as form_service
    form_service.import_form(db, b"| survey |\n| | type | name | label::English (en) | label::Espa\xc3\xb1ol (es) |\n"
                                 b"| | text | q | Q | P |\n| settings |\n| | form_id | form_title | public_title | "
                                 b"public_id |\n| | ipv_norms | Partner violence norms | Community check-in | checkin |\n",
                             "norms.md")
    client = signed_in("coordinator")
    create_event(client, forms=["ipv_norms"], wifi_ssid="HallWifi", wifi_password="lentils42")
    event = store.events.list_events(db)[0]
    html = client.get(f"/console/events/{event['id']}/poster").get_data(as_text=True)
    words = Page(html).text
    assert '<h1 class="poster-title" lang="en">Community check-in</h1>' in html
    assert "ipv_norms" not in html and "violence" not in html.lower()
    assert "It is anonymous" in words and "Es anónima" in words
    assert 'lang="so"' not in html and 'lang="am"' not in html  # the form is in English and Spanish only
    assert "HallWifi" in words and "lentils42" in words and "Contraseña" in words
    assert re.search(r'<p class="poster-link">http://localhost/e/' + event["code"] + "</p>", html)
