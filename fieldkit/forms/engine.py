"""The runtime of a form: relevance, calculations, validation, navigation.

Pure functions over (form, answers). Answers are raw strings exactly as they
will be stored ("20", "money housing", "2024-05-01"); every decision about
what a participant sees next is made here, so the web layer only carries
requests in and pages out.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field

from ..messages import Message, N_
from . import appearances, expr, geo
from .model import UPLOAD_TYPES, Choice, Form, Question, text_in

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
ATTACHMENT_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}-[0-9a-f]{16}\.[a-z0-9]{1,5}", re.ASCII)
RANGE_RADIOS = 11  # a range with at most this many values is a row of radio buttons


class InputError(ValueError):
    """A request that no honest page could have sent: refused whole (4xx)."""

    def __init__(self, message: Message, status: int = 400):
        super().__init__(message.text)
        self.message, self.status = message, status


MAX_INSTANCES = 50  # of one repeat: a household of 50 is a survey of its own
Page = tuple  # (screen index, instance): instance 1.. on a repeat's page, 0 elsewhere and
# on a repeat's list page (add another, or go on); (len(form.screens), 0) is the end.


@dataclass
class Instance:
    values: dict[str, str]
    relevant: set[str]


@dataclass
class State:
    values: dict[str, str]  # effective raw values: non-relevant cleared, calculations filled
    relevant: set[str]
    instances: dict[str, list[Instance]] = field(default_factory=dict)  # repeat -> its instances
    live_repeats: set[str] = field(default_factory=set)  # repeats relevant (with their groups)
    scope: tuple[str, int] | None = None  # (repeat, 0-based instance) this view is of

    def within(self, repeat: str | None, index: int) -> State:
        """The values and relevance as seen from one instance of a repeat: its own
        answers under their plain names, beside everything outside the repeat."""
        if repeat is None:
            return self
        rows = self.instances.get(repeat) or []
        row = rows[index] if 0 <= index < len(rows) else Instance({}, set())
        return State(dict(self.values, **row.values), self.relevant | row.relevant, self.instances,
                     self.live_repeats, (repeat, index))


@dataclass
class ScreenResult:
    answers: dict
    entered: dict[str, list[str]]  # what was typed, to show it again beside an error
    errors: dict[str, Message] = field(default_factory=dict)
    appeared: list[str] = field(default_factory=list)  # questions that became relevant on this screen


def context(form: Form, values: dict[str, str], now=None, lang=None, current=None, qtype="text",
            instances: dict[str, list[Instance]] | None = None, scope: tuple[str, int] | None = None):
    """What expressions read: values outside repeats; inside the instance `scope`, that
    instance's own answers; and every instance's value for count(), sum() and the like."""
    instances = {} if instances is None else instances

    def typed(name: str, raw: str):
        q = form.questions.get(name)
        try:
            return expr.typed(q.type if q else "text", raw)
        except ValueError:
            return ""

    def nodes(name: str) -> list:
        if name in form.repeats:
            return [""] * len(instances.get(name) or [])
        q = form.questions.get(name)
        if q is not None and q.repeat and not (scope and scope[0] == q.repeat):
            return [typed(name, row.values.get(name, "")) for row in instances.get(q.repeat) or []]
        return [value_of(name)]

    def value_of(name: str):
        q = form.questions.get(name)
        if q is not None and q.repeat:
            rows = instances.get(q.repeat) or []
            at = scope[1] if scope and scope[0] == q.repeat else 0
            return typed(name, rows[at].values.get(name, "") if at < len(rows) else "")
        return typed(name, values.get(name, ""))

    def choice_label(qname: str, value: str):
        q = form.questions.get(qname)
        return form.choice_label(q, value, lang or form.default_language) if q else None

    def instance(name: str):
        """instance('id'): a choice list of the form (name, label in this language, its
        other columns), or an attached CSV's rows."""
        if name in form.choices:
            language = lang or form.default_language
            return [dict(c.columns, name=c.name, label=text_in(c.label, language, form.default_language),
                         itextId=f"static_instance-{name}-{i}")  # pyxform's id of its label, for jr:itext()
                    for i, c in enumerate(form.choices[name])]
        return form.instances.get(name)

    try:
        cur = "" if current is None else expr.typed(qtype, current)
    except ValueError:
        cur = ""
    return expr.Context(values=value_of, current=cur, now=now, choice_label=choice_label, nodes=nodes,
                        position=scope[1] + 1 if scope else 0, instance=instance, language=lang)


