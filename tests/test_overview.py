"""A coordinator's day (issue 14, item 6): the laptop's front page, the console's
overview, and a form page that gives its participant link, QR code, kiosk link and
the events collecting it."""
from __future__ import annotations

import datetime as dt
import re

from conftest import Page, submit_household
from fieldkit.services import forms as form_service, overview as overview_service
from fieldkit.store import events as event_store, forms as form_store

SENSITIVE = (b"| survey |\n| | type | name | label |\n| | text | q | Q |\n| settings |\n"
             b"| | form_id | form_title | public_title | public_id |\n| | ipv_norms | Partner violence norms | "
             b"Community check-in | checkin |\n")


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def test_the_laptops_own_address_lists_the_open_surveys_by_their_public_titles(app, db):
    form_service.import_form(db, SENSITIVE, "norms.md")
    page = app.test_client().get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Community check-in" in html and 'href="/f/checkin"' in html
    assert "ipv_norms" not in html and "violence" not in html  # the neutral id and title only
    assert "Community wellbeing check-in" in html  # the demo, open too


def test_with_no_survey_open_the_front_page_says_what_to_do(app, db):
    form_store.set_status(db, "wellbeing", "closed")
    page = app.test_client().get("/", headers={"Accept-Language": "es"})
    assert page.status_code == 200 and 'href="/f/' not in page.get_data(as_text=True)
    assert page.get_data(as_text=True).count("<h1") == 1 and 'lang="es"' in page.get_data(as_text=True)


def test_the_overview_counts_todays_answers_per_event_and_the_forms_open(app, db, add_form, participant, tmp_path):
    add_form("household.md")
    hall = event_store.add_event(db, {"name": "Church hall"}, ["household"])
    yesterday = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for _ in range(2):
        submit_household(participant("household"), "no")
    submit_household(participant("household"), "old")
    db.execute("UPDATE submissions SET submitted_at = ? WHERE uuid = (SELECT MAX(uuid) FROM submissions)",
               [yesterday])
    db.execute("UPDATE submissions SET event_id = ? WHERE uuid = (SELECT MIN(uuid) FROM submissions)", [hall["id"]])
    seen = overview_service.overview(db, tmp_path)
    assert seen.answers_today == 2 and sorted((r["name"] or "", r["n"]) for r in seen.today) == [
        ("", 1), ("Church hall", 1)]
    assert (seen.forms_open, seen.forms, seen.linked, seen.unsynced) == (2, 2, False, 3)
    assert seen.disk_free and seen.disk_total >= seen.disk_free


def test_the_start_of_today_is_the_laptops_midnight_in_utc():
    evening = dt.datetime(2026, 12, 2, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-8)))  # California
    assert overview_service.local_midnight_utc(evening) == "2026-12-02T08:00:00Z"


def test_the_console_home_shows_the_overview_first(signed_in):
    page = signed_in("coordinator").get("/console/")
    words = text(page)
    assert page.status_code == 200
    assert words.index("Answers today") < words.index("Forms open") < words.index("Last sync") < words.index(
        "Disk space") < words.index("Add a form")
    assert "Not linked to a central server." in words and "GB free" in words
    facilitator = text(signed_in("facilitator").get("/console/"))
    assert "Answers today" in facilitator and "Last sync" not in facilitator  # sync is the coordinator's


def test_low_disk_space_is_said_plainly(signed_in, monkeypatch):
    import shutil
    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(100 * 1024 ** 3, 99.5 * 1024 ** 3,
                                                                                     int(0.5 * 1024 ** 3)))
    assert "The disk is nearly full" in text(signed_in("coordinator").get("/console/"))


def test_a_form_page_gives_its_neutral_link_qr_code_kiosk_link_and_events(signed_in, db):
    form_service.import_form(db, SENSITIVE, "norms.md")
    event_store.add_event(db, {"name": "Worker centre"}, ["ipv_norms"])
    html = signed_in("coordinator").get("/console/forms/ipv_norms").get_data(as_text=True)
    assert "http://localhost/f/checkin" in html and 'href="/f/checkin/kiosk"' in html  # kiosk: the laptop itself
    assert re.search(r'<svg class="qr" role="img" aria-label="[^"]*http://localhost/f/checkin"', html)
    assert "Worker centre" in text(signed_in("coordinator").get("/console/forms/ipv_norms"))
    assert "No event yet." in text(signed_in("coordinator").get("/console/forms/wellbeing"))


def test_commands_are_shown_as_code(signed_in):
    html = signed_in("coordinator").get("/console/forms/wellbeing").get_data(as_text=True)
    assert "<code>fieldkit keys new</code>" in html and "`" not in Page(html).text
