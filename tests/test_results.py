"""The Results page: per-question counts, numbers and charts, filters, small-count
suppression on the printable view, escaping, and who may see it."""
from __future__ import annotations

import itertools
import re
import tracemalloc
import uuid
from collections import Counter
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from markupsafe import escape

from conftest import FORMS, Page
from engines import database_urls
from fieldkit import store
from fieldkit.forms.model import Form
from fieldkit.services import forms as form_service, results as results_service
from fieldkit.store import events as event_store, submissions, users
from fieldkit.web import charts

PASSWORD = "a-long-password"
SCRIPT = "<script>alert(1)</script>"
URL = "/console/forms/household/results"
PRINT_URL = "/console/forms/household/results/print"


class Results(HTMLParser):
    """Each question's section as a person reads it: table rows and label -> value facts."""

    def __init__(self, html: str):
        super().__init__()
        self.sections: dict[str, dict] = {}
        self.facts: dict[str, str] = {}  # facts outside any question: the filter scope and total
        self._section = self._row = self._cell = self._term = None
        self._text = ""
        self._in_head = False
        self.feed(html)

    def _facts(self) -> dict:
        return self.sections[self._section]["facts"] if self._section else self.facts

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section" and (a.get("aria-labelledby") or "").startswith("q-"):
            self._section = a["aria-labelledby"][2:]
            self.sections[self._section] = {"rows": [], "facts": {}}
        elif tag == "tr":
            self._row = []
        elif tag == "thead":
            self._in_head = True
        elif tag in ("th", "td", "dt", "dd"):
            self._text = ""

    def handle_endtag(self, tag):
        if tag == "thead":
            self._in_head = False
        elif tag == "section":
            self._section = None
        elif tag in ("th", "td") and self._row is not None:
            self._row.append(self._text.strip())
        elif tag == "tr" and self._section:
            if not self._in_head:  # column headings are not rows of results, in any language
                self.sections[self._section]["rows"].append(self._row)
            self._row = None
        elif tag == "dt":
            self._term = self._text.strip()
        elif tag == "dd":
            self._facts()[self._term] = self._text.strip()

    def handle_data(self, data):
        self._text += data

    def rows(self, name: str) -> list[list[str]]:
        return [r for r in self.sections[name]["rows"] if r]


# ---------------------------------------------------------------- fixtures and helpers

def sign_in(client, username: str):
    token = Page(client.get("/console/login").get_data(as_text=True)).hidden_fields["csrf_token"]
    return client.post("/console/login", data={"username": username, "password": PASSWORD, "csrf_token": token})


@pytest.fixture
def coordinator(app, db):
    users.add_user(db, "coord", PASSWORD, "coordinator")
    client = app.test_client()
    assert sign_in(client, "coord").status_code == 303
    return client


@pytest.fixture
def household(add_form):
    return add_form("household.md")


def household_answers(consent="yes", people="", children="", income="", rent_share="", other_income="",
                      visit_date="") -> dict:
    """Answers as the engine saves them: every question present, non-relevant ones empty."""
    adults = ""
    if people:
        adults = str(int(people) - int(children or 0))
    return {"consent": consent, "people": people, "children": children, "income": income,
            "rent_share": rent_share, "other_income": other_income, "visit_date": visit_date, "adults": adults}


def add(db, answers: dict, language="en", when="2024-03-01T10:00:00Z", event_id=None, version="1",
        form_id="household"):
    record = {"uuid": str(uuid.uuid4()), "form_id": form_id, "form_version": version, "language": language,
              "answers": answers, "started_at": when, "submitted_at": when, "device_id": "laptop"}
    if event_id is not None:
        record["event_id"] = event_id
    assert submissions.add_submission(db, record) == "created"


def ten_households(db, **where):
    """7 yes and 3 no; of the 7: people 5, 3, 1, 2, 10, 4 and one empty (an older skip)."""
    people = ["5", "3", "1", "2", "10", "4", ""]
    children = ["2", "1", "", "0", "4", "1", ""]
    incomes = ["work other", "work", "benefits", "work benefits", "other", "work", "prefer_not"]
    shares = ["0.4", "0.25", "", "0.5", "", "0.3", ""]
    for p, c, i, r in zip(people, children, incomes, shares):
        add(db, household_answers("yes", p, c, i, r, "Maria's stall" if "other" in i else "", "2024-02-01"), **where)
    for _ in range(3):
        add(db, household_answers("no"), **where)


