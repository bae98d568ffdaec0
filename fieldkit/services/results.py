"""Per-question summaries for the Results page.

The page counts in the database (`results`: one pass over the form's answers, grouped by
question and value, store/submissions.answer_counts), so a million answers never come
into this process; `summarise` does the same from submissions themselves, in one
streamed pass, and is what the database's counts are held to (tests/test_results.py).
Labels, formatting and small-count suppression belong to whoever shows the numbers.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal, InvalidOperation

from .. import crypto
from ..forms.model import Form, Question
from ..store import submissions as submission_store

CHOICE_TYPES = ("select_one", "select_multiple", "acknowledge")
NUMBER_TYPES = ("integer", "decimal", "calculate")  # a calculation counts as a number if every value is one
ANSWERED_TYPES = ("text", "date")  # free text is never listed: people type names
MAX_BINS = 10


@dataclass
class ChoiceTally:
    """Counts per choice; for select_multiple a respondent counts once per choice ticked."""

    name: str
    multiple: bool
    choices: list[str]
    counts: Counter = field(default_factory=Counter)
    answered: int = 0
    other: int = 0  # answers with a value this version does not offer (an earlier version did)
    kind: str = "choice"

    def add(self, value: str, times: int = 1) -> None:
        picked = set(value.split()) if self.multiple else {value}
        self.answered += times
        known = picked.intersection(self.choices)
        for name in known:
            self.counts[name] += times
        if len(known) < len(picked):
            self.other += times

    @property
    def rows(self) -> list[tuple[str, int]]:
        """(choice name, count) in the form's order, choices nobody picked included."""
        return [(name, self.counts[name]) for name in self.choices]


