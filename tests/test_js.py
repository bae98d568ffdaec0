"""fieldkit.js, the one script participant pages load, in a real browser.

Its evaluator must agree with fieldkit/forms/expr.py on every vector of
tests/data/expr_vectors.json (the trees come from the Python parser: the script has no
parser, so the vectors' "errors", which are parse errors, are not for it). On the page it
shows and hides questions, checks answers on Next without asking the laptop, keeps a copy
of the screen's answers in sessionStorage and sends again when the wifi comes back.
"""
import gzip
import json
import math
import random
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from browser import PHONE, Server, chromium, phone  # noqa: F401 (fixtures)
from conftest import Page

from fieldkit import store
from fieldkit.forms.expr import Context, evaluate, parse, to_string

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "fieldkit" / "static" / "fieldkit.js"
VECTORS = json.loads((ROOT / "tests" / "data" / "expr_vectors.json").read_text(encoding="utf-8"))
SPECIAL = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
NEXT = 'button[name="_action"][value="next"]'

# A calculation that depends on the screen it is used on.
TALLY = """| survey |
| | type | name | label::English (en) | required | relevant | constraint | constraint_message::English (en) | calculation |
| | calculate | total | | | | | | ${adults} + coalesce(${kids}, 0) |
| | begin_group | counts | Who lives here | | | | | |
| | integer | adults | Adults | yes | | | | |
| | integer | kids | Children | | | | | |
| | text | crowded | Is it crowded? | | ${total} > 6 | | | |
| | integer | rooms | Rooms | | | . <= ${total} | Say "no more" <b>than</b> people & </script> | |
| | end_group | | | | | | | |
| settings |
| | form_title | form_id | version | default_language |
| | Tally | tally | 1 | English (en) |
"""

# Run in the test's browser only (modern JavaScript is fine here, not in fieldkit.js).
RUN_VECTORS = """({cases, now}) => cases.map((c) => {
  const fk = window.fieldkit, types = c.types || {}, answers = {};
  try {
    for (const [name, raw] of Object.entries(c.answers || {})) answers[name] = fk.typed(types[name] || 'text', raw);
    const ctx = {
      values: (name) => { if (!(name in answers)) throw new Error('${' + name + '} was evaluated'); return answers[name]; },
      current: fk.typed(c.current_type || 'text', c.current || ''), now,
      choiceLabel: c.choices ? (q, v) => (c.choices[q] || {})[v] : null,
    };
    const r = fk.evaluate(c.tree, ctx);
    return {kind: fk.kind(r), string: fk.toString(r), number: fk.toNumber(r), boolean: fk.toBoolean(r)};
  } catch (e) { return {error: String(e)}; }
})"""

# fieldkit.js must never touch localStorage: this spy, installed before any script of
# the page runs, marks the tab (window.name survives navigations) and throws.
LOCAL_SPY = """Object.defineProperty(window, 'localStorage', {get() {
  window.name = 'localStorage-used'; throw new Error('localStorage is not for fieldkit'); }});"""

# What a question's error looks like on the page, to compare the script's with the server's.
ERROR_FACTS = """(name) => {
  const box = document.getElementById(name + '-field'), p = box.querySelector('p.error');
  const target = box.querySelector('fieldset') || document.getElementById(name);
  const summary = document.querySelector('.error-summary');
  return {box: box.className, id: p && p.id, text: p && p.textContent.trim(),
          invalid: target.getAttribute('aria-invalid'), described: target.getAttribute('aria-describedby'),
          order: [...(box.querySelector('fieldset') || box).children].map((e) => e.tagName + '.' + e.className),
          summary: summary && [summary.getAttribute('role'), summary.getAttribute('tabindex'),
                               summary.querySelector('h2').textContent.trim(),
                               [...summary.querySelectorAll('a')].map((a) => [a.getAttribute('href'), a.textContent.trim()])]};
}"""


