"""The Kobo-style form of issue 12 (tests/forms/kobo.md) on a phone in Chromium at
360x640: its table-list block and its geopoint, with JavaScript off and on, each page
checked with axe-core; "Use my location" where the browser gives a position (a secure
context: 127.0.0.1 is one, as the kiosk is)."""
import subprocess
import sys
from pathlib import Path

import pytest

from browser import Server, axe_violations, chromium, phone, screenshot  # noqa: F401 (fixtures)
from test_forms_browser import press, start

FORMS = Path(__file__).parent / "forms"


@pytest.fixture(scope="module")
def kobo_server(tmp_path_factory):
    data = tmp_path_factory.mktemp("kobo-browser")
    done = subprocess.run([sys.executable, "-m", "fieldkit", "forms", "add", str(FORMS / "kobo.md"), "--data",
                           str(data)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "things to know" in done.stdout, done.stdout + done.stderr
    running = Server(data)
    yield running
    running.stop()


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
@pytest.mark.parametrize("lang", ["en", "es"])
def test_a_kobo_form_on_a_phone(kobo_server, phone, js, lang):
    page = phone(js=js)
    start(page, kobo_server.base, "kobo_checkin", lang)
    page.locator('input[name="consent"][value="yes"]').check()
    press(page)
    page.locator("#calm-field").wait_for()
    # the table-list block: one screen, each row's answers side by side, its header a row of names
    assert page.locator("ul.table-header li").count() == 3
    assert page.locator("#calm-field fieldset.likert").count() == 1
    if js:
        assert axe_violations(page) == [], "table-list"
    screenshot(page, f"kobo-table-list-{lang}-{'js' if js else 'nojs'}")
    page.locator('input[name="calm"][value="often"]').check()
    page.locator('input[name="worried"][value="never"]').check()
    press(page)
    page.locator("#home-0").wait_for()
    assert page.locator("details.guidance").count() == 1
    if js:
        assert axe_violations(page) == [], "geopoint"
    screenshot(page, f"kobo-geopoint-{lang}-{'js' if js else 'nojs'}")
    page.fill("#home-0", "9.0301")
    page.fill("#home-1", "38.7408")
    press(page)
    page.locator("#walk").wait_for()


def to_the_geopoint(page, base: str):
    """Consent, the table-list block answered, and on to the geopoint's page."""
    start(page, base, "kobo_checkin")
    page.locator('input[name="consent"][value="yes"]').check()
    press(page)
    page.locator('input[name="calm"][value="often"]').check()
    page.locator('input[name="worried"][value="never"]').check()
    press(page)


def test_use_my_location_fills_the_point_where_the_browser_gives_it(kobo_server, chromium):
    from browser import PHONE
    context = chromium.new_context(**PHONE, geolocation={"latitude": 9.0301, "longitude": 38.7408, "accuracy": 12},
                                   permissions=["geolocation"])
    try:
        page = context.new_page()
        to_the_geopoint(page, kobo_server.base)
        button = page.locator("button[data-fk-geo]")
        button.wait_for()
        button.click()
        page.wait_for_function("document.getElementById('home-0').value !== ''")
        assert (page.input_value("#home-0"), page.input_value("#home-1"), page.input_value("#home-3")) == (
            "9.0301", "38.7408", "12")
    finally:
        context.close()


def test_without_javascript_there_is_no_location_button_to_press(kobo_server, phone):
    page = phone(js=False)
    to_the_geopoint(page, kobo_server.base)
    page.locator("#home-0").wait_for()
    assert not page.locator("button[data-fk-geo]").is_visible()
