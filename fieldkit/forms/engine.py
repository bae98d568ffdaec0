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
MAX_DEPTH = 5  # repeats inside repeats: how deep a page's path may go
_LAST = MAX_INSTANCES + 1  # a repeat's list page comes after its instances


@dataclass(frozen=True)
class Page:
    """A page of the participant flow: a screen, and which instance of each repeat
    around it (1-based, outermost first; () outside repeats). A last number of 0 is
    a repeat's list page (add another, or go on), on the repeat's first screen.
    Page(len(form.screens)) is the end: the review page."""

    screen: int
    path: tuple[int, ...] = ()

    @property
    def instance(self) -> int:
        """The instance of the innermost repeat (0 outside repeats or on a list page)."""
        return self.path[-1] if self.path else 0

    @property
    def is_list(self) -> bool:
        return bool(self.path) and self.path[-1] == 0

    def encoded(self) -> str:
        """The path as the page's hidden field carries it: "2.1", "0", or ""."""
        return ".".join(map(str, self.path))

    @classmethod
    def decode(cls, screen: str, path: str) -> Page | None:
        """A page from the posted fields (digits and dots), or None for anything else."""
        parts = path.split(".") if path else []
        if not (screen.isascii() and screen.isdigit() and len(screen) < 6) or len(parts) > MAX_DEPTH or not all(
                p.isascii() and p.isdigit() and len(p) < 4 for p in parts):
            return None
        return cls(int(screen), tuple(int(p) for p in parts))


@dataclass
class Instance:
    values: dict[str, str]
    relevant: set[str]
    children: dict[str, list[Instance]] = field(default_factory=dict)  # a repeat inside -> its instances


Scope = tuple  # ((repeat, 0-based instance), ...) outermost first: where an expression is read from


@dataclass
class State:
    values: dict[str, str]  # effective raw values: non-relevant cleared, calculations filled
    relevant: set[str]
    instances: dict[str, list[Instance]] = field(default_factory=dict)  # a repeat outside repeats -> its instances
    # (repeat, 1-based numbers of the instances it is in) for each repeat that is relevant there
    live_repeats: set[tuple[str, tuple[int, ...]]] = field(default_factory=set)
    scope: Scope = ()  # the instances this view is of

    def rows(self, chain: list[str], numbers: tuple[int, ...] = ()) -> list[Instance]:
        """The instances of chain's last repeat inside the instances numbers (1-based) of
        the repeats before it; [] where one of those is not there."""
        rows = self.instances.get(chain[0]) or []
        for repeat, number in zip(chain[1:], numbers):
            if not 0 < number <= len(rows):
                return []
            rows = rows[number - 1].children.get(repeat) or []
        return rows

    def row(self, chain: list[str], numbers: tuple[int, ...]) -> Instance | None:
        rows = self.rows(chain, numbers[:-1])
        return rows[numbers[-1] - 1] if numbers and 0 < numbers[-1] <= len(rows) else None

    def within(self, chain: list[str], numbers: tuple[int, ...]) -> State:
        """The values and relevance as seen from one instance of a repeat (and the
        instances around it): their own answers under their plain names, beside
        everything outside."""
        values, relevant = dict(self.values), set(self.relevant)
        for depth in range(1, len(chain) + 1):
            row = self.row(chain[:depth], numbers[:depth]) or Instance({}, set())
            values.update(row.values)
            relevant |= row.relevant
        return State(values, relevant, self.instances, self.live_repeats,
                     tuple((r, n - 1) for r, n in zip(chain, numbers)))


@dataclass
class ScreenResult:
    answers: dict
    entered: dict[str, list[str]]  # what was typed, to show it again beside an error
    errors: dict[str, Message] = field(default_factory=dict)
    appeared: list[str] = field(default_factory=list)  # questions that became relevant on this screen
    state: State | None = None  # the whole form's state on the new answers, when apply_screen worked it out


def _scoped_rows(chain: list[str], instances: dict, scope: Scope, every: bool) -> list[Instance]:
    """The instances of chain's last repeat that a name inside it means, read from
    scope: at each level the scope's own instance where the scope is in that repeat,
    else every instance (every) or the first."""
    rows = [Instance({}, set(), instances)]
    for depth, repeat in enumerate(chain):
        mine = scope[depth][1] if depth < len(scope) and scope[depth][0] == repeat else None
        found = []
        for row in rows:
            inside = row.children.get(repeat) or []
            if mine is not None:
                found += inside[mine:mine + 1]
            else:
                found += inside if every else inside[:1]
        rows = found
    return rows


