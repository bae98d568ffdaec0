"""ODK XPath for XLSForm relevant / constraint / required / calculation / choice_filter.

Semantics follow the ODK XForms spec (https://getodk.github.io/xforms-spec/#xpath-functions)
and XPath 1.0; where the reference engines (JavaRosa in ODK Collect, Enketo's
openrosa-xpath-evaluator, ODK Web Forms) disagree, the choice and the reason are
written beside the code in fieldkit/forms/functions.py (the function library).

The tree is plain JSON (lists, strings, floats, null) so a browser script can
evaluate the very same tree and be held to tests/data/expr_vectors.json. Every node
is a list led by a tag:

    ["num", 12.0]   ["str", "abc"]   ["ref", "name"]   ["self"]   ["neg", x]
    [op, left, right]          op: or and = != < <= > >= + - * div mod
    ["call", "fn-name", arg1, arg2, ...]
    ["col", "name"]            a bare name in a choice_filter or an instance() predicate:
                               that column of the choice / row being tested
    ["empty", "text"]          a relative path that selects nothing (a bare name such as
                               null, or q/r): the empty node-set
    ["instance", "id", predicate-or-null, "field"-or-null]
                               instance('id')/root/item[predicate]/field

Paths name questions by their last step (question names are unique in a form):
/data/group/q and ../q are ["ref", "q"]; current() is ["self"].
"""
from __future__ import annotations

import datetime as _dt
import math
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable

__all__ = ["ExprError", "Context", "Nodes", "parse", "references", "uses_self", "evaluate",
           "to_string", "to_boolean", "to_number", "typed", "NODESET_FUNCTIONS"]


class ExprError(ValueError):
    """A source fieldkit cannot evaluate; .position is a 0-based offset or None."""

    def __init__(self, message: str, position: int | None = None):
        super().__init__(message)
        self.message = message
        self.position = position


@dataclass
class Context:
    values: Callable[[str], object]
    # The question's own value: '.', current(), once(), string-length() with no argument.
    current: object = ""
    # The clock; an aware datetime also gives the time zone that now() is written in
    # (naive or None: the machine's own zone).
    now: _dt.datetime | None = None
    choice_label: Callable[[str, str], str] | None = None
    # Repeats: every value a name has (one per repeat instance) for count(), sum(),
    # max(), min(), join() and the like; and the instance's 1-based position(..).
    nodes: Callable[[str], list] | None = None
    position: int = 0
    positions: tuple[int, ...] = ()  # of every instance around, outermost first: position(../..)
    column: Callable[[str], object] | None = None  # a choice_filter's choice: its columns by name
    # instance('id') rows: each a dict of child element name -> text (a choice list's
    # rows: name, label in the current language, and the choices sheet's other
    # columns; an attached CSV's rows: its columns). None: no such instance.
    instance: Callable[[str], list] | None = None
    # The form language in use ('Español (es)', or a code such as 'es'): the month
    # and day names of format-date() and lang(). None: English.
    language: str | None = None
    # indexed-repeat() over nested repeats: the value of name in the instance chosen by
    # each (repeat, 1-based index) pair, outermost first; None when there is none.
    repeat_value: Callable[[str, list], object] | None = None


class Nodes(tuple):
    """An XPath node-set, as the values of its nodes in document order."""
    __slots__ = ()


EMPTY = Nodes()
# Functions that read node-sets: every instance of a repeated question, an instance()
# lookup. Evaluated by the server only (fieldkit.js leaves such a page as drawn).
NODESET_FUNCTIONS = ("count", "sum", "max", "min", "position", "indexed-repeat", "join",
                     "count-non-empty", "randomize", "checklist", "weighted-checklist",
                     "area", "distance", "geofence")
_BINARY = {"or": 1, "and": 2, "=": 3, "!=": 3, "<": 4, "<=": 4, ">": 4, ">=": 4,
           "+": 5, "-": 5, "*": 6, "div": 6, "mod": 6}