def get(client, url: str, **query) -> Results:
    response = client.get(url, query_string=query)
    assert response.status_code == 200, response.status_code
    return Results(response.get_data(as_text=True))


# ---------------------------------------------------------------- counts, numbers, text

def test_choice_counts_and_percentages_in_form_order(coordinator, household, db):
    ten_households(db)
    page = get(coordinator, URL)
    assert page.facts["Answers"] == "10"
    assert page.rows("consent") == [["Yes", "7", "70%"], ["No", "3", "30%"], ["No answer", "0", ""]]
    # select_multiple: percentages of the 7 who answered, so they add up to more than 100%.
    assert page.rows("income") == [["Work", "4", "57.1%"], ["Benefits", "2", "28.6%"], ["Other", "2", "28.6%"],
                                   ["Prefer not to answer", "1", "14.3%"], ["No answer", "3", ""]]


def test_labels_are_in_the_viewers_language(coordinator, household, db):
    ten_households(db)
    page = get(coordinator, URL, lang="es")
    assert page.rows("consent")[0] == ["Sí", "7", "70\xa0%"]
    assert "¿Acepta participar?" in coordinator.get(URL).get_data(as_text=True)


def test_number_summaries_leave_empty_answers_out(coordinator, household, db):
    ten_households(db)
    facts = get(coordinator, URL).sections["people"]["facts"]
    # 5, 3, 1, 2, 10, 4: the empty answer and the three who declined are "No answer".
    assert facts == {"Answers (n)": "6", "Mean": "4.167", "Median": "3.5", "Smallest": "1", "Largest": "10",
                     "No answer": "4"}
    rent = get(coordinator, URL).sections["rent_share"]["facts"]
    assert (rent["Answers (n)"], rent["Mean"], rent["Median"], rent["Smallest"], rent["Largest"]) == (
        "4", "0.362", "0.35", "0.25", "0.5")


def test_numeric_calculation_is_summarised_as_a_number(coordinator, household, db):
    ten_households(db)
    facts = get(coordinator, URL).sections["adults"]["facts"]
    # adults = people - children: 3, 2, 1, 2, 6, 3
    assert (facts["Answers (n)"], facts["Mean"], facts["Median"], facts["Smallest"], facts["Largest"]) == (
        "6", "2.833", "2.5", "1", "6")


def test_histogram_counts_each_value(coordinator, household, db):
    ten_households(db)
    page = get(coordinator, URL)
    rows = page.rows("children")
    assert rows == [["0", "1", "20%"], ["1", "2", "40%"], ["2", "1", "20%"], ["3", "0", "0%"], ["4", "1", "20%"]]


def test_text_and_date_questions_show_only_how_many_answered(coordinator, household, db):
    ten_households(db)
    html = coordinator.get(URL).get_data(as_text=True)
    page = Results(html)
    assert page.sections["other_income"]["facts"] == {"Answered": "2", "No answer": "8"}
    assert page.sections["visit_date"]["facts"] == {"Answered": "7", "No answer": "3"}
    assert "Maria" not in html  # free text is never listed: people type names
    assert "summary" not in page.sections  # notes are skipped


def test_no_answers_yet(coordinator, household):
    page = coordinator.get(URL).get_data(as_text=True)
    assert "No answers match these filters." in page
    assert Results(page).facts["Answers"] == "0"


def test_answers_from_a_participant_walking_the_form(coordinator, household, participant, db):
    p = participant("household")
    p.start("so")
    p.answer({"consent": "yes"})
    p.answer({"people": "5", "children": "2"})
    p.answer({"income": ["work", "other"], "rent_share": "0.4", "other_income": "Market stall"})
    p.answer({"visit_date": "2024-03-01"})
    p.answer({})
    assert p.submit().status_code == 303
    page = get(coordinator, URL)
    assert page.rows("consent")[0] == ["Yes", "1", "100%"]
    assert page.sections["adults"]["facts"]["Mean"] == "3"


# ---------------------------------------------------------------- versions

