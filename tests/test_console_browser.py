"""The console in a real browser: every page a coordinator uses passes axe-core
(no serious or critical WCAG 2.x A/AA violations), in each language."""
import subprocess
import sys

import pytest

from browser import Server, axe_violations, chromium, screenshot  # noqa: F401 (fixture)
from conftest import FORMS, PASSWORD


@pytest.fixture(scope="module")
def console_server(tmp_path_factory):
    data = tmp_path_factory.mktemp("console")
    subprocess.run([sys.executable, "-m", "fieldkit", "users", "add", "ana", "--role", "coordinator",
                    "--password-stdin", "--data", str(data)], input=PASSWORD + "\n", text=True, check=True,
                   capture_output=True)
    subprocess.run([sys.executable, "-m", "fieldkit", "forms", "add", str(FORMS / "household.md"), "--data",
                    str(data)], check=True, capture_output=True)
    running = Server(data)
    yield running
    running.stop()


@pytest.mark.parametrize("lang", ["en", "am"])
def test_console_pages_have_no_serious_accessibility_violations(console_server, chromium, lang):
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale=lang)
    page = context.new_page()
    base = console_server.base
    try:
        page.goto(f"{base}/console/login?lang={lang}")
        problems = {"login": axe_violations(page)}
        page.fill("#username", "ana")
        page.fill("#password", PASSWORD)
        page.locator("form.stack button[type=submit]").click()
        page.wait_for_url("**/console/")
        page.goto(f"{base}/console/events")
        page.fill("#name", "Hall")
        page.check('input[name="forms"][value="household"]')
        page.fill("#wifi_ssid", "HallWifi")
        page.locator("form.stack button.primary").click()
        page.wait_for_url("**/console/events/*")
        event_url = page.url
        for name, path in (("home", "/console/"), ("form", "/console/forms/household"),
                           ("preview", "/console/forms/household/preview"),
                           ("results", "/console/forms/household/results"),
                           ("printable", "/console/forms/household/results/print"),
                           ("answers", "/console/forms/household/submissions"),
                           ("events", "/console/events"), ("activity", "/console/activity"),
                           ("sync", "/console/sync")):
            page.goto(base + path)
            problems[name] = axe_violations(page)
        for name, url in (("event", event_url), ("poster", event_url + "/poster"),
                          ("display", event_url + "/display")):
            page.goto(url)
            problems[name] = axe_violations(page)
        screenshot(page, f"console-{lang}-display")
        assert {name: found for name, found in problems.items() if found} == {}
    finally:
        context.close()


def test_the_console_works_on_a_phone(console_server, chromium):
    """At 360 px the navigation folds onto lines and tables scroll inside themselves:
    no console page is wider than the phone."""
    context = chromium.new_context(viewport={"width": 360, "height": 640}, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    base = console_server.base
    try:
        page.goto(f"{base}/console/login")
        page.fill("#username", "ana")
        page.fill("#password", PASSWORD)
        page.locator("form.stack button[type=submit]").click()
        page.wait_for_url("**/console/")
        screenshot(page, "console-phone-home")
        wide = {}
        for path in ("/console/", "/console/forms/household", "/console/forms/household/submissions",
                     "/console/forms/household/results", "/console/events", "/console/activity", "/console/sync",
                     "/console/forms/household/preview"):
            page.goto(base + path)
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > 360:
                wide[path] = width
        screenshot(page, "console-phone-preview")
        page.goto(f"{base}/console/forms/household")
        screenshot(page, "console-phone-form")
        assert wide == {}
        nav = page.locator(".console-top nav").bounding_box()
        assert nav["width"] <= 360
    finally:
        context.close()