_KEYWORDS = ("or", "and", "div", "mod")
_OPERAND_ENDS = ("num", "str", "ref", "self", "parent", "name", ")", "]")
# Bounds the parser's recursion and the tree's depth, so evaluate(), json.dumps()
# and a JavaScript port never meet a recursion limit.
_MAX_DEPTH = 100
# Explicit rather than str.isspace() so that the JavaScript port can match it exactly.
_WHITESPACE = " \t\r\n\u00a0"
_NUMBER_RE = re.compile(r"\d+(?:\.\d*)?|\.\d+", re.ASCII)
_UNSUPPORTED = {
    "//": "the descendant step // is not supported by fieldkit; refer to questions as ${name}",
    "@": "attributes (@name) are not supported by fieldkit",
    "|": "the union operator | is not supported by fieldkit",
    "::": "XPath axes (name::) are not supported by fieldkit",
    "!": "'!' on its own is not an operator; use != or not(...)",
}


def _name_char(ch: str, first: bool = False) -> bool:
    if first:
        return ch == "_" or ch.isalpha()
    return ch.isalnum() or ch in "_-." or unicodedata.category(ch) in ("Mn", "Mc")


def _scan_name(src: str, i: int) -> int:
    while i < len(src) and _name_char(src[i]):
        i += 1
    return i


def _tokenize(src: str) -> list[tuple]:
    """Tokens are (kind, value, start, end); kind is the text itself for operators."""
    toks: list[tuple] = []
    i, n = 0, len(src)
    while True:
        while i < n and src[i] in _WHITESPACE:
            i += 1
        if i >= n:
            toks.append(("end", None, n, n))
            return toks
        ch, two = src[i], src[i:i + 2]
        kind, value, end = None, None, i + 1
        after_operand = bool(toks) and toks[-1][0] in _OPERAND_ENDS
        if ch in "'\"":
            end = src.find(ch, i + 1) + 1
            if end == 0:
                raise ExprError(f"the text starting with {ch} is never closed", i)
            kind, value = "str", src[i + 1:end - 1]
        elif _NUMBER_RE.match(src, i):
            end = _NUMBER_RE.match(src, i).end()
            kind, value = "num", float(src[i:end])
            if math.isinf(value):
                raise ExprError("this number is too large", i)
        elif ch == "$":
            ok = two == "${" and i + 2 < n and _name_char(src[i + 2], first=True)
            end = _scan_name(src, i + 3) + 1 if ok else i
            if not ok or src[end - 1:end] != "}":
                raise ExprError("a reference must look like ${question_name}", i)
            kind, value = "ref", src[i + 2:end - 1]
        elif _name_char(ch, first=True):
            # XPath's lexer rule: right after an operand a name can only be an operator
            # name, and 'mod-2' there is mod then -2 even though '-' may occur in names.
            kw = next((k for k in _KEYWORDS if src.startswith(k, i)), "")
            after = src[i + len(kw):i + len(kw) + 1]
            if kw and after_operand and not (after and after not in "-." and _name_char(after)):
                kind, end = kw, i + len(kw)
            else:
                end = _scan_name(src, i + 1)
                if src[end:end + 1] == ":" and end + 1 < n and _name_char(src[end + 1], first=True):
                    end = _scan_name(src, end + 2)
                kind, value = "name", src[i:end]
        elif two == "..":
            kind, end = "parent", i + 2
        elif ch == ".":
            kind = "self"
        elif two in ("!=", "<=", ">=", "//"):
            kind, end = two, i + 2
        elif ch in "()+-*=<>,/[]":
            kind = ch
        if kind is None or kind == "//":
            raise ExprError(_UNSUPPORTED.get(two) or _UNSUPPORTED.get(ch)
                            or f"unexpected character {ch!r}", i)
        toks.append((kind, value, i, end))
        i = end