def _id(case):
    return repr(case["expr"])[:60]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real `fieldkit serve` with the household form and the tally form added."""
    data, forms = tmp_path_factory.mktemp("js"), tmp_path_factory.mktemp("js-forms")
    (forms / "tally.md").write_text(TALLY, encoding="utf-8")
    (forms / "names.md").write_text(CHOICE_NAME, encoding="utf-8")
    for path in (ROOT / "tests" / "forms" / "household.md", forms / "tally.md", forms / "names.md"):
        subprocess.run([sys.executable, "-m", "fieldkit", "forms", "add", str(path), "--data", str(data)],
                       check=True, capture_output=True)
    running = Server(data)
    yield running
    running.stop()


@pytest.fixture
def page(phone):
    """A phone page that records script errors and would catch any use of localStorage."""
    def make(**options):
        made = phone(**options)
        made.errors = []
        made.on("pageerror", lambda error: made.errors.append(str(error)))
        made.add_init_script(LOCAL_SPY)
        return made
    return make


def assert_clean(page):
    assert page.errors == []
    assert page.evaluate("window.name") != "localStorage-used"
    assert all(not origin.get("localStorage") for origin in page.context.storage_state()["origins"])


def begin(page, base, form_id, lang="en"):
    page.goto(f"{base}/f/{form_id}?lang={lang}")
    page.locator(f'button[name="lang"][value="{lang}"]').click()
    page.wait_for_url("**/consent")
    page.locator('button[name="consent"][value="yes"]').click()
    page.wait_for_url("**/q")


def household_home(page, base, lang="en"):
    """The household form's screen with people and children (children shown when people > 1)."""
    begin(page, base, "household", lang)
    page.locator('label[for="consent-0"]').click()
    page.locator(NEXT).click()
    page.locator("#people").wait_for()


def posts(page) -> list:
    sent = []
    page.on("request", lambda request: sent.append(request.url) if request.method == "POST" else None)
    return sent


def screen_data(page) -> dict:
    return json.loads(page.locator("form[data-survey]").get_attribute("data-fk-screen"))


def copies(page) -> dict:
    return page.evaluate("Object.fromEntries(Object.keys(sessionStorage).map((k) => [k, sessionStorage[k]]))")


# --- the evaluator: the same answers as expr.py ----------------------------------------------

@pytest.fixture(scope="module")
def browser_results(server, chromium):
    context = chromium.new_context(**PHONE)
    tab = context.new_page()
    tab.goto(server.base + "/f/wellbeing")  # any participant page: the shipped script, under its CSP
    cases = [dict(case, tree=parse(case["expr"])) for case in VECTORS["vectors"]]
    results = tab.evaluate(RUN_VECTORS, {"cases": cases, "now": VECTORS["now"]})
    context.close()
    return results


@pytest.mark.parametrize("index", range(len(VECTORS["vectors"])), ids=[_id(c) for c in VECTORS["vectors"]])
def test_vector_in_the_browser(browser_results, index):
    case, got = VECTORS["vectors"][index], browser_results[index]
    assert "error" not in got, got
    if "type" in case:
        assert got["kind"] == case["type"], got
    expected = case["expected"]
    if isinstance(expected, bool):
        assert got["boolean"] is expected, got
    elif isinstance(expected, str):
        assert got["string"] == expected, got
    elif isinstance(expected, dict):
        special = SPECIAL[expected["number"]]
        assert math.isnan(got["number"]) if math.isnan(special) else got["number"] == special, got
    else:
        assert math.isclose(got["number"], expected, rel_tol=1e-9, abs_tol=1e-9), got


def test_numbers_print_and_round_as_python_does(server, chromium):
    """Beyond the vectors: to_string's digits and round()'s decimal rounding on many numbers."""
    rng = random.Random(6)
    numbers = [rng.uniform(-1e6, 1e6) * 10 ** rng.randint(-25, 25) for _ in range(300)]
    numbers += [round(rng.uniform(-100, 100), rng.randint(0, 4)) for _ in range(300)] + [0.5, -0.5, 2.675, 1e21, 1e-7]
    cases = [(x, rng.randint(-4, 8)) for x in numbers]
    context = chromium.new_context(**PHONE)
    tab = context.new_page()
    tab.goto(server.base + "/f/wellbeing")
    got = tab.evaluate("""(cases) => cases.map(([x, d]) => [fieldkit.toString(x),
        fieldkit.toString(fieldkit.evaluate(['call', 'round', ['num', x], ['num', d]], {}))])""", cases)
    context.close()
    ctx = Context(values=lambda name: "")
    assert got == [[to_string(x), to_string(evaluate(["call", "round", ["num", x], ["num", float(d)]], ctx))]
                   for x, d in cases]


# --- what the page carries ---------------------------------------------------------------------

class FormAttribute(HTMLParser):
    def handle_starttag(self, tag, attrs):
        if tag == "form" and "data-fk-screen" in dict(attrs):
            self.value = dict(attrs)["data-fk-screen"]


