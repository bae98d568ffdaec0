"""ODK XPath subset for XLSForm relevant / constraint / required / calculation.

Semantics follow JavaRosa (ODK Collect) and XPath 1.0. The tree is plain JSON
(lists, strings, floats) so a browser script can evaluate the very same tree and
be held to tests/data/expr_vectors.json. Every node is a list led by a tag:

    ["num", 12.0]   ["str", "abc"]   ["ref", "name"]   ["self"]   ["neg", x]
    [op, left, right]          op: or and = != < <= > >= + - * div mod
    ["call", "fn-name", arg1, arg2, ...]
"""
from __future__ import annotations

import datetime as _dt
import math
import operator
import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Callable

__all__ = ["ExprError", "Context", "parse", "references", "uses_self", "evaluate",
           "to_string", "to_boolean", "to_number", "typed"]


class ExprError(ValueError):
    """A source fieldkit cannot evaluate; .position is a 0-based offset or None."""

    def __init__(self, message: str, position: int | None = None):
        super().__init__(message)
        self.message = message
        self.position = position


@dataclass
class Context:
    values: Callable[[str], object]
    current: object = ""
    now: _dt.datetime | None = None
    choice_label: Callable[[str, str], str] | None = None
    # Repeats: every value a name has (one per repeat instance) for count(), sum(),
    # max(), min() and indexed-repeat(); and the instance's 1-based position(..).
    nodes: Callable[[str], list] | None = None
    position: int = 0
    column: Callable[[str], str] | None = None  # a choice_filter's choice: its columns by name


# name -> (min args, max args or None for "any number")
_FUNCTIONS = {
    "selected": (2, 2), "count-selected": (1, 1), "if": (3, 3), "coalesce": (2, 2),
    "concat": (0, None), "string-length": (1, 1), "regex": (2, 2), "not": (1, 1),
    "true": (0, 0), "false": (0, 0), "number": (1, 1), "int": (1, 1), "round": (1, 2),
    "today": (0, 0), "now": (0, 0), "jr:choice-name": (2, 2), "string": (1, 1),
    "boolean": (1, 1), "contains": (2, 2), "starts-with": (2, 2), "substr": (2, 3),
    # Over repeats; evaluated by the server only (fieldkit.js leaves such a page as drawn).
    "count": (1, 1), "sum": (1, 1), "max": (1, None), "min": (1, None), "position": (0, 0),
    "indexed-repeat": (3, 3),
}
NODESET_FUNCTIONS = ("count", "sum", "max", "min", "position", "indexed-repeat")
# position(..): the only place fieldkit accepts the parent step.
_POSITION_PARENT = re.compile(r"position\s*\(\s*\.\.\s*\)")
_BINARY = {"or": 1, "and": 2, "=": 3, "!=": 3, "<": 4, "<=": 4, ">": 4, ">=": 4,
           "+": 5, "-": 5, "*": 6, "div": 6, "mod": 6}
_KEYWORDS = ("or", "and", "div", "mod")
# Bounds the parser's recursion and the tree's depth, so evaluate(), json.dumps()
# and a JavaScript port never meet a recursion limit.
_MAX_DEPTH = 100
# Explicit rather than str.isspace() so that the JavaScript port can match it exactly.
_WHITESPACE = " \t\r\n\u00a0"
_NUMBER_RE = re.compile(r"\d+(?:\.\d*)?|\.\d+", re.ASCII)
_ISO_RE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
                     r"(?:Z|[+-]\d{2}:?\d{2})?)?", re.ASCII)
