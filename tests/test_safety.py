"""Participant safety: quick exit, consent, help, neutral framing, no traces."""
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from requests.adapters import HTTPAdapter

from conftest import FORMS, Page, Participant, csrf_of, drafts_of, submissions_of
from engines import instance_url
from fieldkit import store
from test_serve import field, free_port, stop, wait_for

ROOT = Path(__file__).resolve().parent.parent
NEUTRAL = "/recipes/lentil-soup"

NEUTRAL_FORM = """| survey |
| | type | name | label::English (en) | label::Español (es) |
| | integer | hits | How often were you hit? | ¿Cuántas veces? |
| settings |
| | form_title | public_title | public_title::Español (es) | public_id | form_id | default_language | consent_text::English (en) |
| | IPV exposure assessment | Community check-in | Encuesta comunitaria | checkin | ipv_assessment | English (en) | Own consent words. |
"""


def exit_link(page: Page) -> str:
    match = re.search(r'<a class="quick-exit" href="([^"]+)" data-exit', page.html)
    assert match, "no quick exit"
    # First link on the page: the first thing a keyboard or screen reader reaches.
    assert page.html.index('class="quick-exit"') < page.html.index("<header")
    return match.group(1)


def test_quick_exit_is_on_every_participant_page(add_form, participant, client):
    add_form("household.md")
    p = participant("household")
    pages = [p.open("en"), p.choose_language("en")]
    p.consent("yes")
    pages.append(p.current())
    pages.append(Page(client.get("/f/household/help").get_data(as_text=True)))
    pages.append(Page(client.get("/f/nope").get_data(as_text=True)))  # even an error page
    for page in pages:
        assert exit_link(page) == NEUTRAL


def test_quick_exit_discards_the_draft_and_lands_on_a_neutral_page(add_form, participant, client, db):
    add_form("household.md")
    p = participant("household")
    p.start("es")
    p.answer({"consent": "yes"})
    assert len(drafts_of(db)) == 1
    response = client.get(NEUTRAL)
    assert response.status_code == 200
    assert drafts_of(db) == []
    text = response.get_data(as_text=True)
    assert 'lang="es"' in text  # the neutral page speaks the participant's language
    for word in ("Household", "survey", "encuesta", "Exit", "Salir", "household"):
        assert word not in text
    assert response.headers["Cache-Control"] == "no-store"
    assert client.get("/f/household/q").status_code == 410  # Back shows nothing of the answers
    assert submissions_of(db, "household") == []


def test_javascript_quick_exit_replaces_history_and_hides_the_page():
    script = (ROOT / "fieldkit" / "static" / "fieldkit.js").read_text()
    assert "location.replace(exit.href)" in script and '"Shift"' in script and "presses.length >= 3" in script
    assert "sessionStorage.clear()" in script
    assert ".fk-leaving body{visibility:hidden}" in (ROOT / "fieldkit" / "static" / "fieldkit.css").read_text()


def test_declining_consent_stores_nothing_and_shows_help(add_form, participant, db):
    add_form("household.md")
    p = participant("household")
    page = p.choose_language("so")
    assert page.lang == "so" and 'name="consent" value="no"' in page.html
    response = p.consent("no")
    assert response.status_code == 303
    page = Page(p.client.get(response.location).get_data(as_text=True))
    assert "1-800-799-7233" in page.html and page.lang == "so"
    assert drafts_of(db) == [] and submissions_of(db, "household") == []
    assert p.client.get("/f/household/q").status_code == 410


def test_nothing_is_written_before_consent(add_form, participant, db):
    add_form("household.md")
    participant("household").choose_language("en")
    assert drafts_of(db) == []


def test_consent_text_is_the_forms_own_in_each_language(participant):
    page = participant("wellbeing").choose_language("es")
    assert "Es anónimo" in page.html
    page = participant("wellbeing").choose_language("en")
    assert "It is anonymous" in page.html


def test_consent_without_choosing_a_language_first(add_form, client):
    add_form("household.md")
    assert client.get("/f/household/consent").status_code == 303
    csrf = Page(client.get("/f/household").get_data(as_text=True)).hidden_fields["csrf_token"]
    assert client.post("/f/household/consent", data={"consent": "yes", "csrf_token": csrf}).status_code == 400