_MAX_FIELD_STEPS = 8  # instance('id')/root/item/a/b/...: how deep inside a row a path may go


class _Parser:
    def __init__(self, src: str, columns: bool | str = False):  # "row": an instance() predicate
        self.src, self.toks, self.i, self.depth = src, _tokenize(src), 0, 0
        # a choice_filter or an instance() predicate: a bare name is a column of the row
        self.columns = columns

    def peek(self, ahead: int = 0) -> tuple:
        return self.toks[min(self.i + ahead, len(self.toks) - 1)]

    def take(self) -> tuple:
        self.i += 1
        return self.toks[self.i - 1]

    def fail(self, message: str, tok: tuple | None = None):
        kind, _, start, end = tok or self.peek()
        found = "the end of the expression" if kind == "end" else repr(self.src[start:end])
        raise ExprError(message.replace("{found}", found), start)

    def expr(self, min_bp: int = 0) -> list:
        left = self.prefix()
        while True:
            kind = self.peek()[0]
            bp = _BINARY.get(kind)
            if bp is None or bp <= min_bp:  # equal power stops: operators are left-associative
                return left
            self.take()
            left = [kind, left, self.expr(bp)]

    def prefix(self) -> list:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            self.fail("the expression is nested too deeply")
        tok = kind, value, start, _ = self.take()
        if kind in ("num", "str"):
            node = [kind, value]
        elif kind == "ref":
            node = ["ref", value]
            if self.peek()[0] in ("/", "["):
                self.fail(f"paths and predicates after ${{{value}}} are not supported by fieldkit")
        elif kind == "-":
            node = ["neg", self.prefix()]  # XPath: UnaryExpr ::= '-' UnaryExpr, so -2*3 is (-2)*3
        elif kind == "(":
            node = self.expr(0)
            if self.take()[0] != ")":
                self.fail(f"expected ')' to close the '(' at character {start + 1}, found {{found}}",
                          self.toks[self.i - 1])
        elif kind == "name" and self.peek()[0] == "(":
            node = self.call(value, tok)
        elif kind == "name" and value in _KEYWORDS:
            self.fail(f"'{value}' needs a value on its left", tok)
        elif kind in ("name", "self", "parent", "/"):
            node = self.path(tok)
        else:
            self.fail("expected a value but found {found}", tok)
        self.depth -= 1
        return node

    # ------------------------------------------------------------ paths

    def steps(self, first: list) -> list:
        """The steps after a path's first: '/' name, '/.', '/..' until something else."""
        steps = list(first)
        while self.peek()[0] == "/":
            self.take()
            tok = kind, value, _, _ = self.take()
            if kind == "name" and self.peek()[0] == "(":
                self.fail("node tests such as text() are not supported by fieldkit", tok)
            if kind not in ("name", "self", "parent"):
                self.fail("wildcards are not supported by fieldkit" if kind == "*" else
                          "expected a name after '/' but found {found}", tok)
            steps.append({"self": ".", "parent": ".."}.get(kind, value))
        if self.peek()[0] == "[":
            self.fail("predicates ([...]) are not supported by fieldkit, except on instance('...') paths")
        return steps

    def path(self, tok: tuple) -> list:
        kind, value, start, _ = tok
        if kind == "/":
            if self.peek()[0] not in ("name", "self", "parent"):
                self.fail("the root path '/' on its own is not supported by fieldkit", tok)
            return self.resolve(self.steps([self._step()]), True, start)
        return self.resolve(self.steps([{"self": ".", "parent": ".."}.get(kind, value)]), False, start)

    def _step(self) -> str:
        kind, value, _, _ = tok = self.take()
        if kind == "name" and self.peek()[0] == "(":
            self.fail("node tests such as text() are not supported by fieldkit", tok)
        return {"self": ".", "parent": ".."}.get(kind, value)

    def resolve(self, steps: list, absolute: bool, start: int, question: bool = False) -> list:
        """A path as fieldkit reads it: the question its last step names, where the
        path climbs to it (absolute, or '..' first); the empty node-set where the path
        goes down from the current question (a bare name such as null, or ./q), which
        selects nothing in ODK. In a predicate (question False) relative paths start
        at the row: a bare name (or ./name) is its column."""
        text = self.src[start:self.toks[self.i - 1][3]]
        if absolute:
            names: list[str] = []
            for step in steps:
                if step == "..":
                    names[-1:] = []
                elif step != ".":
                    names.append(step)
            if not names:
                raise ExprError(f"the path {text!r} does not name a question", start)
            return ["ref", names[-1]]
        depth, node = 0, None
        for step in steps:
            if step == ".":
                continue
            if step == "..":
                depth -= 1
                node = "parent" if node is None else node
            elif depth >= 0:
                node = "below"  # a child of the current node
                names = [s for s in steps if s != "."]
                if self.columns and not question and depth == 0 and len(names) == 1:
                    return ["col", step]
                if self.columns == "row" and not question and ".." not in names and len(names) <= _MAX_FIELD_STEPS:
                    return ["col", "/".join(names)]  # an instance() row's element inside another
                break
            else:
                node = step
        if node == "below" or (self.columns and not question and node not in (None, "parent")):
            return ["empty", text]
        if node is None:
            return ["self"]
        if node == "parent":
            # only position(..), position(../..) take it; parse() refuses it anywhere else
            return ["parent"] if depth == -1 else ["parent", -depth]
        if steps[-1] in (".", ".."):
            raise ExprError(f"the path {text!r} names a group, which fieldkit cannot read", start)
        return ["ref", node]

    # ------------------------------------------------------------ calls

    def call(self, name: str, tok: tuple) -> list:
        if name not in functions.FUNCTIONS:
            self.fail(f"the function {name}() is not supported by fieldkit (supported: "
                      + ", ".join(sorted(functions.FUNCTIONS)) + ")", tok)
        self.take()
        args = []
        while self.peek()[0] != ")" or args:
            args.append(self.expr(0))
            if self.peek()[0] != ",":
                break
            self.take()
        if self.take()[0] != ")":
            self.fail(f"expected ',' or ')' in the arguments of {name}(), found {{found}}",
                      self.toks[self.i - 1])
        if name == "position" and args == [["parent"]]:
            args = []  # position(..): the position of the current repeat instance
        elif name == "position" and len(args) == 1 and args[0][0] == "parent":
            args = [["up", float(args[0][1])]]  # position(../..): of the instance around it
        lo, hi = functions.FUNCTIONS[name]
        if len(args) < lo or (hi is not None and len(args) > hi):
            wanted = (f"{lo} or {hi} arguments" if hi == lo + 1 else f"{lo} to {hi} arguments"
                      if hi is not None and lo != hi else "no arguments" if lo == 0 and hi == 0
                      else f"at least {lo} argument" + "s" * (lo > 1) if hi is None
                      else f"{lo} argument" + "s" * (lo > 1))
            self.fail(f"{name}() takes {wanted} but was given {len(args)}", tok)
        if name == "current":
            if self.peek()[0] != "/":
                return ["self"]
            return self.resolve(self.steps(["."]), False, tok[2], question=True)
        if name == "instance":
            return self.instance(args, tok)
        if self.peek()[0] == "/":
            self.fail(f"a path after {name}() is not supported by fieldkit "
                      "(only after instance('...') and current())")
        problem = functions.check(name, args)
        if problem:
            self.fail(problem, tok)
        return ["call", name, *args]

    def instance(self, args: list, tok: tuple) -> list:
        """instance('id')/root/item[predicate]/field, the shape XLSForm lookups take; the
        field may be a path inside each row (P_Demographic/P_Name, in another form's
        answers), and so may a name in the predicate."""
        if args[0][0] != "str":
            self.fail("instance() needs the instance's name in quotes, like instance('regions')", tok)
        steps, predicate = [], None
        while self.peek()[0] == "/" and len(steps) < 2 + _MAX_FIELD_STEPS:
            self.take()
            step = self.take()
            if step[0] != "name" or self.peek()[0] == "(":
                self.fail("expected a name after '/' but found {found}", step)
            steps.append(step[1])
            if len(steps) == 2 and self.peek()[0] == "[":
                bracket = self.take()
                saved, self.columns = self.columns, "row"
                predicate = self.expr(0)
                self.columns = saved
                if self.take()[0] != "]":
                    self.fail(f"expected ']' to close the '[' at character {bracket[2] + 1}, "
                              "found {found}", self.toks[self.i - 1])
                if self.peek()[0] == "[":
                    self.fail("fieldkit takes one predicate [...] per instance() path")
        if len(steps) < 2 or self.peek()[0] in ("/", "["):
            self.fail("instance() paths must look like instance('name')/root/item[...]/field", tok)
        return ["instance", args[0][1], predicate, "/".join(steps[2:]) or None]