def _count(form: Form, repeat: str, answers: dict, ctx, live: set[str]) -> int:
    """How many instances a repeat has: its repeat_count, else as many as were added;
    none when it (or a group around it) is not relevant. A relevant one joins live."""
    r = form.repeats[repeat]
    trees = [form.groups[g].relevant for g in r.groups] + [r.relevant]
    if not all(t is None or expr.to_boolean(expr.evaluate(t, ctx)) for t in trees):
        return 0
    live.add(repeat)
    if r.count is not None:
        number = expr.to_number(expr.evaluate(r.count, ctx))
        return 0 if number != number else max(0, min(MAX_INSTANCES, int(number)))
    added = answers.get(repeat)
    return min(MAX_INSTANCES, len(added)) if isinstance(added, list) else 0


def _fill(q, raw: str, ctx, values: dict, relevant: set) -> None:
    if q.calculation is not None and not q.trigger:  # a triggered value is kept as it was worked out
        if isinstance(raw, str) and raw and expr.uses_self(q.calculation):
            ctx = dataclasses.replace(ctx, current=raw)  # once(random()): the value it was given first
        values[q.name] = expr.to_string(expr.evaluate(q.calculation, ctx))
    elif q.type == "hidden":
        values[q.name] = q.default or ""
    else:
        values[q.name] = raw if isinstance(raw, str) else ""
    relevant.add(q.name)


def evaluate(form: Form, answers: dict, now=None, lang=None) -> State:
    """One pass in dependency order: relevance first, then each value; inside a
    repeat, once per instance (a repeat's count is known before its first question)."""
    values: dict[str, str] = {}
    relevant: set[str] = set()
    instances: dict[str, list[Instance]] = {}
    live: set[str] = set()
    ctx = context(form, values, now, lang, instances=instances)

    def rows_of(repeat: str) -> list[Instance]:
        if repeat not in instances:
            instances[repeat] = [Instance({}, set()) for _ in range(_count(form, repeat, answers, ctx, live))]
        return instances[repeat]

    for name in form.order:
        q = form.questions[name]
        trees = [form.groups[g].relevant for g in q.groups] + [q.relevant]
        if q.repeat is None:
            if all(t is None or expr.to_boolean(expr.evaluate(t, ctx)) for t in trees):
                _fill(q, answers.get(name, ""), ctx, values, relevant)
            else:
                values[name] = ""
            continue
        given = answers.get(q.repeat) if isinstance(answers.get(q.repeat), list) else []
        for i, row in enumerate(rows_of(q.repeat)):
            inner = context(form, values, now, lang, instances=instances, scope=(q.repeat, i))
            if all(t is None or expr.to_boolean(expr.evaluate(t, inner)) for t in trees):
                mine = given[i] if i < len(given) and isinstance(given[i], dict) else {}
                # an instance a repeat_count made, not yet answered, starts from the defaults
                raw = mine[name] if name in mine else (q.default or "") if q.is_input else ""
                _fill(q, raw, inner, row.values, row.relevant)
            else:
                row.values[name] = ""
    for repeat in form.repeats:
        rows_of(repeat)  # a repeat with no question that needed evaluating still has its count
    return State(values, relevant, instances, live)


def keep_once(form: Form, answers: dict, state: State) -> dict:
    """once(random()) and the like: the first value a calculation outside repeats is
    given is kept with the answers, so a random assignment is drawn once per participant."""
    kept = dict(answers)
    for name, q in form.questions.items():
        if (q.calculation is not None and q.repeat is None and not kept.get(name)
                and expr.uses_self(q.calculation) and state.values.get(name)):
            kept[name] = state.values[name]
    return kept


def defaults(form: Form, repeat: str | None = None, answers: dict | None = None, now=None,
             lang=None) -> dict[str, str]:
    """The default answers of the questions outside repeats, or of a new repeat instance.
    A dynamic default (today(), ${q}) is worked out now, on the answers so far: as ODK
    does when a form is first opened, or an instance added."""
    found = {n: q.default for n, q in form.questions.items()
             if q.default is not None and q.is_input and q.repeat == repeat}
    dynamic = [q for q in form.questions.values()
               if q.default_expr is not None and q.is_input and q.repeat == repeat]
    if dynamic:
        state = evaluate(form, dict(answers or {}, **found), now, lang)
        ctx = context(form, state.values, now, lang, instances=state.instances)
        for q in dynamic:
            value = re.sub(r"(?:Z|[+-]\d\d:?\d\d)$", "", expr.to_string(expr.evaluate(q.default_expr, ctx))) \
                if q.type in ("time", "dateTime") else expr.to_string(expr.evaluate(q.default_expr, ctx))
            parsed = parse_answer(q, [value], form)
            found[q.name] = parsed if isinstance(parsed, str) else ""
    return found


