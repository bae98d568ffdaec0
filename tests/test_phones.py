"""The participant's phone, in a real browser: the demo form end to end in four
languages, with JavaScript on and off, screenshots, accessibility, page weight."""
import gzip
import re

import pytest
import requests

from browser import axe_violations, chromium, phone, screenshot, server  # noqa: F401 (fixtures)

NEXT = {"en": "Next", "es": "Siguiente", "so": "Ku xiga", "am": "ቀጣይ"}
AGREE = {"en": "Yes, I agree"}


def choose(page, text: str):
    page.get_by_text(text, exact=True).first.click()


def walk_demo(page, base: str, lang: str, shots: str | None = None, axe: dict | None = None) -> list[str]:
    """Answer the bundled demo by tapping, as a participant would. Returns the page
    titles seen; with axe, also checks every page with axe-core into that dict."""
    seen = []

    def snap(step):
        seen.append(page.title())
        if shots:
            screenshot(page, f"{shots}-{step}")
        if axe is not None:
            axe[step] = axe_violations(page)

    def next_page():
        """Next, and the page it leads to (the same URL: a wait for an element alone
        could find it on the page being left)."""
        with page.expect_navigation():
            page.locator('button[name="_action"][value="next"]').click()

    page.goto(f"{base}/f/wellbeing")
    snap("1-language")
    page.locator(f'button[name="lang"][value="{lang}"]').click()
    page.wait_for_url("**/consent")
    snap("2-consent")
    page.locator('button[name="consent"][value="yes"]').click()
    page.wait_for_url("**/q")
    page.locator('label[for="age_band-1"]').click()
    page.fill("#household_size", "4")
    snap("3-about")
    next_page()
    page.locator('label[for="wellbeing_rating-2"]').wait_for()
    page.locator('label[for="wellbeing_rating-2"]').click()
    page.locator('label[for="worries-0"]').click()
    page.locator('label[for="worries-1"]').click()
    snap("4-wellbeing")
    next_page()
    page.locator('label[for="has_support-0"]').wait_for()
    page.locator('label[for="has_support-0"]').click()
    if page.locator("#support_who-field").is_hidden():  # without JavaScript the server reveals it
        next_page()
        page.locator("#support_who-field").wait_for(state="visible")
    page.locator('label[for="support_who-1"]').click()
    snap("5-support")
    next_page()
    page.locator("#comments").wait_for()
    page.fill("#comments", "ሰላም, hola, nabad")
    snap("6-closing")
    next_page()
    page.locator(".note").first.wait_for()
    snap("7-summary")
    next_page()
    page.locator('input[name="_uuid"]').wait_for(state="attached")
    snap("8-review")
    page.locator('button.primary[type="submit"]').click()
    page.wait_for_url("**/done")
    snap("9-thanks")
    return seen


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
@pytest.mark.parametrize("lang", ["en", "es", "so", "am"])
def test_demo_end_to_end_on_a_phone(server, phone, lang, js):
    page = phone(js=js)
    walk_demo(page, server.base, lang, shots=f"phone-{lang}-{'js' if js else 'nojs'}")
    assert page.locator("html").get_attribute("lang") == lang
    assert "1-800-799-7233" in page.content()  # help resources at the end, for everyone
    export = requests.get(f"{server.base}/f/wellbeing").status_code
    assert export == 200