def test_help_is_in_the_same_place_on_every_screen_and_keeps_answers(add_form, participant, client, db):
    add_form("household.md")
    p = participant("household")
    p.start("am")
    p.answer({"consent": "yes"})
    screen = p.current()
    assert '<a class="help-link" href="/f/household/help">' in screen.html
    help_page = client.get("/f/household/help")
    assert help_page.status_code == 200 and "1-800-799-7233" in help_page.get_data(as_text=True)
    assert Page(help_page.get_data(as_text=True)).lang == "am"
    assert 'href="/f/household/q"' in help_page.get_data(as_text=True)
    assert drafts_of(db)[0]["answers"]["consent"] == "yes"


def test_help_resources_are_shown_to_everyone_at_the_end(add_form, participant):
    add_form("household.md")
    p = participant("household")
    p.start("en")
    p.answer({"consent": "no"})
    response = p.submit()
    done = p.client.get(response.location).get_data(as_text=True)
    assert "National Domestic Violence Hotline" in done and 'href="tel:1-800-799-7233"' in done


def test_event_help_resources_per_language(add_form, signed_in, db, app):
    add_form("household.md")
    coordinator = signed_in("coordinator")
    coordinator.post("/console/events", data={"name": "Hall", "forms": ["household"],
                                              "csrf_token": csrf_of(coordinator, "/console/events")})
    event = store.events.list_events(db)[0]
    assert "1-800-799-7233" in coordinator.get(f"/console/events/{event['id']}").get_data(as_text=True)
    response = coordinator.post(f"/console/events/{event['id']}/help", data={
        "name": "Casa de la Mujer", "phone": "559-555-0100", "text_es": "Ayuda en español",
        "text_en": "Help in English", "csrf_token": csrf_of(coordinator, f"/console/events/{event['id']}")})
    assert response.status_code == 303
    participant_client = app.test_client()
    p = Participant(participant_client, "household")
    page = Page(participant_client.get(f"/f/household?e={event['code']}").get_data(as_text=True))
    participant_client.post("/f/household/start", data={"lang": "es", "e": event["code"],
                                                        "csrf_token": page.hidden_fields["csrf_token"]})
    p.consent("yes")
    help_page = participant_client.get("/f/household/help").get_data(as_text=True)
    assert "Casa de la Mujer" in help_page and "Ayuda en español" in help_page
    assert "Help in English" not in help_page


def test_public_title_and_id_are_what_participants_see(db, client):
    from fieldkit.services.forms import import_form
    import_form(db, NEUTRAL_FORM.encode(), "ipv.md")
    assert client.get("/f/ipv_assessment").status_code == 404  # the internal name leads nowhere
    page = client.get("/f/checkin", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "<title>Encuesta comunitaria</title>" in page
    assert "IPV" not in page and "ipv" not in page
    p = Participant(client, "checkin")
    consent = p.choose_language("en")
    assert "Own consent words." in consent.html and "IPV" not in consent.html
    p.consent("yes")
    screen = p.current()  # every question screen, too
    assert "Community check-in" in screen.html and "IPV" not in screen.html


def test_public_id_cannot_take_another_forms_name(db):
    from fieldkit.forms.xlsform import FormImportError
    from fieldkit.services.forms import import_form, import_path
    import_path(db, FORMS / "household.md")
    with pytest.raises(FormImportError) as error:
        import_form(db, NEUTRAL_FORM.replace("| checkin |", "| household |").encode(), "x.md")
    assert "household" in error.value.problems[0].render()


# --- no traces on the phone ------------------------------------------------------------------

def test_no_store_and_strict_cookies_everywhere(add_form, participant, signed_in):
    add_form("household.md")
    p = participant("household")
    p.open("en")
    start = p.client.post("/f/household/start", data={"lang": "en", "csrf_token": csrf_of(p.client, "/f/household")})
    cookie = start.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Expires" not in cookie and "Max-Age" not in cookie  # a session cookie: gone when the browser closes
    console = signed_in("coordinator")
    for client, path in ((p.client, "/f/household/consent"), (p.client, "/f/household"),
                         (console, "/console/"), (console, "/console/events")):
        response = client.get(path)
        assert response.headers["Cache-Control"] == "no-store", path
        assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["Referrer-Policy"] == "no-referrer"


def test_templates_have_no_inline_script_or_style():
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), path
        assert "<style" not in text and " style=" not in text, path
        assert not re.search(r"\son[a-z]+=", text), path  # no onclick= and the like