def carried(page_html: str) -> dict:
    parser = FormAttribute()
    parser.feed(page_html)
    return json.loads(parser.value)


def test_the_page_carries_the_servers_trees_values_and_messages(add_form, participant):
    form = add_form("household.md")
    p = participant("household")
    p.start("es")
    p.answer({"consent": "yes"})
    data = carried(p.current().html)
    refused = p.post({"people": ""})  # the server's own page of errors, in the same language
    assert refused.status_code == 422
    shown = Page(refused.get_data(as_text=True))
    people, children = data["questions"]
    group = form.groups["home"].relevant
    assert people == {"name": "people", "type": "integer", "screen": True, "relevant": [group],
                      "required": form.questions["people"].required, "required_message": shown.errors[0],
                      "constraint": form.questions["people"].constraint, "constraint_message": "De 1 a 20"}
    assert children["relevant"] == [group, form.questions["children"].relevant]
    assert children["constraint_message"] == "Menos que todos" and "required" not in children
    assert data["values"] == {"consent": "yes"} and data["types"] == {"consent": "select_one"}
    assert data["screen"] == 1 and f"<h2>{data['check']}</h2>" in shown.html
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", data["now"])


def test_calculations_that_follow_the_screen_travel_as_trees(tmp_path, db, participant):
    from fieldkit.services import forms as form_service
    (tmp_path / "tally.md").write_text(TALLY, encoding="utf-8")
    form = form_service.import_path(db, tmp_path / "tally.md").form
    p = participant("tally")
    p.start("en")
    page = p.current()
    data = carried(page.html)
    assert [q["name"] for q in data["questions"]] == ["adults", "kids", "total", "crowded", "rooms"]
    assert data["questions"][2] == {"name": "total", "type": "calculate", "calculation": form.questions["total"].calculation}
    assert data["values"] == {}
    # Escaped as an attribute: the message's quotes, tags and </script> are text, not markup.
    assert data["questions"][4]["constraint_message"] == 'Say "no more" <b>than</b> people & </script>'
    assert "</script>" not in re.search(r'data-fk-screen="[^"]*"', page.html).group(0)


CHOICE_NAME = """| survey |
| | type | name | label::English (en) | label::Español (es) | relevant |
| | begin_group | g | Group | Grupo | |
| | select_one yn | q | Agree? | ¿De acuerdo? | |
| | text | why | Why? | ¿Por qué? | jr:choice-name(${q}, '${q}') = 'Sí' |
| | end_group | | | | |
| choices |
| | list_name | name | label::English (en) | label::Español (es) |
| | yn | yes | Yes | Sí |
| | yn | no | No | No |
| settings |
| | form_title | form_id | version | default_language |
| | Choice names | choice_names | 1 | English (en) |
"""


def test_choice_labels_travel_in_the_page_language(tmp_path, db, participant):
    from fieldkit.services import forms as form_service
    (tmp_path / "names.md").write_text(CHOICE_NAME, encoding="utf-8")
    form_service.import_path(db, tmp_path / "names.md")
    p = participant("choice_names")
    p.start("es")
    assert carried(p.current().html)["choices"] == {"q": {"yes": "Sí", "no": "No"}}


# --- on the phone ------------------------------------------------------------------------------

def test_questions_show_and_hide_at_once_without_asking_the_laptop(server, page):
    tab = page()
    household_home(tab, server.base)
    sent = []
    tab.on("request", lambda request: sent.append(request.url) if "favicon" not in request.url else None)
    assert tab.locator("#children-field").is_hidden()
    tab.fill("#people", "3")
    assert tab.locator("#children-field").is_visible()
    tab.fill("#people", "1")
    assert tab.locator("#children-field").is_hidden()
    tab.fill("#people", "02")
    assert tab.locator("#children-field").is_visible()
    tab.fill("#people", "")
    assert tab.locator("#children-field").is_hidden()
    assert sent == []
    assert_clean(tab)