def screen_inputs(form: Form, index: int) -> list[Question]:
    """The questions a screen posts: not its notes, nor what is read_only."""
    return [form.questions[n] for n in form.screens[index].questions
            if form.questions[n].is_input and not form.questions[n].read_only]


def is_shown(form: Form, index: int, state: State) -> bool:
    return any(n in state.relevant for n in form.screens[index].questions)


def repeat_of(form: Form, page: Page) -> str | None:
    return form.screens[page[0]].repeat if 0 <= page[0] < len(form.screens) else None


def _key(form: Form, page: Page) -> tuple[int, int]:
    """Pages in order: a repeat's instances, then its list page."""
    return (page[0], page[1] or MAX_INSTANCES + 1) if repeat_of(form, page) else (page[0], 0)


def all_pages(form: Form, state: State) -> list[Page]:
    """Every page as things stand, shown or not: what "Step 3 of 9" counts."""
    pages = []
    for index, screen in enumerate(form.screens):
        if screen.repeat is None:
            pages.append((index, 0))
            continue
        pages += [(index, i + 1) for i in range(len(state.instances.get(screen.repeat) or []))]
        if form.repeats[screen.repeat].count is None:
            pages.append((index, 0))
    return pages


def page_shown(form: Form, page: Page, state: State) -> bool:
    index, instance = page
    repeat = repeat_of(form, page)
    if repeat is None:
        return is_shown(form, index, state)
    rows = state.instances.get(repeat) or []
    if instance == 0:  # the list page: when the repeat is relevant and the participant decides
        return form.repeats[repeat].count is None and repeat in state.live_repeats
    return instance <= len(rows) and any(n in rows[instance - 1].relevant for n in form.screens[index].questions)


def page_exists(form: Form, page: Page, state: State) -> bool:
    """Whether a page could be on the participant's screen: an instance that is there,
    or a list page of a repeat the participant fills in; shown or not."""
    repeat = repeat_of(form, page)
    if repeat is None:
        return page[1] == 0
    if page[1] == 0:
        return form.repeats[repeat].count is None
    return page[1] <= len(state.instances.get(repeat) or [])


def next_page(form: Form, page: Page, state: State) -> Page | None:
    after = _key(form, page)
    return next((p for p in all_pages(form, state) if _key(form, p) > after and page_shown(form, p, state)), None)


def previous_page(form: Form, page: Page, state: State) -> Page | None:
    before = _key(form, page) if page[0] < len(form.screens) else (page[0], 0)
    shown = [p for p in all_pages(form, state) if _key(form, p) < before and page_shown(form, p, state)]
    return shown[-1] if shown else None


def first_page(form: Form, state: State) -> Page | None:
    return next_page(form, (-1, 0), state)


def settle(form: Form, page: Page, state: State) -> Page:
    """The page to show for a stored position: itself, or (when an instance it named is
    gone) the next one shown; the end when there is none."""
    if page[0] >= len(form.screens) or page_shown(form, page, state):
        return page
    return next_page(form, page, state) or (len(form.screens), 0)


def next_screen(form: Form, index: int, state: State) -> int | None:
    page = next_page(form, (index, 0), state)
    return None if page is None else page[0]


def previous_screen(form: Form, index: int, state: State) -> int | None:
    page = previous_page(form, (index, 0), state)
    return None if page is None else page[0]


def first_screen(form: Form, state: State) -> int | None:
    return next_screen(form, -1, state)


def parse_answer(q: Question, values: list[str], form: Form) -> str | Message:
    """The canonical raw string for what was posted, or why it is not acceptable."""
    values = [unicodedata.normalize("NFC", CONTROL.sub("", v)).strip() for v in values]
    if q.type == "rank":
        return parse_rank(q, values, form)
    if q.type == "geopoint":  # latitude, longitude, altitude, accuracy: four fields
        return geo.point(values)
    if q.type == "select_multiple":
        allowed = form.choice_names(q)
        chosen = {v for v in values if v}
        if chosen - set(allowed):
            return Message(N_("Please choose from the answers listed."))
        return " ".join(c for c in allowed if c in chosen)
    value = values[0] if values else ""
    if value == "":
        return ""
    if q.type in UPLOAD_TYPES:  # the stored name of the attached file, set by services/collect.py
        return value if ATTACHMENT_NAME.fullmatch(value) else Message(
            N_("The answers sent do not match this form's questions."))
    if q.type in ("geotrace", "geoshape"):
        return geo.points(value, q.type == "geoshape")
    if q.type in ("text", "barcode"):
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
        # month-year and year appearances: ODK stores the first day of the month or year
        looks = appearances.tokens(q.appearance)
        if "month-year" in looks and re.fullmatch(r"\d{4}-\d{2}", value):
            value += "-01"
        elif "year" in looks and re.fullmatch(r"\d{4}", value):
            value += "-01-01"
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


