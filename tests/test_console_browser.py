"""The console in a real browser: every page a coordinator uses passes axe-core
(no serious or critical WCAG 2.x A/AA violations), in each language."""
import re
import subprocess
import sys

import pytest

from browser import Server, axe_violations, chromium, new_event, screenshot, sign_in_on_page  # noqa: F401 (fixture)
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
        sign_in_on_page(page)
        event_url = new_event(page, base, "household")
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
        page.goto(base + "/console/collectors/")  # ODK Collect: a new collector's QR code, shown once
        page.fill("#name", f"Tablet {lang}")
        page.click("button.primary")
        assert page.locator("svg.qr").count() == 1
        problems["collectors"] = axe_violations(page)
        screenshot(page, f"console-{lang}-collectors")
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
        sign_in_on_page(page)
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


@pytest.mark.parametrize("paper,size", [("a4", "A4"), ("letter", "Letter")])
def test_the_poster_prints_on_one_sheet_with_its_link_on_one_line(console_server, chromium, paper, size):
    """The poster printed to PDF by Chromium, as a coordinator would print it: one page,
    the short link on a single line inside the sheet, the codes large. The PDF and a
    picture of the sheet are kept as test artefacts."""
    from browser import ARTIFACTS
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    base = console_server.base
    try:
        page.goto(f"{base}/console/login")
        sign_in_on_page(page)
        page.goto(f"{new_event(page, base, 'household', 'Poster night', 'lentils42')}/poster?paper={paper}")
        page.emulate_media(media="print")
        link = page.locator(".poster-link")
        line = float(page.evaluate("parseFloat(getComputedStyle(document.querySelector('.poster-link')).lineHeight)"
                                   " || 1.2 * parseFloat(getComputedStyle(document.querySelector('.poster-link')).fontSize)"))
        box, sheet = link.bounding_box(), page.locator(".poster-sheet").bounding_box()
        assert box["height"] < 1.6 * line  # one line
        assert page.evaluate("document.querySelector('.poster-link').scrollWidth <= "
                             "document.querySelector('.poster-sheet').clientWidth")
        codes = [b["width"] for b in (q.bounding_box() for q in page.locator(".poster-qr svg").all())]
        assert len(codes) == 2 and min(codes) >= 0.35 * sheet["width"]  # large: over a third of the sheet each
        ARTIFACTS.mkdir(exist_ok=True)
        pdf = page.pdf(path=str(ARTIFACTS / f"poster-{paper}.pdf"), format=size, prefer_css_page_size=True,
                       print_background=True)
        assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1  # one sheet
        screenshot(page, f"poster-{paper}")
    finally:
        context.close()