def parse(source: str, columns: bool = False) -> list:
    """The tree of an expression; with columns (a choice_filter), a bare name such as
    region in region = ${region} is ["col", "region"]: that column of each choice."""
    parser = _Parser(source, columns)
    if parser.peek()[0] == "end":
        raise ExprError("the expression is empty", 0)
    tree = parser.expr(0)
    if parser.peek()[0] in (")", "]"):
        parser.fail(f"this '{parser.peek()[0]}' has no matching opening bracket")
    if parser.peek()[0] != "end":
        parser.fail("expected an operator (such as and, or, =, +) but found {found}")
    for node, depth in _walk(tree):
        # A left-leaning chain (1+1+1+...) grows deep without recursion in the parser.
        if depth > _MAX_DEPTH:
            raise ExprError("the expression is too long or nested too deeply", None)
        if node[0] == "parent":
            raise ExprError("a path of parent steps ('..', '../..') on its own names a group: it is only "
                            "supported in position(..); refer to questions as ${name}", None)
    return tree


def _walk(tree):
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        yield node, depth
        stack.extend((child, depth + 1) for child in node[1:] if isinstance(child, list))


def references(tree) -> set[str]:
    return {node[1] for node, _ in _walk(tree) if node[0] == "ref"}


# Functions that read the question's own value when called without an argument.
_READS_SELF = ("string", "string-length", "normalize-space", "number")