@dataclass
class NumberTally:
    """Distinct values with their counts: exact median and histogram without keeping every answer."""

    name: str
    calculated: bool = False
    values: Counter = field(default_factory=Counter)
    other: int = 0  # answers that are not numbers (a calculation's text, or an earlier version's)

    @property
    def kind(self) -> str:
        # A calculation that ever gave text is not a number question: just count it.
        return "answered" if self.calculated and (self.other or not self.values) else "number"

    def add(self, value: str, times: int = 1) -> None:
        number = as_number(value)
        if number is None:
            self.other += times
        else:
            self.values[number] += times

    @property
    def n(self) -> int:
        return sum(self.values.values())

    @property
    def answered(self) -> int:
        return self.n + self.other

    def stats(self) -> dict | None:
        """n, mean, median, min, max as Decimals; None when nobody gave a number."""
        n = self.n
        if not n:
            return None
        ordered = sorted(self.values)
        total = sum((value * count for value, count in self.values.items()), Decimal(0))
        middle = (nth(ordered, self.values, (n - 1) // 2) + nth(ordered, self.values, n // 2)) / 2
        return {"n": n, "mean": total / n, "median": middle, "min": ordered[0], "max": ordered[-1]}

    def histogram(self) -> list[Bin]:
        return histogram(self.values)


@dataclass
class AnsweredTally:
    name: str
    answered: int = 0
    kind: str = "answered"

    def add(self, value: str | None, times: int = 1) -> None:  # None: counted without its value
        self.answered += times


@dataclass
class Bin:
    low: Decimal
    high: Decimal  # inclusive for whole-number bins, exclusive otherwise (except the last)
    count: int
    whole: bool


@dataclass
class Summary:
    total: int
    questions: list  # tallies in form order; each has .name, .kind, .answered
    sealed: int = 0  # encrypted submissions: counted, never opened here


def as_number(value: str) -> Decimal | None:
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None  # "NaN" and "Infinity" parse, but are not answers


def nth(ordered: list[Decimal], counts: Counter, index: int) -> Decimal:
    """The index-th value (0-based) of the multiset, walking the distinct values in order."""
    seen = 0
    for value in ordered:
        seen += counts[value]
        if index < seen:
            return value
    raise IndexError(index)


def tally_for(form: Form, q: Question):
    if q.type in CHOICE_TYPES:
        choices = ["OK"] if q.type == "acknowledge" else form.choice_names(q)
        return ChoiceTally(q.name, q.type == "select_multiple", choices)
    if q.type in NUMBER_TYPES:
        return NumberTally(q.name, calculated=q.type == "calculate")
    if q.type in ANSWERED_TYPES:
        return AnsweredTally(q.name)
    return None  # notes, and anything newer that this page does not know yet


def tallies_for(form: Form) -> list:
    # Questions inside repeats are left to the exports (a table per repeat): a count of
    # instances beside a count of submissions would read as one and mislead.
    return [t for t in (tally_for(form, q) for q in form.questions.values() if q.repeat is None) if t is not None]


def results(db, form: Form, **filters) -> Summary:
    """The Results page's numbers, counted by the database (the console's filters apply)."""
    tallies = tallies_for(form)
    total, sealed, rows = submission_store.answer_counts(
        db, form.form_id, [t.name for t in tallies if not isinstance(t, AnsweredTally)],
        answered=[t.name for t in tallies if isinstance(t, AnsweredTally)], **filters)
    by_name = {t.name: t for t in tallies}
    for name, value, times in rows:
        by_name[name].add(value, times)
    return Summary(total, tallies, sealed)


def summarise(form: Form, submissions: Iterable[dict]) -> Summary:
    """One pass: each submission's answers to the current version's questions go
    into that question's counter; answers to questions it no longer has are ignored."""
    tallies = tallies_for(form)
    total = sealed = 0
    for submission in submissions:
        total += 1
        answers = submission["answers"]
        if crypto.is_sealed(answers):
            sealed += 1
            continue
        for tally in tallies:
            value = answers.get(tally.name)
            if value is None or value == "":
                continue  # not relevant, or left empty: "No answer" is total - answered
            tally.add(value if isinstance(value, str) else str(value))
    return Summary(total, tallies, sealed)


def nice_width(raw: Decimal, whole: bool) -> Decimal:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is at least raw, so bins read well."""
    exponent = math.floor(math.log10(raw)) if raw > 0 else 0
    for step in ("1", "2", "2.5", "5", "10"):
        width = Decimal(step).scaleb(exponent)
        if width >= raw and not (whole and width != width.to_integral_value()):
            return max(width, Decimal(1)) if whole else width
    raise AssertionError("unreachable: 10 * 10^floor(log10(x)) > x")


def histogram(values: Counter, max_bins: int = MAX_BINS) -> list[Bin]:
    """Bins over the answers: one per whole number when few, else equal 'nice' widths.
    The outer bins are labelled with the real smallest and largest answers, and the
    last bin is closed, so the largest answer never sits alone in a bin beyond it."""
    if not values:
        return []
    low, high = min(values), max(values)
    whole = all(v == v.to_integral_value() for v in values)
    if whole and high - low < max_bins + 2:
        return [Bin(v, v, values.get(v, 0), True) for v in (low + i for i in range(int(high - low) + 1))]
    if low == high:
        return [Bin(low, high, sum(values.values()), whole)]
    width = nice_width((high - low) / max_bins, whole)
    # Whole numbers start at the smallest answer (1-2, 3-4); decimals on a round edge (0.2, 0.4).
    start = low if whole else (low / width).to_integral_value(ROUND_FLOOR) * width
    count = max(1, math.ceil((high - start) / width))
    counts = [0] * count
    for value, n in values.items():
        counts[min(int((value - start) // width), count - 1)] += n  # value >= start: // floors here
    bins = [Bin(start + i * width, start + (i + 1) * width - (1 if whole else 0), c, whole)
            for i, c in enumerate(counts)]
    bins[0].low, bins[-1].high = low, high
    return bins


def small(count: int, threshold: int) -> bool:
    """A count that could single someone out: shown as '<threshold' wherever others can see it."""
    return 0 < count < threshold