def context(form: Form, values: dict[str, str], now=None, lang=None, current=None, qtype="text",
            instances: dict[str, list[Instance]] | None = None, scope: Scope = ()):
    """What expressions read: values outside repeats; inside the instances `scope`
    names, their own answers; and every instance's value for count(), sum() and the like."""
    instances = {} if instances is None else instances

    def typed(name: str, raw: str):
        q = form.questions.get(name)
        try:
            return expr.typed(q.type if q else "text", raw)
        except ValueError:
            return ""

    def nodes(name: str) -> list:
        if name in form.repeats:
            return [""] * len(_scoped_rows(form.chain(name), instances, scope, every=True))
        q = form.questions.get(name)
        if q is not None and q.repeat:
            rows = _scoped_rows(form.chain(q.repeat), instances, scope, every=True)
            return [typed(name, row.values.get(name, "")) for row in rows]
        return [value_of(name)]

    def value_of(name: str):
        q = form.questions.get(name)
        if q is not None and q.repeat:
            rows = _scoped_rows(form.chain(q.repeat), instances, scope, every=False)
            return typed(name, rows[0].values.get(name, "") if rows else "")
        return typed(name, values.get(name, ""))

    def repeat_value(name: str, pairs: list):
        """indexed-repeat(): name in the instances the (repeat, 1-based number) pairs choose."""
        q = form.questions.get(name)
        if q is None or not q.repeat:
            return None
        chosen = {repeat: number - 1 for repeat, number in pairs}
        chain = form.chain(q.repeat)
        if set(chosen) - set(chain):
            return None
        rows = _scoped_rows(chain, instances, tuple((r, chosen.get(r, 0)) for r in chain), every=False)
        return typed(name, rows[0].values.get(name, "")) if rows else None

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
                        position=scope[-1][1] + 1 if scope else 0, instance=instance, language=lang,
                        repeat_value=repeat_value, positions=tuple(i + 1 for _, i in scope))


def _count(form: Form, repeat: str, given: dict, ctx, live: set, numbers: tuple[int, ...]) -> int:
    """How many instances a repeat has (inside the instances numbers): its repeat_count,
    else as many as were added; none when it (or a group around it) is not relevant.
    A relevant one joins live."""
    r = form.repeats[repeat]
    trees = [form.groups[g].relevant for g in r.groups] + [r.relevant]
    if not all(t is None or expr.to_boolean(expr.evaluate(t, ctx)) for t in trees):
        return 0
    live.add((repeat, numbers))
    if r.count is not None:
        number = expr.to_number(expr.evaluate(r.count, ctx))
        return 0 if number != number else max(0, min(MAX_INSTANCES, int(number)))
    added = given.get(repeat)
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


def given_rows(answers: dict, repeat: str) -> list[dict]:
    """The answered instances a dict of answers holds for a repeat (anything else as {})."""
    rows = answers.get(repeat)
    return [r if isinstance(r, dict) else {} for r in rows] if isinstance(rows, list) else []


def evaluate(form: Form, answers: dict, now=None, lang=None) -> State:
    """One pass in dependency order: relevance first, then each value; inside a
    repeat, once per instance (a repeat's count is known before its first question,
    in each instance of the repeat around it)."""
    values: dict[str, str] = {}
    relevant: set[str] = set()
    top = Instance(values, relevant)  # the answers outside repeats, holding the repeats' instances
    live: set = set()

    def paths(chain: list[str]) -> list[tuple[tuple[int, ...], Instance, dict]]:
        """Every instance of chain's last repeat: (its 1-based numbers, it, its answers),
        making each level's instances (by its count) the first time it is needed."""
        found = [((), top, answers)]
        for repeat in chain:
            deeper = []
            for numbers, row, given in found:
                if repeat not in row.children:
                    scope = tuple(zip(chain, (n - 1 for n in numbers)))
                    ctx = context(form, values, now, lang, instances=top.children, scope=scope)
                    row.children[repeat] = [Instance({}, set())
                                            for _ in range(_count(form, repeat, given, ctx, live, numbers))]
                mine = given_rows(given, repeat)
                deeper += [(numbers + (i + 1,), child, mine[i] if i < len(mine) else {})
                           for i, child in enumerate(row.children[repeat])]
            found = deeper
        return found

    for name in form.order:
        q = form.questions[name]
        trees = [form.groups[g].relevant for g in q.groups] + [q.relevant]
        if q.repeat is None:
            ctx = context(form, values, now, lang, instances=top.children)
            if all(t is None or expr.to_boolean(expr.evaluate(t, ctx)) for t in trees):
                _fill(q, answers.get(name, ""), ctx, values, relevant)
            else:
                values[name] = ""
            continue
        chain = form.chain(q.repeat)
        for numbers, row, mine in paths(chain):
            inner = context(form, values, now, lang, instances=top.children,
                            scope=tuple(zip(chain, (n - 1 for n in numbers))))
            if all(t is None or expr.to_boolean(expr.evaluate(t, inner)) for t in trees):
                # an instance a repeat_count made, not yet answered, starts from the defaults
                raw = mine[name] if name in mine else (q.default or "") if q.is_input else ""
                _fill(q, raw, inner, row.values, row.relevant)
            else:
                row.values[name] = ""
    for repeat in form.repeats:
        paths(form.chain(repeat))  # a repeat with no question that needed evaluating still has its count
    return State(values, relevant, top.children, live)


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
    return form.screens[page.screen].repeat if 0 <= page.screen < len(form.screens) else None