def uses_self(tree) -> bool:
    """Whether the expression reads the question's own value ('.', current(), once())."""
    return any(node[0] == "self" or node[:2] == ["call", "once"]
               or (node[0] == "call" and node[1] in _READS_SELF and len(node) == 2)
               for node, _ in _walk(tree))


# ---------------------------------------------------------------- conversions

_ISO_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?"
                     r"(Z|[+-]\d{2}(?::?\d{2})?)?)?", re.ASCII)
_EPOCH = _dt.datetime(1970, 1, 1)
_DECIMAL_RE = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)


def _offset(text: str) -> _dt.timezone | None:
    if not text:
        return None
    if text == "Z":
        return _dt.timezone.utc
    hours, minutes = int(text[1:3]), int(text[3:].lstrip(":") or 0)
    if hours > 23 or minutes > 59:
        raise ValueError(text)
    delta = _dt.timedelta(hours=hours, minutes=minutes)
    return _dt.timezone(-delta if text[0] == "-" else delta)


def _parse_iso(text: str):
    """An ISO 8601 date, or a datetime (aware when it has an offset), or None."""
    match = _ISO_RE.fullmatch(text.strip())
    if not match:
        return None
    y, mo, d, h, mi, s, frac, tz = match.groups()
    try:
        if h is None:
            return _dt.date(int(y), int(mo), int(d))
        micro = int((frac or "0")[:6].ljust(6, "0"))
        return _dt.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0), micro, _offset(tz))
    except ValueError:  # e.g. 2024-02-30
        return None