def test_summary_follows_the_current_version(coordinator, household, db, tmp_path):
    ten_households(db)
    source = (FORMS / "household.md").read_text(encoding="utf-8")
    newer = "\n".join(line for line in source.splitlines()
                      if "| other_income |" not in line and "| benefits |" not in line)
    newer = newer.replace("| Household check | household | 1 |", "| Household check | household | 2 |")
    (tmp_path / "household.md").write_text(newer, encoding="utf-8")
    assert form_service.import_path(db, tmp_path / "household.md").form.version == "2"
    add(db, household_answers("yes", "2", "0", "work", "0.5", "", "2024-02-02"), version="2")
    page = get(coordinator, URL)
    assert "other_income" not in page.sections  # a question the current version does not ask
    assert page.rows("income") == [
        ["Work", "5", "62.5%"], ["Other", "2", "25%"], ["Prefer not to answer", "1", "12.5%"],
        ["An answer this version no longer offers", "2", "25%"], ["No answer", "3", ""]]


# ---------------------------------------------------------------- filters

def test_filters_narrow_the_counts(coordinator, household, db):
    hall = event_store.add_event(db, {"name": "Hall"}, ["household"])
    market = event_store.add_event(db, {"name": "Market"}, ["household"])
    ten_households(db, event_id=hall["id"], language="es", when="2024-03-01T09:00:00Z")
    add(db, household_answers("no"), event_id=market["id"], language="so", when="2024-03-02T23:59:59Z")
    add(db, household_answers("no"), language="en", when="2024-03-03T00:00:00Z")

    def consent(**query):
        page = get(coordinator, URL, **query)
        return page.facts["Answers"], page.rows("consent")[:2] if page.sections else []

    assert consent() == ("12", [["Yes", "7", "58.3%"], ["No", "5", "41.7%"]])
    assert consent(event=hall["id"]) == ("10", [["Yes", "7", "70%"], ["No", "3", "30%"]])
    assert consent(event=market["id"]) == ("1", [["Yes", "0", "0%"], ["No", "1", "100%"]])
    assert consent(language="so") == ("1", [["Yes", "0", "0%"], ["No", "1", "100%"]])
    assert consent(language="es")[0] == "10"
    assert consent(**{"from": "2024-03-02"})[0] == "2"
    assert consent(to="2024-03-02")[0] == "11"  # inclusive: 23:59:59 on the 2nd counts
    assert consent(**{"from": "2024-03-02", "to": "2024-03-02"})[0] == "1"
    assert consent(event=hall["id"], language="so") == ("0", [])


def test_filters_are_named_on_the_page_and_kept_in_links(coordinator, household, db):
    hall = event_store.add_event(db, {"name": "Hall"}, ["household"])
    html = coordinator.get(URL, query_string={"event": hall["id"], "language": "es", "from": "2024-03-01"}) \
        .get_data(as_text=True)
    facts = Results(html).facts
    assert facts["Event"] == "Hall" and facts["Language"] == "Español" and facts["From"] == "March 1, 2024"
    assert re.search(r'href="/console/forms/household/results/print\?[^"]*language=es', html)
    assert '<option value="es" lang="es" selected>' in html


@pytest.mark.parametrize("query", [
    {"event": "abc"}, {"event": "999"}, {"event": "-1"}, {"language": "fr"}, {"language": "<b>"},
    {"from": "2024-13-01"}, {"from": "20240301"}, {"to": "yesterday"}, {"to": "2024-02-30"},
    {"from": "2024-03-01T00:00"},
])
def test_bad_filter_values_are_a_400(coordinator, household, query):
    assert coordinator.get(URL, query_string=query).status_code == 400
    assert coordinator.get(PRINT_URL, query_string=query).status_code == 400


def test_unknown_form_is_a_404(coordinator):
    assert coordinator.get("/console/forms/nope/results").status_code == 404


# ---------------------------------------------------------------- escaping

SCRIPT_FORM = """| survey |
|  | type | name | label |
|  | select_one pick | pick | Pick one {script} |
|  | acknowledge | understood | I understand |
|  | note | thanks | Thank you {script} |
| choices |
|  | list_name | name | label |
|  | pick | a | {script} |
|  | pick | b | Bee |
| settings |
|  | form_title | form_id | version |
|  | Escapes | escapes | 1 |
""".replace("{script}", SCRIPT)


