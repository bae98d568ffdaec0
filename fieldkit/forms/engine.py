"""The runtime of a form: relevance, calculations, validation, navigation.

Pure functions over (form, answers). Answers are raw strings exactly as they
will be stored ("20", "money housing", "2024-05-01"); every decision about
what a participant sees next is made here, so the web layer only carries
requests in and pages out.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field

from ..messages import Message, N_
from . import expr
from .model import Form, Question, text_in

MAX_TEXT = 2000
MAX_INT = 2**31 - 1  # ODK integers are 32-bit
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
INTEGER = re.compile(r"[+-]?\d{1,10}")
DECIMAL = re.compile(r"[+-]?(\d{1,15}([.,]\d{0,10})?|[.,]\d{1,10})")
REFERENCE = re.compile(r"\$\{([^}\s]+)\}")
# time is stored as "HH:MM" (ODK stores "HH:MM:SS.000+zone"; fieldkit keeps what a person enters);
# dateTime as ISO "YYYY-MM-DDTHH:MM", what <input type="datetime-local"> sends. Seconds are dropped.
TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d)(:[0-5]\d(\.\d{1,3})?)?", re.ASCII)
DATETIME = re.compile(r"(\d{4}-\d{2}-\d{2})[T ](.+)", re.ASCII)
RANGE_RADIOS = 11  # a range with at most this many values is a row of radio buttons


class InputError(ValueError):
    """A request that no honest page could have sent: refused whole (4xx)."""

    def __init__(self, message: Message, status: int = 400):
        super().__init__(message.text)
        self.message, self.status = message, status


@dataclass
class State:
    values: dict[str, str]  # effective raw values: non-relevant cleared, calculations filled
    relevant: set[str]


@dataclass
class ScreenResult:
    answers: dict[str, str]
    entered: dict[str, list[str]]  # what was typed, to show it again beside an error
    errors: dict[str, Message] = field(default_factory=dict)
    appeared: list[str] = field(default_factory=list)  # questions that became relevant on this screen


def context(form: Form, values: dict[str, str], now=None, lang=None, current=None, qtype="text"):
    def value_of(name: str):
        q = form.questions.get(name)
        raw = values.get(name, "")
        try:
            return expr.typed(q.type if q else "text", raw)
        except ValueError:
            return ""

    def choice_label(qname: str, value: str):
        q = form.questions.get(qname)
        return form.choice_label(q, value, lang or form.default_language) if q else None

    try:
        cur = "" if current is None else expr.typed(qtype, current)
    except ValueError:
        cur = ""
    return expr.Context(values=value_of, current=cur, now=now, choice_label=choice_label)


def evaluate(form: Form, answers: dict[str, str], now=None, lang=None) -> State:
    """One pass in dependency order: relevance first, then each value."""
    values: dict[str, str] = {}
    relevant: set[str] = set()
    ctx = context(form, values, now, lang)
    for name in form.order:
        q = form.questions[name]
        trees = [form.groups[g].relevant for g in q.groups] + [q.relevant]
        if all(t is None or expr.to_boolean(expr.evaluate(t, ctx)) for t in trees):
            relevant.add(name)
            if q.calculation is not None:
                values[name] = expr.to_string(expr.evaluate(q.calculation, ctx))
            elif q.type == "hidden":
                values[name] = q.default or ""
            else:
                values[name] = answers.get(name, "")
        else:
            values[name] = ""
    return State(values, relevant)


def defaults(form: Form) -> dict[str, str]:
    return {n: q.default for n, q in form.questions.items() if q.default is not None and q.is_input}


def screen_inputs(form: Form, index: int) -> list[Question]:
    return [form.questions[n] for n in form.screens[index].questions if form.questions[n].is_input]


def is_shown(form: Form, index: int, state: State) -> bool:
    return any(n in state.relevant for n in form.screens[index].questions)


def next_screen(form: Form, index: int, state: State) -> int | None:
    for j in range(index + 1, len(form.screens)):
        if is_shown(form, j, state):
            return j
    return None


def previous_screen(form: Form, index: int, state: State) -> int | None:
    for j in range(min(index, len(form.screens)) - 1, -1, -1):
        if is_shown(form, j, state):
            return j
    return None


def first_screen(form: Form, state: State) -> int | None:
    return next_screen(form, -1, state)


def parse_answer(q: Question, values: list[str], form: Form) -> str | Message:
    """The canonical raw string for what was posted, or why it is not acceptable."""
    values = [unicodedata.normalize("NFC", CONTROL.sub("", v)).strip() for v in values]
    if q.type == "select_multiple":
        allowed = form.choice_names(q)
        chosen = {v for v in values if v}
        if chosen - set(allowed):
            return Message(N_("Please choose from the answers listed."))
        return " ".join(c for c in allowed if c in chosen)
    value = values[0] if values else ""
    if value == "":
        return ""
    if q.type == "text":
        if len(value) > MAX_TEXT:
            return Message(N_("Please keep this answer under %(max)s characters."), {"max": MAX_TEXT})
        return value.replace("\r\n", "\n")
    if q.type == "integer":
        if not INTEGER.fullmatch(value) or abs(int(value)) > MAX_INT:
            return Message(N_("Please enter a whole number, like 12."))
        return str(int(value))
    if q.type == "decimal":
        if not DECIMAL.fullmatch(value):
            return Message(N_("Please enter a number, like 2.5."))
        return expr.to_string(float(value.replace(",", ".")))
    if q.type == "date":
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            day = None
        if day is None or len(value) != 10 or not 1900 <= day.year <= 2100:
            return Message(N_("Please enter a date as year-month-day, like 2024-05-31."))
        return day.isoformat()
    if q.type == "time":
        match = TIME.fullmatch(value)
        return f"{match.group(1)}:{match.group(2)}" if match else Message(
            N_("Please enter a time as hours:minutes, like 14:30."))
    if q.type == "dateTime":
        match = DATETIME.fullmatch(value)
        day = parse_answer(_DATE, [match.group(1)], form) if match else None
        time = TIME.fullmatch(match.group(2)) if match else None
        if not isinstance(day, str) or not time:
            return Message(N_("Please enter a date and time as year-month-day hours:minutes, like 2024-05-31 14:30."))
        return f"{day}T{time.group(1)}:{time.group(2)}"
    if q.type == "range":
        return parse_range(q, value)
    if q.type == "select_one":
        return value if value in form.choice_names(q) else Message(N_("Please choose from the answers listed."))
    if q.type == "acknowledge":
        return "OK" if value == "OK" else Message(N_("Please choose from the answers listed."))
    return value


_DATE = Question(name="", type="date")


def range_values(q: Question) -> list[str] | None:
    """Every allowed value of a range, when there are few enough for radio buttons."""
    start, end, step = (float(q.parameters[k]) for k in ("start", "end", "step"))
    count = int(round((end - start) / step + 1e-9)) + 1
    if count > RANGE_RADIOS:
        return None
    return [expr.to_string(round(start + i * step, 10)) for i in range(count)]


def parse_range(q: Question, value: str) -> str | Message:
    start, end, step = (float(q.parameters[k]) for k in ("start", "end", "step"))
    shown = {k: q.parameters[k] for k in ("start", "end", "step")}
    if not DECIMAL.fullmatch(value):
        return Message(N_("Please choose a number from %(start)s to %(end)s."), shown)
    number = float(value.replace(",", "."))
    if not start - 1e-9 <= number <= end + 1e-9:
        return Message(N_("Please choose a number from %(start)s to %(end)s."), shown)
    steps = (number - start) / step
    if abs(steps - round(steps)) > 1e-6:
        return Message(N_("Please choose a number from %(start)s to %(end)s in steps of %(step)s."), shown)
    return expr.to_string(round(start + round(steps) * step, 10))


def apply_screen(form: Form, index: int, answers: dict[str, str], posted: dict[str, list[str]],
                 now=None, lang=None, check=True, seen: set[str] | frozenset = frozenset()) -> ScreenResult:
    """Merge one screen's posted answers; when check, apply required and constraints."""
    inputs = screen_inputs(form, index)
    names = {q.name for q in inputs}
    if set(posted) - names:
        raise InputError(Message(N_("The answers sent do not match this form's questions.")))
    result = ScreenResult(dict(answers), {})
    for q in inputs:
        values = posted.get(q.name, [])
        if len(values) > 1 and q.type != "select_multiple":
            raise InputError(Message(N_("The answers sent do not match this form's questions.")))
        parsed = parse_answer(q, values, form)
        if isinstance(parsed, Message):
            result.errors[q.name] = parsed
            result.entered[q.name] = values
        else:
            result.answers[q.name] = parsed
    if not check:
        return result
    before = evaluate(form, answers, now, lang)
    after = evaluate(form, result.answers, now, lang)
    for q in inputs:
        # A question that became relevant with this post was not on the participant's
        # screen (without JavaScript), unless the page says it showed it (seen).
        if (q.name in after.relevant and q.name not in before.relevant and not result.answers.get(q.name)
                and q.name not in seen):
            result.appeared.append(q.name)
    for q in inputs:
        if q.name in result.errors or q.name not in after.relevant or q.name in result.appeared:
            continue
        message = check_answer(form, q, after, now, lang)
        if message:
            result.errors[q.name] = message
    return result