def _wall(value: _dt.datetime) -> _dt.datetime:
    """A datetime's wall-clock time, as written with its own offset."""
    return value.replace(tzinfo=None)


def _normalise(value):
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value if isinstance(value, (bool, str, float, _dt.date, Nodes)) else str(value)


def to_number(value) -> float:
    """XPath number(), extended as the ODK spec says: a date or dateTime (or such a
    string) is its number of days since 1970-01-01, counted on the local calendar
    and clock as the value is written (as JavaRosa counts dates: whole days)."""
    value = _normalise(value)
    if isinstance(value, Nodes):
        return to_number(value[0]) if value else math.nan
    if isinstance(value, (bool, float)):
        return float(value)
    if isinstance(value, _dt.datetime):
        return (_wall(value) - _EPOCH) / _dt.timedelta(days=1)
    if isinstance(value, _dt.date):
        return float((value - _EPOCH.date()).days)
    text = value.strip()
    # XPath 1.0 number(): an optional '-' only; no '+', exponent, or Infinity.
    if _DECIMAL_RE.fullmatch(text):
        return float(text)
    when = _parse_iso(text) if text[:1].isdigit() else None
    return math.nan if when is None else to_number(when)


def to_boolean(value) -> bool:
    value = _normalise(value)
    if isinstance(value, float):
        return not (value == 0 or math.isnan(value))
    if isinstance(value, Nodes):
        return len(value) > 0  # XPath: a node-set is true when it has a node
    return value != "" if isinstance(value, str) else bool(value)  # dates are true