def parse_rank(q: Question, values: list[str], form: Form) -> str | Message:
    """rank: one "choice@place" per choice (a drop-down of places for each, which needs
    no JavaScript). Stored as ODK stores it: the choices, first place first."""
    allowed = form.choice_names(q)
    places: dict[str, int] = {}
    for value in values:
        choice, _, place = value.rpartition("@")
        if choice not in allowed or choice in places or (place and not (place.isascii() and place.isdigit())):
            return Message(N_("Please choose from the answers listed."))
        if place:
            places[choice] = int(place)
    if not places:
        return ""
    if sorted(places.values()) != list(range(1, len(allowed) + 1)) or len(places) != len(allowed):
        return Message(N_("Please give each answer its own place, from 1 to %(n)s."), {"n": len(allowed)})
    return " ".join(sorted(places, key=places.get))


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


def apply_screen(form: Form, index: int, answers: dict, posted: dict[str, list[str]],
                 now=None, lang=None, check=True, seen: set[str] | frozenset = frozenset(),
                 instance: int = 0) -> ScreenResult:
    """Merge one screen's posted answers (into one instance, on a repeat's page);
    when check, apply required and constraints."""
    inputs = screen_inputs(form, index)
    names = {q.name for q in inputs}
    if set(posted) - names:
        raise InputError(Message(N_("The answers sent do not match this form's questions.")))
    repeat = form.screens[index].repeat
    result = ScreenResult(dict(answers), {})
    target = result.answers
    if repeat is not None:
        rows = [dict(r) if isinstance(r, dict) else {} for r in (answers.get(repeat) or [])]
        while len(rows) < instance:  # a repeat_count's instances are made as they are answered
            rows.append(defaults(form, repeat, answers, now, lang))
        result.answers[repeat] = rows
        target = rows[instance - 1]
    for q in inputs:
        values = posted.get(q.name, [])
        if len(values) > (4 if q.type == "geopoint" else 1) and q.type not in ("select_multiple", "rank"):
            raise InputError(Message(N_("The answers sent do not match this form's questions.")))
        parsed = parse_answer(q, values, form)
        if isinstance(parsed, Message):
            result.errors[q.name] = parsed
            result.entered[q.name] = values
        else:
            target[q.name] = parsed
    _run_triggers(form, index, answers, result.answers, target, repeat, instance, now, lang)
    if not check:
        return result
    before = evaluate(form, answers, now, lang).within(repeat, instance - 1)
    after = evaluate(form, result.answers, now, lang).within(repeat, instance - 1)
    for q in inputs:
        # A question that became relevant with this post was not on the participant's
        # screen (without JavaScript), unless the page says it showed it (seen).
        if (q.name in after.relevant and q.name not in before.relevant and not target.get(q.name)
                and q.name not in seen):
            result.appeared.append(q.name)
        elif (q.choice_filter is not None and q.name in after.relevant and not target.get(q.name)
              and choices_for(form, q, before, now, lang) != choices_for(form, q, after, now, lang)):
            result.appeared.append(q.name)  # its choices follow an answer on this page: show them
    for q in inputs:
        if q.name in result.errors or q.name not in after.relevant or q.name in result.appeared:
            continue
        message = check_answer(form, q, after, now, lang)
        if message:
            result.errors[q.name] = message
    return result


def choices_for(form: Form, q: Question, state: State, now=None, lang=None) -> list[Choice]:
    """The choices a select offers as things stand: those its choice_filter keeps
    (evaluated for each choice, a bare name being that choice's column), else all."""
    choices = form.choices.get(q.list_name or "", [])
    if q.choice_filter is None:
        return choices
    kept = []
    for choice in choices:
        ctx = context(form, state.values, now, lang, instances=state.instances, scope=state.scope)
        ctx.column = lambda name, c=choice: c.name if name == "name" else c.columns.get(name, "")
        if expr.to_boolean(expr.evaluate(q.choice_filter, ctx)):
            kept.append(choice)
    return kept