def test_markup_in_labels_and_answers_is_escaped_in_html_and_svg(coordinator, db, tmp_path):
    (tmp_path / "escapes.md").write_text(SCRIPT_FORM, encoding="utf-8")
    form_service.import_path(db, tmp_path / "escapes.md")
    event = event_store.add_event(db, {"name": f"Hall {SCRIPT}"}, ["escapes"])
    for value in ("a", "a", "b", SCRIPT):  # the last: an answer no version offers, sent by a bad client
        add(db, {"pick": value, "understood": "OK" if value == "a" else ""}, form_id="escapes", event_id=event["id"])
    html = coordinator.get("/console/forms/escapes/results").get_data(as_text=True)
    assert SCRIPT not in html
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    svg = html[html.index("<svg"):html.index("</svg>")]
    assert escaped in svg  # the choice label inside the chart
    assert f"Pick one {escaped}" in svg  # and the question in the chart's title
    # The table: escaped text, read back. The stray answer is counted, never shown.
    assert Results(html).rows("pick") == [[SCRIPT, "2", "50%"], ["Bee", "1", "25%"],
                                          ["An answer this version no longer offers", "1", "25%"],
                                          ["No answer", "0", ""]]
    assert f"Hall {escaped}" in html  # the event name in the filter
    assert Results(html).rows("understood") == [["OK", "2", "100%"], ["No answer", "2", ""]]
    assert "thanks" not in Results(html).sections  # notes are not questions


def test_chart_escapes_every_text():
    svg = str(charts.bar_chart('x" onload="y', SCRIPT, [charts.Bar(SCRIPT, SCRIPT, 0.5)]))
    assert "<script>" not in svg and 'onload="y"' not in svg
    assert svg.count("&lt;script&gt;") == 3


def test_chart_is_accessible_scalable_svg():
    svg = str(charts.bar_chart("chart-q", "Title", [charts.Bar("Yes", "7 (70%)", 0.7), charts.Bar("No", "<5", None)]))
    assert re.match(r'<svg class="chart" role="img" aria-labelledby="chart-q-title"', svg)
    assert '<title id="chart-q-title">Title</title>' in svg
    assert 'viewBox="0 0 640 ' in svg and "style=" not in svg
    assert svg.count(f'fill="{charts.BAR_FILL}"') == 1  # the suppressed row draws no bar
    assert f'width="{0.7 * charts.BAR_WIDTH:.1f}"' in svg


@pytest.mark.parametrize("label", [
    "Ma doonayo inaan ka jawaabo su'aashan maanta, mahadsanid aad iyo aad",
    "መመለስ አልፈልግም ለዚህ ጥያቄ ዛሬ መልስ መስጠት አልፈልግም በጣም አመሰግናለሁ",
    "Prefiero no responder a esta pregunta el día de hoy, muchas gracias por preguntar",
    "Supercalifragilisticexpialidocious" * 3,
])
def test_long_labels_wrap_to_two_lines_within_the_label_column(label):
    lines, shortened = charts.wrap(label)
    assert 1 <= len(lines) <= charts.MAX_LINES
    assert all(charts.text_width(line) <= charts.LABEL_WIDTH for line in lines)
    assert shortened == (lines[-1].endswith("…"))
    svg = str(charts.bar_chart("c", "t", [charts.Bar(label, "1", 1.0)]))
    if shortened:
        assert f"<title>{escape(label)}</title>" in svg  # the full label on hover; the table has it too


# ---------------------------------------------------------------- small counts

def small_and_large(db):
    """7 said yes, 3 said no."""
    for _ in range(7):
        add(db, household_answers("yes", "4", "1", "work", "0.5", "", "2024-02-01"))
    for _ in range(3):
        add(db, household_answers("no"))


def test_printable_view_shows_small_counts_as_less_than_five(coordinator, household, db):
    small_and_large(db)
    page = get(coordinator, PRINT_URL)
    assert page.rows("consent") == [["Yes", "7", "70%"], ["No", "<5", ""], ["No answer", "0", ""]]
    assert page.rows("visit_date") == [] and page.sections["visit_date"]["facts"] == {
        "Answered": "7", "No answer": "<5"}
    html = coordinator.get(PRINT_URL).get_data(as_text=True)
    svg = html[html.index('aria-labelledby="chart-consent-title"'):]
    svg = svg[:svg.index("</svg>")]
    assert ">&lt;5</text>" in svg and svg.count(f'fill="{charts.BAR_FILL}"') == 1  # "No" has no bar
    assert "30%" not in html