def check_answer(form: Form, q: Question, state: State, now=None, lang=None) -> Message | None:
    """Required and constraint, for a relevant question, on the effective values."""
    value = state.values.get(q.name, "")
    ctx = context(form, state.values, now, lang, current=value, qtype=q.type)
    if value == "":
        if q.required is not None and expr.to_boolean(expr.evaluate(q.required, ctx)):
            return required_message(form, q, lang)
        return None
    if q.constraint is not None and not expr.to_boolean(expr.evaluate(q.constraint, ctx)):
        return constraint_message(form, q, lang)
    return None


def required_message(form: Form, q: Question, lang=None) -> Message:
    """The form's own required_message in lang, else the interface's."""
    custom = text_in(q.required_message, lang or form.default_language, form.default_language)
    return Message(custom) if custom else Message(N_("This question needs an answer."))


def constraint_message(form: Form, q: Question, lang=None) -> Message:
    custom = text_in(q.constraint_message, lang or form.default_language, form.default_language)
    return Message(custom) if custom else Message(N_("This answer is not allowed. Please check it."))


def first_invalid_screen(form: Form, answers: dict[str, str], now=None, lang=None) -> int | None:
    """Before submitting: the first shown screen with a missing or invalid answer."""
    state = evaluate(form, answers, now, lang)
    for index in range(len(form.screens)):
        for q in screen_inputs(form, index):
            if q.name in state.relevant and check_answer(form, q, state, now, lang):
                return index
    return None


def final_answers(form: Form, answers: dict[str, str], now=None, lang=None) -> dict[str, str]:
    """What is stored: every question and calculation, non-relevant ones cleared."""
    state = evaluate(form, answers, now, lang)
    return {name: state.values.get(name, "") for name in form.questions
            if form.questions[name].type != "note"}


def interpolate(text: str, form: Form, state: State, lang: str, show=None) -> str:
    """Replace ${name} in a label with that answer (choice labels for selects)."""
    def one(match):
        q = form.questions.get(match.group(1))
        value = state.values.get(match.group(1), "")
        if q is None or value == "":
            return ""
        if q.type in ("select_one", "select_multiple"):
            return ", ".join(form.choice_label(q, v, lang) or v for v in value.split())
        return show(q, value) if show else value

    return REFERENCE.sub(one, text)
