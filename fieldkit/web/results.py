"""Results per question, with charts drawn on the server (web/charts.py).

Two views of the same numbers. The coordinator's screen shows exact counts, and
its print stylesheet hides them (a printout leaves the room). The printable view
shows every count from 1 to SMALL_COUNT - 1 as "<5", with no percentage and no
bar, so that nobody can be singled out from a sheet on a wall.
"""
from __future__ import annotations

import copy
import datetime as dt
import re
from dataclasses import dataclass

from flask import Blueprint, g, render_template, request, url_for
from flask_babel import format_date, format_decimal, get_locale, gettext

from ..errors import FieldkitError
from ..services import results as results_service
from ..store import forms as form_store, events as event_store
from .auth import access
from .charts import Bar, bar_chart
from .console import event_filter, form_or_404, label
from .db import get_db, get_read_db
from .events import small_count
from .i18n import native_name

bp = Blueprint("results", __name__, url_prefix="/console")
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@bp.get("/forms/<form_id>/results")
@access("coordinator")
def results(form_id):
    return render_results(form_id, share=False)


@bp.get("/forms/<form_id>/results/print")
@access("coordinator")
def printable(form_id):
    return render_results(form_id, share=True)


def render_results(form_id: str, share: bool):
    db = get_db()
    form = form_or_404(form_id)
    filters, chosen = read_filters(db, form)
    # Counted by the database: the rows never come into this process.
    summary = results_service.results(get_read_db(), form, **filters)
    shown = Shown(share, small_count())
    other = "results.results" if share else "results.printable"
    # An encrypted form's results are counts only: its answers are for the key holder.
    encrypted = bool(summary.sealed or form_store.public_key(db, form_id))
    return render_template(
        "console/results.html", form=form, title=label(form, form.title), share=share,
        total=shown.count(summary.total), empty=summary.total == 0,
        questions=[] if encrypted else [question_view(form, tally, summary.total, shown) for tally in summary.questions],
        encrypted=encrypted,
        chosen=chosen, scope=scope(db, filters), events=event_store.list_events(db),
        languages=[(code, native_name(code, form)) for code in form.languages],
        threshold=format_decimal(shown.threshold), suppressed=shown.small_text(),
        other_view=url_for(other, form_id=form_id, **chosen))


def percent(fraction: float) -> str:
    """The locale's own percent pattern ('70 %' in Spanish) with up to one decimal: 57.1%."""
    locale = get_locale()
    pattern = copy.copy(locale.percent_formats[None])  # a copy: the locale's data is shared
    pattern.frac_prec = (0, 1)
    return pattern.apply(fraction, locale)


def read_filters(db, form) -> tuple[dict, dict]:
    """(filters for the store, the query values to keep in links); bad values are a 400."""
    filters = event_filter(db)
    language = request.args.get("language", "")
    if language:
        if language not in form.languages:
            raise FieldkitError("bad_request")
        filters["language"] = language
    for param, key in (("from", "since"), ("to", "until")):
        raw = request.args.get(param, "")
        if raw:
            filters[key] = valid_day(raw)
    names = {"event_id": "event", "language": "language", "since": "from", "until": "to"}
    return filters, {names[key]: str(value) for key, value in filters.items()}


def valid_day(raw: str) -> str:
    if not DAY.fullmatch(raw):
        raise FieldkitError("bad_request")
    try:
        dt.date.fromisoformat(raw)
    except ValueError:
        raise FieldkitError("bad_request") from None
    return raw


def scope(db, filters: dict) -> list[tuple[str, str]]:
    """What the numbers cover, in words: printed with them, so a sheet says what it is."""
    lines = []
    if "event_id" in filters:
        lines.append((gettext("Event"), event_store.get_event(db, filters["event_id"])["name"]))
    if "language" in filters:
        lines.append((gettext("Language"), native_name(filters["language"])))
    if "since" in filters:
        lines.append((gettext("From"), format_date(dt.date.fromisoformat(filters["since"]), format="long")))
    if "until" in filters:
        lines.append((gettext("To"), format_date(dt.date.fromisoformat(filters["until"]), format="long")))
    return lines


