"""Amharic wherever it appears (issue 14, item 2), in Chromium on a machine with no
Ethiopic font of its own: the quick exit's neutral page, the console in Amharic and
its Languages line in English, the preview, the Answers table, the results, the
poster and the projector display. Every Ethiopic letter on each page is drawn with
fieldkit's own font, never as a box. Screenshots are kept as test artefacts."""
import subprocess
import sys

import pytest

from browser import (Server, chromium, ethiopic_not_in_fieldkits_font, has_ethiopic_system_font,  # noqa: F401
                     new_event, screenshot, sign_in_on_page)
from conftest import PASSWORD
from test_phones import walk_demo


@pytest.fixture(scope="module")
def amharic_server(tmp_path_factory):
    data = tmp_path_factory.mktemp("amharic")
    subprocess.run([sys.executable, "-m", "fieldkit", "users", "add", "ana", "--role", "coordinator",
                    "--password-stdin", "--data", str(data)], input=PASSWORD + "\n", text=True, check=True,
                   capture_output=True)
    running = Server(data)
    yield running
    running.stop()


def test_every_page_that_can_show_amharic_draws_it_in_fieldkits_font(amharic_server, chromium):
    if has_ethiopic_system_font():
        pytest.skip("this machine has an Ethiopic font of its own: the check needs one without (as CI's)")
    base = amharic_server.base
    phone = chromium.new_context(viewport={"width": 360, "height": 640}, locale="am")
    laptop = {lang: chromium.new_context(viewport={"width": 1280, "height": 900}, locale=lang) for lang in ("en", "am")}
    try:
        page = phone.new_page()
        walk_demo(page, base, "am")  # an answer in Amharic for the Answers table
        page.goto(f"{base}/recipes/lentil-soup")
        wrong = {"neutral": ethiopic_not_in_fieldkits_font(page)}
        screenshot(page, "amharic-neutral")
        for lang, context in laptop.items():
            page = context.new_page()
            page.goto(f"{base}/console/login")
            sign_in_on_page(page)
            if lang == "en":
                event = new_event(page, base, "wellbeing")
            pages = {"home": "/console/", "form": "/console/forms/wellbeing",
                     "preview": "/console/forms/wellbeing/preview?in=am",
                     "answers": "/console/forms/wellbeing/submissions",
                     "results": "/console/forms/wellbeing/results"}
            for name, path in pages.items():
                page.goto(base + path)
                wrong[f"{lang}-{name}"] = ethiopic_not_in_fieldkits_font(page)
                screenshot(page, f"amharic-console-{lang}-{name}")
            for name in ("poster", "display"):
                page.goto(f"{event}/{name}")
                wrong[f"{lang}-{name}"] = ethiopic_not_in_fieldkits_font(page)
                screenshot(page, f"amharic-{lang}-{name}")
        assert {name: found for name, found in wrong.items() if found} == {}
    finally:
        phone.close()
        for context in laptop.values():
            context.close()


def test_the_check_finds_a_letter_the_font_does_not_have(amharic_server, chromium):
    """The check above can fail: Ethiopic letters outside any subset (a letter of the
    Ethiopic Extended block the font lacks would do too) drawn on a console page."""
    if has_ethiopic_system_font():
        pytest.skip("this machine has an Ethiopic font of its own")
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{amharic_server.base}/recipes/lentil-soup")  # an English page: no font linked
        page.evaluate("() => { const p = document.createElement('p'); p.textContent = 'ሰላም'; document.body.append(p); }")
        assert ethiopic_not_in_fieldkits_font(page) == [("ሰላም", 3, 0)]
    finally:
        context.close()


def test_amharic_typed_on_a_page_in_another_language_is_drawn_too(amharic_server, chromium):
    """A participant answering in English who types a word in Amharic: the page's face of
    every letter is fetched then, and only then (not for a page with no Ethiopic)."""
    if has_ethiopic_system_font():
        pytest.skip("this machine has an Ethiopic font of its own")
    import time
    deadline = time.monotonic() + 30
    while True:  # the every-letter subset is built in the background at start-up: a new phone each try
        context = chromium.new_context(viewport={"width": 360, "height": 640}, locale="en")
        page = context.new_page()
        page.goto(f"{amharic_server.base}/f/wellbeing?lang=en")
        page.locator('button[name="lang"][value="en"]').click()
        page.locator('button[name="consent"][value="yes"]').click()
        page.wait_for_url("**/q")
        if page.locator('link[href*="/a/font/"]').count() or time.monotonic() > deadline:
            break
        context.close()
        time.sleep(0.5)
    try:
        assert page.locator('link[href*="/a/font/"]').count() == 1
        statuses = "[...document.fonts].filter(f => f.family.includes('Fieldkit')).map(f => f.status)"
        page.evaluate("document.fonts.ready")
        assert set(page.evaluate(statuses)) == {"unloaded"}  # nothing fetched for an English page
        page.fill("#household_size", "3")
        page.evaluate("() => { const p = document.createElement('p'); p.textContent = 'ሰላም'; "
                      "document.querySelector('main').append(p); }")  # what a typed word is drawn like
        until = time.monotonic() + 10
        while "loaded" not in page.evaluate(statuses) and time.monotonic() < until:  # (the page's CSP allows no eval)
            page.wait_for_timeout(100)
        assert "loaded" in page.evaluate(statuses)
        page.evaluate("async () => { await document.fonts.ready; await new Promise(r => requestAnimationFrame(r)); }")
        assert ethiopic_not_in_fieldkits_font(page) == []
    finally:
        context.close()