def test_coordinators_screen_shows_exact_small_counts(coordinator, household, db):
    small_and_large(db)
    assert get(coordinator, URL).rows("consent")[1] == ["No", "3", "30%"]


def test_printable_view_leaves_out_numbers_of_too_few_people(coordinator, household, db):
    for people in ("3", "9", "12"):
        add(db, household_answers("yes", people, "0", "work", "", "", "2024-02-01"))
    page = get(coordinator, PRINT_URL)
    assert page.facts["Answers"] == "<5"
    assert page.sections["people"]["facts"] == {}  # no mean, no maximum of three people
    assert "Too few answers to summarise." in coordinator.get(PRINT_URL).get_data(as_text=True)


def test_threshold_is_configurable(coordinator, household, db, app):
    small_and_large(db)
    app.config["SMALL_COUNT"] = 10
    page = get(coordinator, PRINT_URL)
    assert page.rows("consent")[:2] == [["Yes", "<10", ""], ["No", "<10", ""]]


def test_normal_page_refuses_to_print_and_points_to_the_printable_one(coordinator, household, db):
    small_and_large(db)
    html = coordinator.get(URL).get_data(as_text=True)
    assert 'class="results screen-only"' in html and 'class="print-refusal' in html
    assert 'href="/console/forms/household/results/print"' in html
    printable = coordinator.get(PRINT_URL).get_data(as_text=True)
    assert "screen-only" not in printable and "print-refusal" not in printable
    css = coordinator.get("/static/fieldkit.css").get_data(as_text=True)
    print_rules = css[css.index("@media print{\n  .results-page"):]
    assert ".screen-only{display:none!important}" in print_rules and ".print-refusal{display:block}" in print_rules


# ---------------------------------------------------------------- who may see it

@pytest.mark.parametrize("url", [URL, PRINT_URL])
def test_facilitator_is_refused(app, db, household, url):
    users.add_user(db, "fac", PASSWORD, "facilitator")
    client = app.test_client()
    assert sign_in(client, "fac").status_code == 303
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", [URL, PRINT_URL])
def test_anonymous_is_sent_to_sign_in(client, household, url):
    response = client.get(url)
    assert response.status_code == 303 and response.location.startswith("/console/login")


# ---------------------------------------------------------------- the service itself

def test_median_of_an_even_count_and_repeated_values():
    tally = results_service.NumberTally("n")
    for value in ("1", "2", "2", "7"):
        tally.add(value)
    tally.add("not a number")
    assert tally.stats() == {"n": 4, "mean": Decimal(3), "median": Decimal(2), "min": Decimal(1), "max": Decimal(7)}
    assert tally.other == 1 and tally.answered == 5


def test_calculation_that_gives_text_is_only_counted():
    tally = results_service.NumberTally("c", calculated=True)
    tally.add("3")
    tally.add("three")
    assert tally.kind == "answered" and tally.answered == 2


@pytest.mark.parametrize("values, expected", [
    ({"1": 1, "20": 1, "13": 2}, [("1", "2", 1), ("3", "4", 0), ("5", "6", 0), ("7", "8", 0), ("9", "10", 0),
                                  ("11", "12", 0), ("13", "14", 2), ("15", "16", 0), ("17", "18", 0),
                                  ("19", "20", 1)]),
    ({"0.0": 3, "1.0": 1, "0.45": 1}, [("0.0", "0.1", 3), ("0.1", "0.2", 0), ("0.2", "0.3", 0), ("0.3", "0.4", 0),
                                       ("0.4", "0.5", 1), ("0.5", "0.6", 0), ("0.6", "0.7", 0), ("0.7", "0.8", 0),
                                       ("0.8", "0.9", 0), ("0.9", "1.0", 1)]),
    ({"4": 3, "6": 1}, [("4", "4", 3), ("5", "5", 0), ("6", "6", 1)]),
    ({"2.5": 2}, [("2.5", "2.5", 2)]),
])
def test_histogram_bins(values, expected):
    counts = Counter({Decimal(k): v for k, v in values.items()})
    bins = results_service.histogram(counts)
    assert [(str(b.low), str(b.high), b.count) for b in bins] == expected
    assert sum(b.count for b in bins) == sum(values.values())