_UNSUPPORTED = {
    "/": "paths such as /data/x are not supported by fieldkit; refer to questions as ${name}",
    "..": "the parent step '..' is not supported by fieldkit; refer to questions as ${name}",
    "@": "attributes (@name) are not supported by fieldkit",
    "[": "predicates ([...]) are not supported by fieldkit",
    "]": "predicates ([...]) are not supported by fieldkit",
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
            if kw and toks and toks[-1][0] in ("num", "str", "ref", "self", ")") and not (
                    after and after not in "-." and _name_char(after)):
                kind, end = kw, i + len(kw)
            else:
                end = _scan_name(src, i + 1)
                if src[end:end + 1] == ":" and end + 1 < n and _name_char(src[end + 1], first=True):
                    end = _scan_name(src, end + 2)
                kind, value = "name", src[i:end]
        elif ch == "." and two != "..":
            kind = "self"
        elif two == ".." and any(m.start() <= i < m.end() for m in _POSITION_PARENT.finditer(src)):
            kind, end = "parent", i + 2  # taken out again by _Parser.call
        elif two in ("!=", "<=", ">="):
            kind, end = two, i + 2
        elif ch in "()+-*=<>,":
            kind = ch
        if kind is None:
            raise ExprError(_UNSUPPORTED.get(two) or _UNSUPPORTED.get(ch)
                            or f"unexpected character {ch!r}", i)
        toks.append((kind, value, i, end))
        i = end


class _Parser:
    def __init__(self, src: str, columns: bool = False):
        self.src, self.toks, self.i, self.depth = src, _tokenize(src), 0, 0
        self.columns = columns  # a choice_filter: a bare name is a column of the choices sheet

    def peek(self) -> tuple:
        return self.toks[self.i]

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
        if kind in ("num", "str", "ref"):
            node = [kind, value]
        elif kind == "self":
            node = ["self"]
        elif kind == "-":
            node = ["neg", self.prefix()]  # XPath: UnaryExpr ::= '-' UnaryExpr, so -2*3 is (-2)*3
        elif kind == "(":
            node = self.expr(0)
            if self.take()[0] != ")":
                self.fail(f"expected ')' to close the '(' at character {start + 1}, found {{found}}",
                          self.toks[self.i - 1])
        elif kind == "name":
            node = self.call(value, tok)
        else:
            self.fail("expected a value but found {found}", tok)
        self.depth -= 1
        return node

    def call(self, name: str, tok: tuple) -> list:
        if self.peek()[0] != "(":
            if name in _KEYWORDS:
                self.fail(f"'{name}' needs a value on its left", tok)
            if self.columns and ":" not in name:
                return ["col", name]
            self.fail(f"the bare name {{found}} is not supported by fieldkit; "
                      f"refer to questions as ${{{name}}}", tok)
        if name not in _FUNCTIONS:
            self.fail(f"the function {name}() is not supported by fieldkit (supported: "
                      + ", ".join(sorted(_FUNCTIONS)) + ")", tok)
        self.take()
        if name == "position" and self.peek()[0] == "parent":
            self.take()  # position(..) is the position of the current repeat instance
        args = []
        while self.peek()[0] != ")" or args:
            args.append(self.expr(0))
            if self.peek()[0] != ",":
                break
            self.take()
        if self.take()[0] != ")":
            self.fail(f"expected ',' or ')' in the arguments of {name}(), found {{found}}",
                      self.toks[self.i - 1])
        lo, hi = _FUNCTIONS[name]
        if len(args) < lo or (hi is not None and len(args) > hi):
            wanted = (f"{lo} or {hi} arguments" if lo != hi else "no arguments" if lo == 0
                      else f"{lo} argument" + "s" * (lo > 1))
            self.fail(f"{name}() takes {wanted} but was given {len(args)}", tok)
        if name == "indexed-repeat" and (args[0][0] != "ref" or args[1][0] != "ref"):
            self.fail("indexed-repeat() needs a question and its repeat, like "
                      "indexed-repeat(${name}, ${members}, 1)", tok)
        if name == "regex" and args[1][0] == "str":
            try:
                re.compile(args[1][1])
            except re.error as exc:
                self.fail(f"regex() has an invalid pattern: {exc}", tok)
        return ["call", name, *args]


def parse(source: str, columns: bool = False) -> list:
    """The tree of an expression; with columns (a choice_filter), a bare name such as
    region in region = ${region} is ["col", "region"]: that column of each choice."""
    parser = _Parser(source, columns)
    if parser.peek()[0] == "end":
        raise ExprError("the expression is empty", 0)
    tree = parser.expr(0)
    if parser.peek()[0] == ")":
        parser.fail("this ')' has no matching '('")
    if parser.peek()[0] != "end":
        parser.fail("expected an operator (such as and, or, =, +) but found {found}")
    # A left-leaning chain (1+1+1+...) grows deep without recursion in the parser.
    if any(depth > _MAX_DEPTH for _, depth in _walk(tree)):
        raise ExprError("the expression is too long or nested too deeply", None)
    return tree


def _walk(tree):
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        yield node, depth
        stack.extend((child, depth + 1) for child in node[1:] if isinstance(child, list))


def references(tree) -> set[str]:
    return {node[1] for node, _ in _walk(tree) if node[0] == "ref"}


def uses_self(tree) -> bool:
    return any(node[0] == "self" for node, _ in _walk(tree))


# ---------------------------------------------------------------- conversions

def _naive(value: _dt.datetime) -> _dt.datetime:
    # Aware datetimes become local wall-clock time, which is what today()/now() use.
    return value.astimezone().replace(tzinfo=None) if value.tzinfo else value


def _normalise(value):
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, _dt.datetime):
        return _naive(value)
    return value if isinstance(value, (bool, str, float, _dt.date)) else str(value)