def test_a_calculation_on_the_same_screen_is_worked_out_in_the_browser(server, page):
    tab = page()
    begin(tab, server.base, "tally")
    sent = posts(tab)
    tab.fill("#adults", "4")
    assert tab.locator("#crowded-field").is_hidden()
    tab.fill("#kids", "3")  # total = 7 > 6
    assert tab.locator("#crowded-field").is_visible()
    tab.fill("#kids", "")  # coalesce(${kids}, 0): total = 4
    assert tab.locator("#crowded-field").is_hidden()
    tab.fill("#rooms", "9")
    tab.locator(NEXT).click()
    assert tab.locator("#rooms-error").text_content() == 'Say "no more" <b>than</b> people & </script>'
    assert sent == []
    tab.fill("#rooms", "2")
    tab.locator(NEXT).click()
    tab.wait_for_url("**/q")
    tab.locator("input[name=_uuid]").wait_for(state="attached")  # the review page: all was accepted
    assert len(sent) == 1
    assert_clean(tab)


@pytest.mark.parametrize("lang", ["en", "es"])
def test_missing_and_refused_answers_are_shown_as_the_server_shows_them(server, page, lang):
    """The script's messages, ids and markup against the server's own (JavaScript off)."""
    js, nojs = page(), page(js=False)
    household_home(js, server.base, lang)
    household_home(nojs, server.base, lang)
    sent = posts(js)
    for people, children in (("", ""), ("25", ""), ("3", "5")):
        facts = []
        for tab in (js, nojs):
            tab.fill("#people", people)
            if children and tab.locator("#children-field").is_hidden():  # without the script the server reveals it
                tab.locator(NEXT).click()
                tab.locator("#children").wait_for()
            if children:
                tab.fill("#children", children)
            tab.locator(NEXT).click()
            tab.locator("p.error").first.wait_for()
            name = "children" if children else "people"
            facts.append(tab.evaluate(ERROR_FACTS, name))
            assert tab.locator("p.error").count() == 1
        assert facts[0] == facts[1]
        assert facts[0]["id"] == f"{name}-error" and facts[0]["summary"][3] == [[f"#{name}-field", facts[0]["text"]]]
    assert sent == []  # none of it asked the laptop
    js.fill("#children", "1")
    js.locator(NEXT).click()
    js.locator('label[for="income-0"]').wait_for()
    assert len(sent) == 1
    assert_clean(js)


def test_a_choice_label_decides_in_the_page_language(server, page):
    tab = page()
    begin(tab, server.base, "choice_names", "es")
    tab.locator('label[for="q-0"]').click()
    assert tab.locator("#why-field").is_visible()
    tab.locator('label[for="q-1"]').click()
    assert tab.locator("#why-field").is_hidden()
    assert_clean(tab)


def finish_household(tab):
    """From the money screen to the thank-you page."""
    tab.locator('label[for="income-1"]').click()
    tab.locator(NEXT).click()
    tab.locator("#visit_date").wait_for()
    tab.locator(NEXT).click()
    tab.locator(".note").first.wait_for()
    tab.locator(NEXT).click()
    tab.locator("input[name=_uuid]").wait_for(state="attached")
    tab.locator('button.primary[type="submit"]').click()
    tab.wait_for_url("**/done")


def test_a_post_lost_to_the_wifi_is_sent_again_once(server, page):
    tab = page()
    household_home(tab, server.base)
    uuid = screen_data(tab)["draft"]
    dropped, reached = [], []

    def flaky(route):
        if route.request.method != "POST":
            return route.continue_()
        if not dropped:  # the first never reaches the laptop
            dropped.append(route.request.post_data)
            return route.abort("internetdisconnected")
        reached.append(route.request.post_data)
        return route.continue_()

    tab.route("**/f/household/q", flaky)
    tab.fill("#people", "3")
    tab.fill("#children", "1")
    tab.locator(NEXT).click()
    tab.locator("[data-offline]").wait_for(state="visible")
    assert [json.loads(v) for k, v in copies(tab).items() if k.startswith(f"fk:{uuid}:")] == [
        [["people", "3"], ["children", "1"]]]
    tab.locator('label[for="income-0"]').wait_for()  # sent again by itself, a few seconds later
    assert len(reached) == 1 and reached == dropped and "people=3&children=1" in reached[0]
    assert copies(tab) == {}  # the screen arrived: its copy is gone
    tab.unroute("**/f/household/q")
    finish_household(tab)
    assert tab.evaluate("sessionStorage.length") == 0
    db = store.connect(server.database)
    answers = store.submissions.get_submission(db, uuid)["answers"]
    db.close()
    assert (answers["people"], answers["children"]) == ("3", "1")
    assert_clean(tab)