def chain_of(form: Form, page: Page) -> list[str]:
    """The repeats around a page's screen, outermost first."""
    return form.chain(repeat_of(form, page))


def seen_from(form: Form, state: State, page: Page) -> State:
    """The state as a page sees it: inside its instances, their own answers."""
    chain = chain_of(form, page)
    return state.within(chain, page.path) if chain else state


def _key(form: Form, page: Page) -> tuple:
    """Pages in order: inside a repeat, each instance's pages (the repeats inside it
    included) before the next instance's; its list page after them all."""
    key: list[int] = []
    for repeat, number in zip(chain_of(form, page), page.path):
        key += [form.anchor(repeat), number or _LAST]
    return (*key, page.screen)


def _numbers(state: State, chain: list[str]) -> list[tuple[int, ...]]:
    """The 1-based numbers of every instance of chain's last repeat, as things stand."""
    found: list[tuple[int, ...]] = [()]
    for depth in range(len(chain)):
        found = [n + (i + 1,) for n in found for i in range(len(state.rows(chain[:depth + 1], n)))]
    return found


def all_pages(form: Form, state: State) -> list[Page]:
    """Every page as things stand, shown or not, in order: what "Step 3 of 9" counts."""
    pages = []
    for index, screen in enumerate(form.screens):
        chain = form.chain(screen.repeat)
        pages += [Page(index, n) for n in _numbers(state, chain)]
        if chain and form.repeats[chain[-1]].count is None and form.anchor(chain[-1]) == index:
            pages += [Page(index, n + (0,)) for n in _numbers(state, chain[:-1])]
    return sorted(pages, key=lambda p: _key(form, p))


def page_exists(form: Form, page: Page, state: State) -> bool:
    """Whether a page could be on the participant's screen: an instance that is there,
    or a list page of a repeat the participant fills in; shown or not."""
    if not 0 <= page.screen < len(form.screens):
        return False
    chain = chain_of(form, page)
    if len(page.path) != len(chain):
        return False
    if not chain:
        return True
    if page.is_list:
        return (form.repeats[chain[-1]].count is None and form.anchor(chain[-1]) == page.screen
                and (len(chain) == 1 or state.row(chain[:-1], page.path[:-1]) is not None))
    return state.row(chain, page.path) is not None


def page_shown(form: Form, page: Page, state: State) -> bool:
    if not page_exists(form, page, state):
        return False
    chain = chain_of(form, page)
    if not chain:
        return is_shown(form, page.screen, state)
    if page.is_list:  # the list page: when the repeat is relevant there and the participant decides
        return (chain[-1], page.path[:-1]) in state.live_repeats
    row = state.row(chain, page.path)
    return any(n in row.relevant for n in form.screens[page.screen].questions)


def next_page(form: Form, page: Page, state: State) -> Page | None:
    after = _key(form, page)
    return next((p for p in all_pages(form, state) if _key(form, p) > after and page_shown(form, p, state)), None)


def previous_page(form: Form, page: Page, state: State) -> Page | None:
    before = _key(form, page)
    shown = [p for p in all_pages(form, state) if _key(form, p) < before and page_shown(form, p, state)]
    return shown[-1] if shown else None


def first_page(form: Form, state: State) -> Page | None:
    return next_page(form, Page(-1), state)


def end_page(form: Form) -> Page:
    return Page(len(form.screens))


def settle(form: Form, page: Page, state: State) -> Page:
    """The page to show for a stored position: itself, or (when an instance it named is
    gone) the next one shown; the end when there is none."""
    if page.screen >= len(form.screens) or page_shown(form, page, state):
        return page
    return next_page(form, page, state) or end_page(form)


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


def _writable(form: Form, answers: dict, chain: list[str], numbers: tuple[int, ...], now, lang) -> tuple[dict, dict]:
    copied = dict(answers)
    target = copied
    for repeat, number in zip(chain, numbers):
        rows = [dict(r) for r in given_rows(target, repeat)]
        while len(rows) < number:
            rows.append(defaults(form, repeat, answers, now, lang))
        target[repeat] = rows
        target = rows[number - 1]
    return copied, target


def with_instance(form: Form, answers: dict, page: Page, now=None, lang=None) -> tuple[dict, dict]:
    """A copy of the answers in which the page's instance (and each one around it) is
    there to write into, and that instance's own answers: a repeat_count's instances
    are made as they are answered, from their defaults. The answers given stay as they were."""
    return _writable(form, answers, chain_of(form, page), page.path, now, lang)