def test_one_streamed_pass_over_100000_submissions_keeps_only_counters(app, db, household):
    form: Form = household
    people = itertools.cycle(["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"])

    def stream():  # a generator can be read once: a second pass would find nothing
        for i in range(100_000):
            yield {"answers": household_answers("yes", next(people), "0", "work other", f"0.{i % 10}", "x",
                                                "2024-01-01")}

    tracemalloc.start()
    summary = results_service.summarise(form, stream())
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert summary.total == 100_000
    people_tally = next(t for t in summary.questions if t.name == "people")
    assert people_tally.stats()["mean"] == Decimal("5.5") and people_tally.stats()["median"] == Decimal("5.5")
    assert peak < 2_000_000  # counters, not a list of 100,000 answers


def summary_numbers(summary) -> dict:
    """Everything a Results page shows of a summary, comparable across two ways of counting it."""
    out = {"total": summary.total, "sealed": summary.sealed}
    for t in summary.questions:
        row = {"kind": t.kind, "answered": t.answered, "other": getattr(t, "other", 0)}
        if t.kind == "choice":
            row["rows"] = t.rows
        elif t.kind == "number":
            row["stats"] = t.stats()
            row["bins"] = [(b.low, b.high, b.count) for b in t.histogram()]
        out[t.name] = row
    return out


@pytest.mark.parametrize("engine_url", database_urls(), indirect=True)
def test_the_database_counts_what_one_pass_over_the_answers_counts(engine_url):
    """The Results page counts in SQL (a million answers never come into the process); its numbers
    are held to the streamed pass over the same submissions, with every filter, on both engines."""
    from fieldkit.services.forms import import_path
    from fieldkit.store import events, submissions as store_submissions
    db = store.connect(engine_url, migrate=True)
    try:
        form = import_path(db, FORMS / "household.md").form
        hall = events.add_event(db, {"name": "Hall"}, ["household"])
        people = ["1", "2", "10", "3", "", "7"]
        for i in range(60):
            answers = household_answers(("yes", "no")[i % 7 == 0], people[i % 6], str(i % 2 if people[i % 6] else ""),
                                        ["work", "work other", "benefits", "", "gone_choice"][i % 5], f"0.{i % 10}",
                                        "cash" if i % 5 == 1 else "", f"2024-01-{i % 28 + 1:02d}")
            if i % 13 == 0:
                answers = {"__encrypted__": {"kid": "k", "data": "x"}}
            store_submissions.add_submission(db, {
                "uuid": f"s-{i:03d}", "form_id": "household", "form_version": form.version,
                "language": ("en", "es", "so")[i % 3], "answers": answers, "event_id": hall["id"] if i % 2 else None,
                "submitted_at": f"2026-03-{i % 9 + 1:02d}T10:00:00Z"})
        for filters in ({}, {"event_id": hall["id"]}, {"language": "es"}, {"since": "2026-03-03", "until": "2026-03-05"},
                        {"language": "so", "event_id": hall["id"], "since": "2026-03-02"}):
            by_sql = results_service.results(db, form, **filters)
            by_pass = results_service.summarise(form, store_submissions.iter_filtered(db, "household", **filters))
            assert summary_numbers(by_sql) == summary_numbers(by_pass), filters
        assert results_service.results(db, form).total == 60
    finally:
        db.close()


@pytest.mark.parametrize("engine_url", database_urls(), indirect=True)
def test_answers_json_cannot_parse_on_every_engine_are_stored_and_counted_around(engine_url):
    """Python's json writes what PostgreSQL's jsonb refuses: \\u0000 in a string, and NaN (which a
    central's sync API refuses, tests/test_hardening.py; a laptop never writes one). Such a
    submission is stored all the same, and the Results page, which parses answers in SQL on both
    engines, counts around it rather than failing."""
    from fieldkit.services.forms import import_path
    db = store.connect(engine_url, migrate=True)
    try:
        form = import_path(db, FORMS / "household.md").form
        add(db, household_answers("yes", people="3", visit_date="a\x00b"))
        add(db, household_answers("no"))
        assert sorted(r["answers"]["visit_date"] for r in submissions.iter_filtered(db, "household")) == ["", "a\x00b"]
        assert summary_numbers(results_service.results(db, form)) == summary_numbers(
            results_service.summarise(form, submissions.iter_filtered(db, "household")))
        add(db, dict(household_answers("yes", people="2"), income=float("nan")))  # stored, whatever it counts as
        assert submissions.count_filtered(db, "household") == 3
        assert results_service.results(db, form).total == 3
    finally:
        db.close()