def _parse_iso(text: str):
    """An ISO 8601 date or datetime string as date / naive local datetime, or None."""
    text = text.strip()
    if not _ISO_RE.fullmatch(text):
        return None
    try:
        if len(text) == 10:
            return _dt.date.fromisoformat(text)
        return _naive(_dt.datetime.fromisoformat(text))
    except ValueError:  # e.g. 2024-02-30
        return None


def to_number(value) -> float:
    value = _normalise(value)
    if isinstance(value, (bool, float)):
        return float(value)
    if isinstance(value, _dt.datetime):
        return (value - _dt.datetime(1970, 1, 1)) / _dt.timedelta(days=1)
    if isinstance(value, _dt.date):
        return float((value - _dt.date(1970, 1, 1)).days)
    text = value.strip()
    # XPath 1.0 number(): an optional '-' only; no '+', exponent, or Infinity.
    return float(text) if re.fullmatch(r"-?(?:\d+(?:\.\d*)?|\.\d+)", text, re.ASCII) else math.nan


def to_boolean(value) -> bool:
    value = _normalise(value)
    if isinstance(value, float):
        return not (value == 0 or math.isnan(value))
    return value != "" if isinstance(value, str) else bool(value)  # dates are true


def to_string(value) -> str:
    value = _normalise(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return ""  # what ODK stores for a failed calculation, rather than "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        # repr's shortest round-tripping digits, written out without an exponent.
        text = format(Decimal(repr(value)), "f")
        text = text.rstrip("0").rstrip(".") if "." in text else text
        return "0" if text == "-0" else text
    if isinstance(value, _dt.datetime):
        return value.isoformat(timespec="seconds")
    return value.isoformat() if isinstance(value, _dt.date) else value


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

def _dates_first(a, b):
    # ODK users write ${dob} < '2000-01-01' and mean a date comparison.
    if isinstance(a, _dt.date) and isinstance(b, str):
        b = _parse_iso(b) or b
    elif isinstance(b, _dt.date) and isinstance(a, str):
        a = _parse_iso(a) or a
    return a, b


def _equal(a, b) -> bool:
    a, b = _dates_first(a, b)
    if isinstance(a, bool) or isinstance(b, bool):
        return to_boolean(a) == to_boolean(b)
    if isinstance(a, (float, _dt.date)) or isinstance(b, (float, _dt.date)):
        return to_number(a) == to_number(b)
    return a == b


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


_OPERATIONS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
               "+": operator.add, "-": operator.sub, "*": operator.mul,
               "div": _divide, "mod": _modulo}


def _java_int(x: float) -> int:
    # Java's (int) cast, which JavaRosa's substr applies to its indexes.
    return 0 if math.isnan(x) else int(max(-2.0 ** 31, min(2.0 ** 31 - 1, x)))


def _substr(text: str, start, end=None) -> str:
    n = len(text)
    b, e = _java_int(to_number(start)), n if end is None else _java_int(to_number(end))
    b, e = (b + n if b < 0 else b), (e + n if e < 0 else e)
    if n == 0 or e < 0 or e > n:  # JavaRosa gives '' rather than clamping an end past the text
        return ""
    return text[min(max(0, b), e):e]


def _round(x: float, digits: float = 0.0) -> float:
    if math.isnan(digits) or not math.isfinite(x):
        return math.nan if math.isnan(digits) else x
    places = _java_int(max(-400.0, min(400.0, digits)))
    # Rounds the decimal digits of repr(x), so round(1.005, 2) is 1.01 as a person expects.
    with localcontext() as dctx:
        dctx.prec = 1000
        return float(Decimal(repr(x)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP))


def _int(x: float) -> float:
    return float(math.trunc(x)) if math.isfinite(x) else x


def _choice_name(ctx: Context, value, question) -> str:
    value, question = to_string(value), to_string(question).strip()
    if question.startswith("${") and question.endswith("}"):
        question = question[2:-1]
    question = question.rstrip("/").rsplit("/", 1)[-1]  # '/data/group/q' -> 'q'
    label = ctx.choice_label(question, value) if value and ctx.choice_label else None
    return "" if label is None else str(label)


def _regex(text: str, pattern: str) -> bool:
    try:
        return re.search(pattern, text) is not None
    except re.error:  # only a computed pattern can get here; literals are checked by parse()
        return False