def with_list(form: Form, answers: dict, page: Page, now=None, lang=None) -> tuple[dict, dict]:
    """For a repeat's list page: a copy of the answers, and the answers (in that copy)
    of the instance around the list (all of them outside repeats), whose list of
    instances can then be replaced."""
    return _writable(form, answers, chain_of(form, page)[:-1], page.path[:-1], now, lang)


def apply_screen(form: Form, page: Page | int, answers: dict, posted: dict[str, list[str]],
                 now=None, lang=None, check=True, seen: set[str] | frozenset = frozenset(),
                 before: State | None = None) -> ScreenResult:
    """Merge one page's posted answers (into its instance, inside a repeat); when
    check, apply required and constraints. A screen outside repeats may be given by its
    index; before: evaluate(form, answers), when the caller has it already (a form is
    evaluated once per state, not once per use)."""
    page = Page(page) if isinstance(page, int) else page
    inputs = screen_inputs(form, page.screen)
    names = {q.name for q in inputs}
    if set(posted) - names:
        raise InputError(Message(N_("The answers sent do not match this form's questions.")))
    copied, target = with_instance(form, answers, page, now, lang)
    result = ScreenResult(copied, {})
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
    _run_triggers(form, page, answers, result.answers, target, now, lang)
    if not check:
        return result
    result.state = evaluate(form, result.answers, now, lang)
    before = seen_from(form, before or evaluate(form, answers, now, lang), page)
    after = seen_from(form, result.state, page)
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


def _run_triggers(form, page: Page, old: dict, new: dict, target: dict, now, lang) -> None:
    """`trigger`: a calculation that runs only when a question on this page changes
    (now() when an answer is given, say); its value is then kept as an answer. With no
    calculation, the question's answer is cleared when its trigger changes."""
    posted = {q.name for q in screen_inputs(form, page.screen)}
    mine = instance_answers(form, old, page)
    changed = {n for n in posted if mine.get(n, "") != target.get(n, "")}
    repeat = repeat_of(form, page)
    waiting = [q for q in form.questions.values() if set(q.trigger) & changed and q.repeat == repeat]
    if not waiting:
        return
    state = seen_from(form, evaluate(form, new, now, lang), page)
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
        if page.is_list:
            continue
        seen = seen_from(form, state, page)
        for q in screen_inputs(form, page.screen):
            if q.name in seen.relevant and check_answer(form, q, seen, now, lang):
                return page
    return None


def final_answers(form: Form, answers: dict, now=None, lang=None) -> dict:
    """What is stored: every question and calculation, non-relevant ones cleared;
    a repeat as a list of its instances, each with its own questions."""
    state = evaluate(form, answers, now, lang)

    def kept(repeat: str | None, values: dict, children: dict) -> dict:
        row = {n: values.get(n, "") for n, q in form.questions.items() if q.repeat == repeat and q.type != "note"}
        for inner, r in form.repeats.items():
            if r.parent == repeat:
                row[inner] = [kept(inner, child.values, child.children) for child in children.get(inner, [])]
        return row

    return kept(None, state.values, state.instances)


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


def instance_answers(form: Form, answers: dict, page: Page) -> dict:
    """The raw answers a page holds: outside repeats all of them, inside one that
    instance's own ({} for an instance not answered yet, or a list page)."""
    row = answers
    for repeat, number in zip(chain_of(form, page), page.path):
        rows = given_rows(row, repeat)
        row = rows[number - 1] if 0 < number <= len(rows) else {}
    return row


def page_answers(form: Form, answers: dict, page: Page) -> dict:
    """The raw answers as a page reads them: outside repeats all of them, and the answers
    of its instance and of each instance around it, under their plain names."""
    merged = dict(answers)
    chain = chain_of(form, page)
    for depth in range(1, len(chain) + 1):
        merged.update(instance_answers(form, answers, Page(form.anchor(chain[depth - 1]), page.path[:depth])))
    return merged


def answer_on_page(form: Form, answers: dict, name: str, page: Page) -> str:
    """The raw answer to one question, in the page's instance when inside a repeat."""
    value = instance_answers(form, answers, page).get(name, "")
    return value if isinstance(value, str) else ""


def attached_files(form: Form, answers: dict) -> set[str]:
    """The stored names of every file the final answers keep."""
    uploads = {n for n, q in form.questions.items() if q.type in UPLOAD_TYPES}
    names, rows = set(), [answers]
    while rows:  # the answers, then each repeat instance's, however deep
        row = rows.pop()
        names |= {row.get(n) for n in uploads if isinstance(row.get(n), str)}
        rows += [r for repeat in form.repeats for r in given_rows(row, repeat)]
    return {n for n in names if n}
