"""Issue 8's forms in a real browser at 360x640, JavaScript on and off: a household
roster (repeats), a cascade, media prompts and a photo upload, each page checked
with axe-core. The server is a real `fieldkit serve` with the forms added by
`fieldkit forms add`, media files and all."""
import subprocess
import sys
from pathlib import Path

import pytest

from browser import Server, axe_violations, chromium, phone, screenshot  # noqa: F401 (fixtures)

FORMS = Path(__file__).parent / "forms"
PNG = FORMS / "prompts" / "house.png"


@pytest.fixture(scope="module")
def forms_server(tmp_path_factory):
    data = tmp_path_factory.mktemp("forms-browser")
    adds = [["roster.md"], ["households.md"], ["cascade.md"], ["t_files.md"],
            ["prompts.md", *sorted(p.name for p in (FORMS / "prompts").iterdir())]]
    for files in adds:
        paths = [str(FORMS / files[0])] + [str(FORMS / "prompts" / f) for f in files[1:]]
        done = subprocess.run([sys.executable, "-m", "fieldkit", "forms", "add", *paths, "--data", str(data)],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
    running = Server(data)
    yield running
    running.stop()


def start(page, base: str, key: str, lang: str = "en"):
    page.goto(f"{base}/f/{key}")
    page.locator(f'button[name="lang"][value="{lang}"]').click()
    page.wait_for_url("**/consent")
    page.locator('button[name="consent"][value="yes"]').click()
    page.wait_for_url("**/q")


def press(page, value: str = "next"):
    page.locator(f'button[name="_action"][value="{value}"]').click()


def no_violations(page, where: str, js: bool = True):
    """axe-core on the page. It is a script, so a page with JavaScript off is not
    checked: the same pages are, in the runs with JavaScript on."""
    if not js:
        return
    found = axe_violations(page)
    assert found == [], (where, found)


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_roster_on_a_phone(forms_server, phone, js):
    page = phone(js=js)
    start(page, forms_server.base, "roster")
    page.fill("#kids", "1")
    press(page)
    page.locator("#child_age").wait_for()
    assert "Child 1" in page.locator("h1").inner_text()
    page.fill("#child_age", "9")
    if js:  # the school question appears as the age is typed, worked out in the page
        page.locator("#school-field").wait_for(state="visible")
    else:
        press(page)
        page.locator("#school-field").wait_for(state="visible")
    page.locator('label[for="school-0"]').click()
    no_violations(page, "instance page", js)
    press(page)
    page.get_by_text("None added yet.").wait_for()
    no_violations(page, "empty list page", js)
    press(page, "add")
    page.locator("#name").wait_for()
    page.fill("#name", "Amina")
    page.fill("#age", "40")
    if not js:
        press(page)  # works appears on Next without JavaScript
    page.locator("#works-field").wait_for(state="visible")
    page.locator('label[for="works-0"]').click()
    press(page)
    page.get_by_text("Adult 1: Amina").wait_for()
    no_violations(page, "list page", js)
    screenshot(page, f"roster-list-{'js' if js else 'nojs'}")
    press(page, "add")
    page.locator("#name").wait_for()
    page.fill("#name", "Extra")
    page.fill("#age", "70")
    press(page)
    page.get_by_text("Adult 2: Extra").wait_for()
    press(page, "remove-2")
    page.get_by_text("Adult 2: Extra").wait_for(state="detached")
    assert page.get_by_text("Adult 1: Amina").count() == 1
    press(page)
    page.locator('label[for="enough-0"]').click()
    press(page)
    page.locator('button[type="submit"]:not([value])').first.click()  # Submit on the review page
    page.wait_for_url("**/done")


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_a_repeat_inside_a_repeat_on_a_phone(forms_server, phone, js):
    """Households and their children: the child's page knows both positions, and its
    constraint is checked in the page (JavaScript) or on Next (without)."""
    page = phone(js=js)
    start(page, forms_server.base, "households")
    page.fill("#village", "Hill")
    press(page)
    page.get_by_text("None added yet.").wait_for()
    press(page, "add")
    page.fill("#head", "Amina")
    page.fill("#kids", "1")
    press(page)
    page.locator("#child_age").wait_for()
    assert "Household 1 · Child 1" in page.locator("h1").inner_text()
    assert "Age of child 1 of household 1" in page.locator("label[for=child_age]").inner_text()
    page.fill("#child_age", "30")
    press(page)
    page.locator(".error").first.wait_for()  # under 18, in the page or from the server
    no_violations(page, "nested instance with an error", js)
    page.fill("#child_age", "7")
    press(page)
    page.locator('label[for="pets-1"]').click()  # no pets
    press(page)
    page.get_by_text("Household 1: Amina").wait_for()
    no_violations(page, "households' list", js)
    press(page)
    page.locator('label[for="done-0"]').click()
    press(page)
    page.locator('button[type="submit"]:not([value])').first.click()
    page.wait_for_url("**/done")


def test_cascade_and_likert_with_javascript(forms_server, phone):
    page = phone(js=True)
    start(page, forms_server.base, "cascade", "so")
    page.locator('label[for="region-1"]').click()  # Koonfur (south)
    press(page)
    page.locator("#district").wait_for()
    options = page.locator("#district option").all_inner_texts()
    assert options[1:] == ["Dekedda"]
    page.select_option("#district", "s1")
    no_violations(page, "cascade district")
    press(page)
    page.locator('label[for="sector-1"]').wait_for()
    page.locator('label[for="sector-1"]').click()
    page.locator('label[for="shift-0"]').click()
    press(page)
    page.locator("fieldset.likert").first.wait_for()
    no_violations(page, "likert block")
    screenshot(page, "likert-so")


def test_media_prompts_on_a_phone(forms_server, phone):
    page = phone(js=True)
    start(page, forms_server.base, "prompts", "so")
    image = page.locator("img.prompt")
    image.wait_for()
    assert image.evaluate("i => i.complete && i.naturalWidth > 0")
    assert image.evaluate("i => i.getBoundingClientRect().width") <= 360
    audio = page.locator("audio.prompt")
    assert audio.evaluate("a => a.paused && !a.autoplay && a.controls")
    assert audio.bounding_box()["height"] >= 44  # a play button a thumb can find
    assert page.locator("img.choice-image").count() == 2
    no_violations(page, "media prompts")
    screenshot(page, "media-prompts-so")


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_a_photo_from_the_phone(forms_server, phone, js):
    page = phone(js=js)
    start(page, forms_server.base, "t_files")
    page.set_input_files("#photo", str(PNG))
    no_violations(page, "file question", js)
    press(page)
    page.locator("#voice").wait_for()
    press(page, "back")
    page.get_by_text("A file is attached. Choose another to replace it.").wait_for()