def _run_triggers(form, index, old: dict, new: dict, target: dict, repeat, instance, now, lang) -> None:
    """`trigger`: a calculation that runs only when a question on this page changes
    (now() when an answer is given, say); its value is then kept as an answer. With no
    calculation, the question's answer is cleared when its trigger changes."""
    posted = {q.name for q in screen_inputs(form, index)}
    mine = instance_answers(old, repeat, instance)
    changed = {n for n in posted if mine.get(n, "") != target.get(n, "")}
    waiting = [q for q in form.questions.values() if set(q.trigger) & changed and q.repeat == repeat]
    if not waiting:
        return
    state = evaluate(form, new, now, lang).within(repeat, instance - 1)
    ctx = context(form, state.values, now, lang, instances=state.instances, scope=state.scope)
    for q in waiting:
        if q.calculation is not None:
            target[q.name] = expr.to_string(expr.evaluate(q.calculation, ctx))
        elif q.name not in posted:  # a trigger with no calculation clears the answer, as ODK's empty setvalue
            target.pop(q.name, None)


def check_answer(form: Form, q: Question, state: State, now=None, lang=None) -> Message | None:
    """Required and constraint, for a relevant question, on the effective values
    (of the instance the state is seen from, inside a repeat); a choice that its
    choice_filter no longer offers (the region changed) is asked again."""
    value = state.values.get(q.name, "")
    ctx = context(form, state.values, now, lang, current=value, qtype=q.type, instances=state.instances,
                  scope=state.scope)
    if value == "":
        if q.required is not None and expr.to_boolean(expr.evaluate(q.required, ctx)):
            return required_message(form, q, lang)
        return None
    if q.choice_filter is not None and set(value.split()) - {c.name for c in choices_for(form, q, state, now, lang)}:
        return Message(N_("Please choose from the answers listed."))
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


def first_invalid_page(form: Form, answers: dict, now=None, lang=None) -> Page | None:
    """Before submitting: the first shown page with a missing or invalid answer."""
    state = evaluate(form, answers, now, lang)
    for page in all_pages(form, state):
        if page[0] >= len(form.screens) or (repeat_of(form, page) and page[1] == 0):
            continue
        seen = state.within(repeat_of(form, page), page[1] - 1)
        for q in screen_inputs(form, page[0]):
            if q.name in seen.relevant and check_answer(form, q, seen, now, lang):
                return page
    return None


def first_invalid_screen(form: Form, answers: dict, now=None, lang=None) -> int | None:
    page = first_invalid_page(form, answers, now, lang)
    return None if page is None else page[0]


def final_answers(form: Form, answers: dict, now=None, lang=None) -> dict:
    """What is stored: every question and calculation, non-relevant ones cleared;
    a repeat as a list of its instances, each with its own questions."""
    state = evaluate(form, answers, now, lang)
    stored: dict = {}
    for name, q in form.questions.items():
        if q.type != "note" and q.repeat is None:
            stored[name] = state.values.get(name, "")
    for repeat in form.repeats:
        inner = [n for n, q in form.questions.items() if q.repeat == repeat and q.type != "note"]
        stored[repeat] = [{n: row.values.get(n, "") for n in inner} for row in state.instances.get(repeat, [])]
    return stored


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


def instance_answers(answers: dict, repeat: str | None, instance: int) -> dict:
    """The raw answers a page holds: outside repeats all of them, inside one that
    instance's own (1-based; {} for an instance not answered yet)."""
    if repeat is None:
        return answers
    rows = answers.get(repeat) or []
    row = rows[instance - 1] if 0 < instance <= len(rows) else {}
    return row if isinstance(row, dict) else {}


def answer_on_page(answers: dict, name: str, repeat: str | None, instance: int) -> str:
    """The raw answer to one question, in the page's instance when inside a repeat."""
    value = instance_answers(answers, repeat, instance).get(name, "")
    return value if isinstance(value, str) else ""


def attached_files(form: Form, answers: dict) -> set[str]:
    """The stored names of every file the final answers keep."""
    names = {answers.get(n) for n, q in form.questions.items() if q.type in UPLOAD_TYPES and q.repeat is None}
    for repeat in form.repeats:
        for row in answers.get(repeat) or []:
            names |= {row.get(n) for n, q in form.questions.items() if q.type in UPLOAD_TYPES and q.repeat == repeat}
    return {n for n in names if n}