def test_the_page_fits_a_360px_phone_without_sideways_scrolling(server, phone):
    page = phone()
    for lang in ("en", "am"):
        page.goto(f"{server.base}/f/wellbeing?lang={lang}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_text_zoom_200_percent_reflows(server, phone):
    page = phone()
    page.goto(f"{server.base}/f/wellbeing?lang=so")
    page.evaluate("document.documentElement.style.fontSize = '200%'")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_tap_targets_are_at_least_44px(server, phone):
    page = phone()
    page.goto(f"{server.base}/f/wellbeing?lang=en")
    page.locator('button[name="lang"][value="en"]').click()
    page.locator('button[name="consent"][value="yes"]').click()
    page.wait_for_url("**/q")
    small = page.evaluate("""() => [...document.querySelectorAll('a, button, label.choice, input[type=text]')]
        .filter(e => e.offsetParent !== null)
        .map(e => [e.outerHTML.slice(0, 60), e.getBoundingClientRect().height])
        .filter(([_, h]) => h < 44)""")
    assert small == []


def test_no_serious_accessibility_violations_on_participant_pages(server, phone):
    page = phone()
    page.goto(f"{server.base}/f/wellbeing?lang=am")
    problems = {"language": axe_violations(page)}
    page.locator('button[name="lang"][value="am"]').click()
    page.wait_for_url("**/consent")
    problems["consent"] = axe_violations(page)
    page.locator('button[name="consent"][value="yes"]').click()
    page.wait_for_url("**/q")
    problems["screen"] = axe_violations(page)
    page.locator('button[name="_action"][value="next"]').click()  # required answers missing: errors shown
    page.locator(".error-summary").wait_for()
    problems["errors"] = axe_violations(page)
    page.goto(f"{server.base}/f/wellbeing/help")
    problems["help"] = axe_violations(page)
    assert {name: found for name, found in problems.items() if found} == {}


def screen_weights(base: str, lang: str) -> list[int]:
    """Bytes on the wire (gzip) for each screen of the demo: the HTML and every
    stylesheet and script it links to, fetched the way a phone would."""
    http = requests.Session()
    http.headers["Accept-Encoding"] = "gzip"

    def wire(url):
        response = http.get(base + url if url.startswith("/") else url, stream=True)
        body = response.raw.read(decode_content=False)
        text = gzip.decompress(body) if response.headers.get("Content-Encoding") == "gzip" else body
        return len(body), text.decode("utf-8", "replace")

    def page_weight(url):
        size, html = wire(url)
        for asset in re.findall(r'(?:href|src)="(/a/[^"]+)"', html):
            size += wire(asset)[0]
        return size, html

    weights = []
    size, html = page_weight("/f/wellbeing")
    weights.append(size)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    http.post(base + "/f/wellbeing/start", data={"lang": lang, "csrf_token": csrf})
    http.post(base + "/f/wellbeing/consent", data={"consent": "yes", "csrf_token": csrf})
    for answers in ({"age_band": "age_16_24"}, {"wellbeing_rating": "good"}, {"has_support": "no"}, {}, {}):
        size, html = page_weight("/f/wellbeing/q")
        weights.append(size)
        screen = re.search(r'name="_screen" value="(\d+)"', html).group(1)
        http.post(base + "/f/wellbeing/q", data=dict(answers, csrf_token=csrf, _screen=screen, _action="next"))
    weights.append(page_weight("/f/wellbeing/q")[0])  # the review page
    return weights


@pytest.mark.parametrize("lang", ["en", "es", "so", "am"])
def test_every_screen_is_at_most_30_kb_on_the_wire(server, lang):
    weights = screen_weights(server.base, lang)
    assert len(weights) == 7
    assert max(weights) <= 30 * 1024, weights


def test_amharic_is_drawn_in_fieldkits_own_font(server, phone):
    """Phones without an Ethiopic font get fieldkit's (services/fonts.py): on an
    Amharic screen the font loads and Ethiopic is drawn with its glyphs, not boxes."""
    from fontTools.ttLib import TTFont

    from fieldkit.services.fonts import FONT
    page = phone()
    page.goto(f"{server.base}/f/wellbeing")
    page.locator('button[name="lang"][value="am"]').click()
    page.locator('button[name="consent"][value="yes"]').click()
    page.wait_for_url("**/q")
    page.evaluate("async () => { await document.fonts.ready; }")
    # Two faces of the family: the form's own subset, loaded, and behind it the face of every
    # letter (for words a participant types), not fetched: the subset has all this page's letters.
    faces = page.evaluate("[...document.fonts].map(f => [f.family.replaceAll('\"', ''), f.status])")
    assert sorted(faces) in ([["Fieldkit Ethiopic", "loaded"]],
                             [["Fieldkit Ethiopic", "loaded"], ["Fieldkit Ethiopic", "unloaded"]]), faces
    screenshot(page, "phone-am-font")
    page.evaluate("""() => { for (const [id, family] of [['own', '"Fieldkit Ethiopic"'], ['none', 'no-such-font']]) {
        const span = document.createElement('span');
        Object.assign(span, {id, textContent: 'ሰላም'});
        Object.assign(span.style, {font: '16px ' + family, fontKerning: 'none', whiteSpace: 'nowrap'});
        document.body.append(span); } }""")
    width = {id: page.evaluate(f"document.getElementById('{id}').getBoundingClientRect().width") for id in ("own", "none")}
    font = TTFont(FONT)
    advances = sum(font["hmtx"][font.getBestCmap()[ord(c)]][0] for c in "ሰላም") * 16 / font["head"].unitsPerEm
    assert width["own"] == pytest.approx(advances, abs=0.1)  # the font's own glyphs: not zero-width, not boxes
    # Which fonts Chromium drew with: the page's own Amharic heading too, not only a test span.
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]

    def drawn_with(selector):
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        return [(f["familyName"], f["isCustomFont"]) for f in cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]]

    for selector in ("#own", "h1.screen-title"):
        assert [f for f in drawn_with(selector) if "Ethiopic" in f[0]] == [("Noto Sans Ethiopic", True)], selector
    if not any("Ethiopic" in name for name, _ in drawn_with("#none")):
        # A machine with no Ethiopic font of its own, like a stripped-down phone: boxes, of another width.
        # (Where Debian's fonts-noto-core is installed, the fallback draws the same Noto glyphs.)
        assert width["none"] != pytest.approx(width["own"], abs=0.5)


def test_every_page_of_the_demo_passes_axe(server, phone):
    """Every participant page, from the language choice to the thank-you, and the
    declined, help, error and neutral pages: no serious or critical violation.
    (axe is a script: it runs with JavaScript on. The server sends the same HTML
    either way; the script only shows and hides what is already there.)"""
    page = phone()
    found = {}
    walk_demo(page, server.base, "so", axe=found)
    page.goto(f"{server.base}/f/wellbeing?lang=so")
    page.locator('button[name="lang"][value="so"]').click()
    page.locator('button[name="consent"][value="no"]').click()
    page.wait_for_url("**/declined")
    found["declined"] = axe_violations(page)
    page.goto(f"{server.base}/f/wellbeing/help")
    found["help"] = axe_violations(page)
    page.goto(f"{server.base}/f/no-such-form")
    found["error"] = axe_violations(page)
    page.goto(f"{server.base}/recipes/lentil-soup")
    found["neutral"] = axe_violations(page)
    page.goto(f"{server.base}/")
    found["front"] = axe_violations(page)
    assert len(found) == 14
    assert {name: problems for name, problems in found.items() if problems} == {}