def _number_text(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    # repr's shortest round-tripping digits, written out without an exponent.
    text = format(Decimal(repr(value)), "f")
    text = text.rstrip("0").rstrip(".") if "." in text else text
    return "0" if text == "-0" else text


def _datetime_text(value: _dt.datetime) -> str:
    """ODK's dateTime: 2024-05-01T10:30:00.000+03:00, local time with its offset."""
    if value.tzinfo is None:
        try:
            value = value.astimezone()  # naive: the machine's local time
        except (OverflowError, ValueError, OSError):
            value = value.replace(tzinfo=_dt.timezone.utc)
    offset = value.utcoffset() or _dt.timedelta(0)
    minutes = round(offset.total_seconds() / 60)
    sign = "-" if minutes < 0 else "+"
    return (f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:{value.minute:02d}:"
            f"{value.second:02d}.{value.microsecond // 1000:03d}{sign}{abs(minutes) // 60:02d}:"
            f"{abs(minutes) % 60:02d}")


def _xstring(value) -> str:
    """XPath string(): what string(), concat() and the other functions see (NaN is 'NaN')."""
    value = _normalise(value)
    if isinstance(value, Nodes):
        return _xstring(value[0]) if value else ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _number_text(value)
    if isinstance(value, _dt.datetime) and _wall(value).time() != _dt.time(0):
        return _datetime_text(value)
    if isinstance(value, _dt.date):  # a datetime at local midnight too, as every ODK engine writes it
        return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
    return value


def to_string(value) -> str:
    """A result as fieldkit stores it: XPath string(), except that a number that is
    NaN (a calculation that failed) is stored empty, as ODK Collect stores it
    (JavaRosa's IAnswerData.wrapData turns NaN into no answer)."""
    value = _normalise(value)
    if isinstance(value, float) and math.isnan(value):
        return ""
    return _xstring(value)


def typed(qtype: str, raw: str):
    """A stored raw answer as the typed value evaluate() expects; ValueError if malformed."""
    text = (raw or "").strip()
    if qtype not in ("integer", "decimal", "date", "range") or not raw:
        return raw or ""
    if not text:
        return ""
    if qtype == "date" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", text, re.ASCII):
        try:
            return _dt.date.fromisoformat(text)
        except ValueError:
            pass
    numeric = {"integer": r"[+-]?\d+", "decimal": r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"}
    numeric["range"] = numeric["decimal"]  # a range's value is a number
    if qtype in numeric and re.fullmatch(numeric[qtype], text, re.ASCII):
        if math.isfinite(float(text)):
            return float(text)
    raise ValueError(f"{raw!r} is not a valid {qtype} answer")


# ---------------------------------------------------------------- evaluation

def _scalar_equal(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return to_boolean(a) == to_boolean(b)
    if isinstance(a, (float, _dt.date)) or isinstance(b, (float, _dt.date)):
        # ${dob} = '2000-01-01': a date and a date string compare as days
        return to_number(a) == to_number(b)
    return _xstring(a) == _xstring(b)  # two date strings too (XPath, JavaRosa, Web Forms; Enketo: days)


_RELATIONS = {"<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__}


def _scalar(op: str, a, b) -> bool:
    if op in ("=", "!="):
        return _scalar_equal(a, b) == (op == "=")
    return _RELATIONS[op](to_number(a), to_number(b))


def compare(op: str, a, b) -> bool:
    """XPath 1.0 comparison: a node-set compares true when one of its nodes does (so
    the empty node-set is neither = nor != to anything), except against a boolean."""
    a, b = _normalise(a), _normalise(b)
    if isinstance(a, Nodes) or isinstance(b, Nodes):
        if isinstance(a, bool) or isinstance(b, bool):
            return _scalar(op, to_boolean(a), to_boolean(b))
        left = a if isinstance(a, Nodes) else (a,)
        right = b if isinstance(b, Nodes) else (b,)
        return any(_scalar(op, x, y) for x in left for y in right)
    return _scalar(op, a, b)


def _divide(x: float, y: float) -> float:
    if y != 0:
        return x / y
    if x == 0 or math.isnan(x):
        return math.nan
    return math.copysign(math.inf, x) * math.copysign(1.0, y)  # 1 div -0 is -Infinity


def _modulo(x: float, y: float) -> float:
    try:
        return math.fmod(x, y)  # truncated: sign of the dividend, as XPath and Java's %
    except ValueError:  # x infinite or y zero
        return math.nan


_ARITHMETIC = {"+": float.__add__, "-": float.__sub__, "*": float.__mul__,
               "div": _divide, "mod": _modulo}


def evaluate(tree, ctx: Context):
    if not isinstance(tree, (list, tuple)) or not tree:
        raise ExprError(f"malformed expression tree: {tree!r}")
    tag = tree[0]
    if tag in ("num", "str"):
        return float(tree[1]) if tag == "num" else tree[1]
    if tag in ("ref", "self"):
        return _normalise(ctx.values(tree[1]) if tag == "ref" else ctx.current)
    if tag == "col":
        value = ctx.column(tree[1]) if ctx.column else ""
        return EMPTY if value is None else _normalise(value)
    if tag == "empty":
        return EMPTY
    if tag == "neg":
        return -to_number(evaluate(tree[1], ctx))
    if tag in ("call", "instance"):
        return functions.call(tree[1], tree[2:], ctx) if tag == "call" else functions.lookup(tree, ctx)
    if tag in ("or", "and"):
        left = to_boolean(evaluate(tree[1], ctx))
        if left == (tag == "or"):  # short-circuit
            return left
        return to_boolean(evaluate(tree[2], ctx))
    if tag not in _BINARY:
        raise ExprError(f"malformed expression tree: unknown node {tag!r}")
    a, b = evaluate(tree[1], ctx), evaluate(tree[2], ctx)
    if tag in _ARITHMETIC:
        return _ARITHMETIC[tag](to_number(a), to_number(b))
    return compare(tag, a, b)


from . import functions  # noqa: E402  (the function library, which reads this module's conversions)