def test_a_submit_whose_answer_is_lost_makes_one_submission(server, page):
    """The laptop commits the answers but the reply never reaches the phone: the resend
    is recognised (same uuid) and the participant lands on the thank-you page."""
    tab = page()
    household_home(tab, server.base)
    uuid = screen_data(tab)["draft"]
    tab.fill("#people", "1")
    tab.locator(NEXT).click()
    tab.locator('label[for="income-0"]').wait_for()
    lost = []

    def reply_lost(route):
        if not lost:
            lost.append(route.fetch(max_redirects=0).status)  # the laptop gets it and answers...
            return route.abort("connectionreset")  # ...but the phone never hears
        return route.continue_()

    tab.route("**/f/household/submit", reply_lost)
    finish_household(tab)
    assert lost == [303]
    db = store.connect(server.database)
    rows = list(db.query("SELECT count(*) AS n FROM submissions WHERE uuid = ?", [uuid]))
    db.close()
    assert rows[0]["n"] == 1
    assert tab.evaluate("sessionStorage.length") == 0
    assert_clean(tab)


def test_coming_back_online_sends_at_once(server, page):
    tab = page()
    household_home(tab, server.base)
    tab.fill("#people", "1")
    tab.context.set_offline(True)
    tab.locator(NEXT).click()
    tab.locator("[data-offline]").wait_for(state="visible")
    tab.wait_for_timeout(2500)  # the first timed retry fails too; the next is seconds away
    tab.context.set_offline(False)  # the browser fires `online`
    tab.locator('label[for="income-0"]').wait_for(timeout=1500)
    assert_clean(tab)


def test_answers_come_back_after_a_reload(server, page):
    tab = page()
    household_home(tab, server.base)
    tab.route("**/f/household/q", lambda route: route.abort() if route.request.method == "POST" else route.continue_())
    tab.fill("#people", "3")
    tab.fill("#children", "2")
    tab.locator(NEXT).click()
    tab.locator("[data-offline]").wait_for(state="visible")
    tab.reload()
    tab.locator("#people").wait_for()
    assert tab.input_value("#people") == "3" and tab.input_value("#children") == "2"
    assert tab.locator("#children-field").is_visible()
    tab.unroute("**/f/household/q")
    tab.locator(NEXT).click()
    tab.locator('label[for="income-0"]').wait_for()
    assert_clean(tab)


def test_quick_exit_wipes_the_copy(server, page):
    tab = page()
    household_home(tab, server.base)
    tab.fill("#people", "4")
    assert len(copies(tab)) == 1
    tab.locator("[data-exit]").click()
    tab.wait_for_url("**/recipes/**")
    assert tab.evaluate("sessionStorage.length") == 0
    assert_clean(tab)


def test_another_participants_copy_never_comes_back(server, page):
    tab = page()
    household_home(tab, server.base)
    tab.evaluate("sessionStorage.setItem('fk:someone-else:1', JSON.stringify([['people', '9']]))")
    tab.reload()
    tab.locator("#people").wait_for()
    assert tab.input_value("#people") == "" and "fk:someone-else:1" not in copies(tab)
    assert_clean(tab)


# --- the file itself ---------------------------------------------------------------------------

def test_fieldkit_js_is_at_most_8_kb_gzipped():
    assert len(gzip.compress(SCRIPT.read_bytes(), compresslevel=9)) <= 8192


def test_fieldkit_js_is_es5_for_old_phones():
    code = re.sub(r"/\*.*?\*/|//[^\n]*", "", SCRIPT.read_text(encoding="utf-8"), flags=re.DOTALL)
    for pattern in (r"=>", r"`", r"\blet\b", r"\bconst\b", r"\?\.", r"\bclass\b", r"\basync\b", r"\.\.\.",
                    r"\beval\b", r"\bFunction\(", "localStorage"):
        assert not re.search(pattern, code), pattern


def test_a_question_shown_by_javascript_is_not_shown_again_by_the_server(server, page):
    """With JavaScript the participant saw `children` appear: Next goes straight on."""
    tab = page()
    begin(tab, server.base, "household")
    tab.locator('label[for="consent-0"]').click()
    tab.locator('button[name="_action"][value="next"]').click()
    tab.locator("#people").wait_for()
    tab.fill("#people", "3")
    tab.locator("#children-field").wait_for(state="visible")
    tab.locator('button[name="_action"][value="next"]').click()
    tab.locator('input[name="income"]').first.wait_for(state="attached")
    assert "More questions appeared" not in tab.content()
    assert_clean(tab)