def test_participant_forms_switch_autocomplete_off(add_form, participant):
    add_form("household.md")
    p = participant("household")
    for page in (p.open("en"), p.choose_language("en")):
        assert all('autocomplete="off"' in form for form in re.findall(r"<form[^>]*>", page.html))
    p.consent("yes")
    assert all('autocomplete="off"' in form for form in re.findall(r"<form[^>]*>", p.current().html))


def test_no_answers_in_local_storage():
    assert "localStorage" not in (ROOT / "fieldkit" / "static" / "fieldkit.js").read_text()


# --- no traces on the laptop ------------------------------------------------------------------

class SourceAddress(HTTPAdapter):
    """Connect from a chosen loopback address, so that it can be searched for."""

    def __init__(self, address):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def test_no_participant_address_or_browser_is_stored_or_logged(tmp_path):
    data = tmp_path / "data"
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "fieldkit", "serve", "--host", "127.0.0.1", "--port",
                                    str(port), "--data", str(data), "--no-qr"], stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    agent = "ProbePhone/9.9 (unique-agent-5f3e2d)"
    address = "127.0.0.77"
    try:
        wait_for(base + "/f/wellbeing", process)
        http = requests.Session()
        http.mount("http://", SourceAddress(address))
        http.headers["User-Agent"] = agent
        start = http.get(base + "/f/wellbeing")
        consent = http.post(base + "/f/wellbeing/start", data={"lang": "en", "csrf_token": field(start.text, "csrf_token")})
        http.post(base + "/f/wellbeing/consent", data={"consent": "yes", "csrf_token": field(consent.text, "csrf_token")})
        for answers in ({"age_band": "age_16_24"}, {"wellbeing_rating": "good"}, {"has_support": "no"}, {}, {}):
            page = http.get(base + "/f/wellbeing/q").text
            http.post(base + "/f/wellbeing/q", data=dict(answers, csrf_token=field(page, "csrf_token"),
                                                         _screen=field(page, "_screen"), _action="next"))
        review = http.get(base + "/f/wellbeing/q").text
        done = http.post(base + "/f/wellbeing/submit", data={"csrf_token": field(review, "csrf_token"),
                                                             "_uuid": field(review, "_uuid")})
        assert done.status_code == 200
        http.get(base + "/f/nope")  # an error is not logged with the address either
        login = http.get(base + "/console/login").text
        statuses = {http.post(base + "/console/login", data={"username": "x", "password": "y",
                                                              "csrf_token": field(login, "csrf_token")}).status_code
                    for _ in range(12)}
        assert 429 in statuses  # the rate limiter's own log line would name the address
    finally:
        stop(process)
    db = store.connect(instance_url(data))
    assert store.submissions.count_submissions(db) == 1
    db.close()
    for path in [log] + list(data.iterdir()):
        blob = path.read_bytes()
        for secret in (address, agent, "unique-agent"):
            assert secret.encode() not in blob, (path.name, secret)


def test_kiosk_mode_starts_each_person_afresh(add_form, app, db):
    add_form("household.md")
    kiosk = app.test_client()
    assert kiosk.get("/f/household/kiosk", environ_base={"REMOTE_ADDR": "192.0.2.9"}).status_code == 403
    assert kiosk.get("/f/household/kiosk").status_code == 303
    first = Participant(kiosk, "household")
    first.start("so")
    first.answer({"consent": "no"})
    done = first.client.get(first.submit().location).get_data(as_text=True)
    assert 'http-equiv="refresh" content="60;url=/f/household/kiosk"' in done
    assert 'href="/f/household/kiosk"' in done
    # The next person: a half-finished form from before is gone, and so is the language.
    second = Participant(kiosk, "household")
    second.start("en")
    second.answer({"consent": "yes"})
    assert kiosk.get("/f/household/kiosk").status_code == 303
    assert drafts_of(db) == []
    assert kiosk.get("/f/household/q").status_code == 410
    page = Page(kiosk.get("/f/household").get_data(as_text=True))
    assert 'name="lang"' in page.html