_S = to_string
# Functions of already-evaluated arguments; if/coalesce/today/now are in _call.
_EAGER = {
    "selected": lambda c, a, b: _S(b).strip() in _S(a).split(),
    "count-selected": lambda c, a: float(len(_S(a).split())),
    "concat": lambda c, *a: "".join(map(_S, a)),
    "string": lambda c, a: _S(a),
    "string-length": lambda c, a: float(len(_S(a))),  # code points, not UTF-16 units
    "regex": lambda c, a, b: _regex(_S(a), _S(b)),
    "contains": lambda c, a, b: _S(b) in _S(a),
    "starts-with": lambda c, a, b: _S(a).startswith(_S(b)),
    "substr": lambda c, a, *ends: _substr(_S(a), *ends),
    "not": lambda c, a: not to_boolean(a),
    "boolean": lambda c, a: to_boolean(a),
    "true": lambda c: True,
    "false": lambda c: False,
    "number": lambda c, a: to_number(a),
    "int": lambda c, a: _int(to_number(a)),
    "round": lambda c, a, *d: _round(to_number(a), *map(to_number, d)),
    "jr:choice-name": _choice_name,
}


def _nodes(arg, ctx: Context) -> list:
    """An argument of count(), sum(), max(), min(): every value of a name inside a
    repeat (one per instance), or the one value of anything else."""
    if arg[0] == "ref" and ctx.nodes is not None:
        return [_normalise(v) for v in ctx.nodes(arg[1])]
    return [evaluate(arg, ctx)]


def _extreme(pick, args, ctx: Context) -> float:
    numbers = [to_number(v) for arg in args for v in _nodes(arg, ctx)]
    if not numbers or any(math.isnan(n) for n in numbers):
        return math.nan  # as JavaRosa: an empty answer makes the maximum unknown
    return pick(numbers)


def _call_nodeset(name: str, args: list, ctx: Context):
    if name == "position":
        return float(ctx.position) if ctx.position else math.nan
    if name == "count":
        return float(len(_nodes(args[0], ctx)))
    if name == "sum":
        return float(math.fsum(to_number(v) for v in _nodes(args[0], ctx)))
    if name in ("max", "min"):
        return _extreme(max if name == "max" else min, args, ctx)
    # indexed-repeat(${name}, ${repeat}, n): name's value in the repeat's n-th instance
    values = ctx.nodes(args[0][1]) if ctx.nodes is not None else [ctx.values(args[0][1])]
    index = to_number(evaluate(args[2], ctx))
    if math.isnan(index) or not 1 <= int(index) <= len(values):
        return ""
    return _normalise(values[int(index) - 1])


def _call(name: str, args: list, ctx: Context):
    if name in NODESET_FUNCTIONS:
        return _call_nodeset(name, args, ctx)
    if name == "if":
        return evaluate(args[1] if to_boolean(evaluate(args[0], ctx)) else args[2], ctx)
    if name == "coalesce":
        first = evaluate(args[0], ctx)
        return first if to_string(first) != "" else evaluate(args[1], ctx)
    if name in ("today", "now"):
        now = _naive(ctx.now or _dt.datetime.now()).replace(microsecond=0)
        return now.date() if name == "today" else now
    if name not in _EAGER:
        raise ExprError(f"the function {name}() is not supported by fieldkit")
    return _EAGER[name](ctx, *(evaluate(arg, ctx) for arg in args))


def evaluate(tree, ctx: Context):
    if not isinstance(tree, (list, tuple)) or not tree:
        raise ExprError(f"malformed expression tree: {tree!r}")
    tag = tree[0]
    if tag in ("num", "str"):
        return float(tree[1]) if tag == "num" else tree[1]
    if tag in ("ref", "self"):
        return _normalise(ctx.values(tree[1]) if tag == "ref" else ctx.current)
    if tag == "col":
        return ctx.column(tree[1]) if ctx.column else ""
    if tag == "neg":
        return -to_number(evaluate(tree[1], ctx))
    if tag == "call":
        return _call(tree[1], tree[2:], ctx)
    if tag in ("or", "and"):
        left = to_boolean(evaluate(tree[1], ctx))
        if left == (tag == "or"):  # short-circuit
            return left
        return to_boolean(evaluate(tree[2], ctx))
    if tag not in _BINARY:
        raise ExprError(f"malformed expression tree: unknown node {tag!r}")
    a, b = evaluate(tree[1], ctx), evaluate(tree[2], ctx)
    if tag in ("=", "!="):
        return _equal(a, b) == (tag == "=")
    return _OPERATIONS[tag](*(to_number(v) for v in _dates_first(a, b)))