@dataclass
class Shown:
    """How a count appears: exact on the coordinator's screen, '<5' for 1-4 when shared."""

    share: bool
    threshold: int

    def hidden(self, count: int) -> bool:
        return self.share and results_service.small(count, self.threshold)

    def small_text(self) -> str:
        return "<" + format_decimal(self.threshold)

    def count(self, count: int) -> str:
        return self.small_text() if self.hidden(count) else format_decimal(count)

    def row(self, text: str, count: int, of: int) -> dict:
        """One line of a table and a bar of its chart; a hidden count gets no percentage and no bar."""
        hidden = self.hidden(count)
        share_of = "" if hidden or not of else percent(count / of)
        shown = self.count(count)
        value = gettext("%(count)s (%(percent)s)", count=shown, percent=share_of) if share_of else shown
        return {"label": text, "count": shown, "percent": share_of,
                "bar": Bar(text, value, None if hidden else (count / of if of else 0.0))}


def question_view(form, tally, total: int, shown: Shown) -> dict:
    q = form.questions[tally.name]
    view = {"name": q.name, "label": label(form, q.label) or q.name, "kind": tally.kind,
            "answered": shown.count(tally.answered), "no_answer": shown.count(total - tally.answered)}
    if tally.kind == "choice":
        view.update(choice_view(form, q, tally, shown))
    elif tally.kind == "number":
        view.update(number_view(tally, view["label"], shown))
    return view


def choice_text(form, q, name: str) -> str:
    if q.type == "acknowledge":
        return gettext("OK")
    return form.choice_label(q, name, g.lang) or name  # the viewer's language, as console.label


def choice_view(form, q, tally, shown: Shown) -> dict:
    rows = [shown.row(choice_text(form, q, name), count, tally.answered) for name, count in tally.rows]
    if tally.other:
        rows.append(shown.row(gettext("An answer this version no longer offers"), tally.other, tally.answered))
    if tally.multiple:
        hint = gettext("Percentages are of the %(count)s people who answered. They could choose more than one "
                       "answer, so the percentages can add up to more than 100%%.", count=shown.count(tally.answered))
    else:
        hint = gettext("Percentages are of the %(count)s people who answered.", count=shown.count(tally.answered))
    title = gettext("Chart: %(question)s", question=label(form, q.label) or q.name)
    chart = bar_chart(f"chart-{q.name}", title, [r["bar"] for r in rows]) if tally.answered else None
    return {"rows": rows, "hint": hint, "chart": chart}


def number(value) -> str:
    return format_decimal(value)


def bin_label(b) -> str:
    return number(b.low) if b.low == b.high else f"{number(b.low)}–{number(b.high)}"


def number_view(tally, question: str, shown: Shown) -> dict:
    stats = tally.stats()
    if stats is None or shown.hidden(stats["n"]):
        # A mean of three people, or a maximum of one, tells their answers: leave them out.
        note = gettext("Too few answers to summarise.") if stats else gettext("No numbers given yet.")
        return {"stats": [], "rows": [], "chart": None, "note": note}
    view = {"note": "", "stats": [
        (gettext("Answers (n)"), shown.count(stats["n"])), (gettext("Mean"), number(stats["mean"])),
        (gettext("Median"), number(stats["median"])), (gettext("Smallest"), number(stats["min"])),
        (gettext("Largest"), number(stats["max"]))]}
    if tally.other:
        view["stats"].append((gettext("Answers that are not numbers"), shown.count(tally.other)))
    rows = [shown.row(bin_label(b), b.count, stats["n"]) for b in tally.histogram()]
    title = gettext("How many gave each value: %(question)s", question=question)
    view.update(rows=rows, chart=bar_chart(f"hist-{tally.name}", title, [r["bar"] for r in rows]))
    return view
