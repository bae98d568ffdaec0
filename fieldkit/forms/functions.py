"""The function library of fieldkit's ODK XPath (fieldkit/forms/expr.py parses and
evaluates; this module knows the functions of https://getodk.github.io/xforms-spec/#xpath-functions).

Where the reference engines disagree (JavaRosa, which ODK Collect runs; Enketo's
openrosa-xpath-evaluator; ODK Web Forms' @getodk/xpath), fieldkit follows the spec; where
the spec is silent, two engines against one, and Collect when all three differ. In brief:

- regex(): the spec's '[0-9]+' becomes /[0-9]+/, a search (Enketo, Web Forms); JavaRosa
  uses Pattern.matches, a whole-string match, so regex('abc123', '[0-9]+') is false in
  Collect. Patterns are read in Java's dialect, with Android's Unicode classes (\\w, \\d
  and \\p{Alpha} match any script, as on the phones Collect runs on; Enketo and Web Forms
  use JavaScript's ASCII classes).
- round(): XPath 1.0 rounds ties towards positive infinity, and so does JavaRosa
  (round(-2.5) = -2, round(-1.25, 1) = -1.2); Enketo and Web Forms round ties away
  from zero (-3). fieldkit follows the spec. JavaRosa's negative places truncate
  negative numbers (round(-17, -1) = -10): not followed (-20).
- Numbers: no decimal comma (JavaRosa reads '4,6' as 4.6; XPath, Enketo and Web Forms:
  NaN); = on numbers is exact IEEE equality (JavaRosa allows 1e-12 of difference).
- Dates count as days on the local calendar (today() = 19844 on 2024-05-01), as in
  JavaRosa; Enketo and Web Forms count from UTC midnight, so a date is fractional away
  from UTC. decimal-date-time() is the spec's count from 1970-01-01 UTC.
- sum(), max(), min() of a node-set with an empty or non-numeric node are NaN (XPath,
  Enketo, Web Forms); JavaRosa skips such nodes.
- A calculation that gives NaN is stored empty (JavaRosa's wrapData; Web Forms stores
  'NaN'); string(), concat() and the like see 'NaN', as in every engine.
- coalesce() treats NaN as empty (JavaRosa); Enketo and Web Forms return 'NaN'.
- weighted-checklist(): -1 as min or max means "not applicable", as for checklist()
  (the spec's "like checklist()", Enketo); JavaRosa takes -1 as a number there.
- date('x'), format-date('x', ...) on text that is no date: '' (JavaRosa raises an
  error, Enketo and Web Forms give 'Invalid Date').
- boolean-from-string('True') is false: the spec's "true" or "1" (Enketo, Web Forms);
  JavaRosa ignores case.
- = between two date strings compares the text (XPath, JavaRosa, Web Forms, whose
  maintainers decided so; Enketo compares days); < and > compare days. A datetime at
  local midnight is written as its date, as all three engines write it.
- date-time(n) is n days after 1970-01-01 on the local clock, the inverse of number()
  (date-time(0) is local midnight); the three engines count from UTC midnight, which
  puts date-time(decimal-date-time(today() - 60)) on the day before west of UTC.
- area('a') and other text that is no shape: NaN (Enketo; Web Forms gives 0, JavaRosa
  raises an error).
- selected-at(list, 0) is the first item: the spec's "(including ... index 0)" contradicts
  its own 0-based index; JavaRosa and Web Forms give the first item.
- distance() of two equal points is 0 (JavaRosa's acos of 1.0000000000000002 is NaN);
  area() and distance() are given to the centimetre, as Enketo and Web Forms give them.
"""
from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as _dt
import functools
import hashlib
import logging
import math
import random as _random
import secrets
import uuid as _uuid
from decimal import ROUND_HALF_DOWN, ROUND_HALF_UP, Decimal, localcontext

import regex as _regex  # Java's regex syntax (\p{L}, possessive, nested classes): see _java_regex

from .expr import (EMPTY, Context, ExprError, Nodes, _normalise, _parse_iso, _wall, _xstring,
                   compare, evaluate, to_boolean, to_number, to_string)

# name -> (min args, max args or None for "any number")
FUNCTIONS: dict[str, tuple[int, int | None]] = {}
_IMPL: dict = {}
_DAY = _dt.timedelta(days=1)
_EPOCH = _dt.datetime(1970, 1, 1)
_UTC = _dt.timezone.utc


def _eager(name: str, lo: int, hi: int | None):
    """A function of its evaluated arguments: f(ctx, *values)."""
    def register(f):
        FUNCTIONS[name] = (lo, hi)
        _IMPL[name] = lambda ctx, args: f(ctx, *(evaluate(a, ctx) for a in args))
        return f
    return register


def _lazy(name: str, lo: int, hi: int | None):
    """A function of its argument trees: f(ctx, trees) (short-circuits, node-sets)."""
    def register(f):
        FUNCTIONS[name] = (lo, hi)
        _IMPL[name] = f
        return f
    return register


FUNCTIONS.update({"instance": (1, 1), "current": (0, 0)})  # paths: the parser takes them


def call(name: str, args: list, ctx: Context):
    impl = _IMPL.get(name)
    if impl is None:
        raise ExprError(f"the function {name}() is not supported by fieldkit")
    return impl(ctx, args)


def _values(tree, ctx: Context) -> list:
    """An argument as the values of its nodes: every instance's value of a question in a
    repeat, an instance() lookup's nodes, or the one value of anything else."""
    if tree[0] == "ref" and ctx.nodes is not None:
        return [_normalise(v) for v in ctx.nodes(tree[1])]
    value = evaluate(tree, ctx)
    return list(value) if isinstance(value, Nodes) else [value]


def _every(args, ctx: Context) -> list:
    return [v for arg in args for v in _values(arg, ctx)]


def _java_int(x: float) -> int:
    # Java's (int) cast, which JavaRosa applies to indexes and places.
    return 0 if math.isnan(x) else int(max(-2.0 ** 31, min(2.0 ** 31 - 1, x)))


_S, _N, _B = _xstring, to_number, to_boolean


# ---------------------------------------------------------------- parse-time checks

_NODESET_ARGUMENT = ("count", "count-non-empty", "sum", "randomize")


def _nodeset(tree) -> bool:
    return tree[0] in ("ref", "instance", "empty", "self", "col") or tree[:2] == ["call", "randomize"]


def check(name: str, args: list) -> str | None:
    """What parse() refuses in a call's arguments: a literal that can never work."""
    if name == "indexed-repeat":
        if len(args) % 2 == 0 or any(args[i][0] != "ref" for i in [0, *range(1, len(args), 2)]):
            return ("indexed-repeat() needs a question and its repeat, like indexed-repeat(${name}, "
                    "${members}, 1), and up to two more repeat and index pairs")
    if name == "position" and args and args[0][0] != "up":
        return "position() takes no argument, or a path of parent steps such as .. or ../.."
    if name == "regex" and args[1][0] == "str":
        try:
            _java_regex(args[1][1])
        except (_regex.error, ValueError, OverflowError, IndexError) as exc:
            return f"regex() has an invalid pattern: {exc}"
    if name in ("format-date", "format-date-time") and args[1][0] == "str":
        bad = _bad_format(args[1][1])
        if bad:
            return f"{name}() does not know the format {bad} (it knows %Y %y %m %n %b %d %e %a " \
                   "%H %h %M %S %3 %%)"
    if name == "digest":
        if args[1][0] == "str" and _digest_name(args[1][1]) is None:
            return (f"digest() does not know the algorithm {args[1][1]!r} "
                    "(MD5, SHA-1, SHA-256, SHA-384, SHA-512)")
        if len(args) == 3 and args[2][0] == "str" and args[2][1].lower() not in ("base64", "hex"):
            return f"digest() does not know the encoding {args[2][1]!r} (base64, hex)"
    if name in _NODESET_ARGUMENT and not _nodeset(args[0]):
        # JavaRosa, Enketo and Web Forms all refuse count(1): "not a nodeset"
        return f"{name}() needs a question or a node-set, like {name}(${{name}})"
    if name == "weighted-checklist" and len(args) % 2:
        return "weighted-checklist() takes min, max, then pairs of a value and its weight"
    return None


# ---------------------------------------------------------------- control, booleans

@_lazy("if", 3, 3)
def _if(ctx, args):
    return evaluate(args[1] if _B(evaluate(args[0], ctx)) else args[2], ctx)


@_lazy("coalesce", 2, 2)
def _coalesce(ctx, args):
    first = evaluate(args[0], ctx)
    return first if to_string(first) != "" else evaluate(args[1], ctx)  # NaN is empty (JavaRosa)


@_lazy("once", 1, 1)
def _once(ctx, args):
    """The question's value when it has one, else the argument: once(random())."""
    return ctx.current if to_string(ctx.current) != "" else evaluate(args[0], ctx)


_eager("true", 0, 0)(lambda c: True)
_eager("false", 0, 0)(lambda c: False)
_eager("not", 1, 1)(lambda c, a: not _B(a))
_eager("boolean", 1, 1)(lambda c, a: _B(a))
# The spec: "true" or "1", anything else false (Enketo, Web Forms; JavaRosa ignores case)
_eager("boolean-from-string", 1, 1)(lambda c, a: _S(a) in ("true", "1"))


@_lazy("checklist", 2, None)
def _checklist(ctx, args):
    low, high = _java_int(_N(evaluate(args[0], ctx))), _java_int(_N(evaluate(args[1], ctx)))
    count = sum(1 for v in _every(args[2:], ctx) if _B(v))
    return (low < 0 or count >= low) and (high < 0 or count <= high)


@_lazy("weighted-checklist", 2, None)
def _weighted_checklist(ctx, args):
    low, high = _N(evaluate(args[0], ctx)), _N(evaluate(args[1], ctx))
    total = 0.0
    for flag_tree, weight_tree in zip(args[2::2], args[3::2]):
        flags, weights = _values(flag_tree, ctx), _values(weight_tree, ctx)
        if len(flags) != len(weights):
            return False  # JavaRosa: "nodesets not same length"
        total += sum(_N(w) for f, w in zip(flags, weights) if _B(f))
    return (low < 0 or total >= low) and (high < 0 or total <= high)


# ---------------------------------------------------------------- strings

_eager("string", 0, 1)(lambda c, *a: _S(a[0] if a else c.current))
_eager("string-length", 0, 1)(lambda c, *a: float(len(_S(a[0] if a else c.current))))  # code points
_eager("contains", 2, 2)(lambda c, a, b: _S(b) in _S(a))
_eager("starts-with", 2, 2)(lambda c, a, b: _S(a).startswith(_S(b)))
_eager("ends-with", 2, 2)(lambda c, a, b: _S(a).endswith(_S(b)))


@_lazy("concat", 0, None)
def _concat(ctx, args):
    return "".join(map(_S, _every(args, ctx)))  # the spec: every node of a node-set argument


@_lazy("join", 1, None)
def _join(ctx, args):
    return _S(evaluate(args[0], ctx)).join(map(_S, _every(args[1:], ctx)))


@_eager("substr", 2, 3)
def _substr(ctx, text, start, end=None):
    """ODK's substr(): 0-based start, exclusive end, negatives from the end (JavaRosa)."""
    text = _S(text)
    n = len(text)
    b, e = _java_int(_N(start)), n if end is None else _java_int(_N(end))
    b, e = (b + n if b < 0 else b), (e + n if e < 0 else e)
    b, e = min(max(0, b), n), min(max(0, e), n)
    return text[b:e] if b <= e else ""


def _xround(x: float) -> float:
    return math.floor(x + 0.5) if math.isfinite(x) else x


@_eager("substring", 2, 3)
def _substring(ctx, text, start, length=None):
    """XPath 1.0: the characters at 1-based positions p with round(start) <= p <
    round(start) + round(length); NaN bounds select nothing."""
    text = _S(text)
    first = _xround(_N(start))
    stop = math.inf if length is None else first + _xround(_N(length))
    if math.isnan(first) or math.isnan(stop):
        return ""
    lo = max(1, math.ceil(first)) if math.isfinite(first) else (1 if first < 0 else len(text) + 1)
    hi = len(text) + 1 if stop > len(text) else math.ceil(stop) if math.isfinite(stop) else 0
    return text[lo - 1:hi - 1] if hi > lo else ""


@_eager("substring-before", 2, 2)
def _substring_before(ctx, text, part):
    text, part = _S(text), _S(part)
    return text[:text.find(part)] if part in text else ""


@_eager("substring-after", 2, 2)
def _substring_after(ctx, text, part):
    text, part = _S(text), _S(part)
    return text[text.find(part) + len(part):] if part in text else ""


@_eager("translate", 3, 3)
def _translate(ctx, text, source, target):
    source, target, table = _S(source), _S(target), {}
    for i, ch in enumerate(source):
        table.setdefault(ch, target[i] if i < len(target) else None)  # the first mapping wins
    return "".join(table.get(ch, ch) or "" for ch in _S(text))


_XML_SPACE = {ord(c): " " for c in " \t\r\n"}  # XPath's whitespace, not Unicode's


@_eager("normalize-space", 0, 1)
def _normalize_space(ctx, *a):
    return " ".join(w for w in _S(a[0] if a else ctx.current).translate(_XML_SPACE).split(" ") if w)


_GUID = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@_eager("uuid", 0, 1)
def _uuid_(ctx, *a):
    """A version 4 UUID; uuid(n): n random characters (JavaRosa: 0-9 A-Z), at most 4096."""
    if not a:
        return str(_uuid.uuid4())
    return "".join(secrets.choice(_GUID) for _ in range(max(0, min(4096, _java_int(_N(a[0]))))))


_DIGESTS = {"MD5": "md5", "SHA1": "sha1", "SHA256": "sha256", "SHA384": "sha384", "SHA512": "sha512"}


def _digest_name(name: str) -> str | None:
    return _DIGESTS.get(name.upper().replace("-", ""))  # JavaRosa: any case, dashes optional


@_eager("digest", 2, 3)
def _digest(ctx, data, algorithm, encoding="base64"):
    name, encoding = _digest_name(_S(algorithm)), _S(encoding).lower()
    if name is None or encoding not in ("base64", "hex"):
        return ""
    digest = hashlib.new(name, _S(data).encode("utf-8")).digest()
    return digest.hex() if encoding == "hex" else base64.b64encode(digest).decode("ascii")


@_eager("base64-decode", 1, 1)
def _base64_decode(ctx, data):
    try:
        raw = base64.b64decode("".join(_S(data).split()), validate=True)
    except (binascii.Error, ValueError):
        return ""
    return raw.decode("utf-8", "replace")


def _language_code(language: str | None) -> str:
    text = (language or "").strip()
    if text.endswith(")") and "(" in text:
        text = text[text.rindex("(") + 1:-1]
    return text.strip().replace("_", "-")


@_eager("lang", 1, 1)
def _lang(ctx, wanted):
    code, wanted = _language_code(ctx.language).lower(), _S(wanted).lower()
    return bool(code) and (code == wanted or code.startswith(wanted + "-"))


# ---------------------------------------------------------------- regex (Java's dialect)

_LINE_ENDS = "\\n\\r\\x85\\u2028\\u2029"
_SHORT_CLASSES = {  # Java 8 escapes that Python's regex spells differently, or not at all
    "h": "[ \\t\\xa0\\u1680\\u180e\\u2000-\\u200a\\u202f\\u205f\\u3000]",
    "v": "[\\n\\x0b\\f\\r\\x85\\u2028\\u2029]",
}
_JAVA_PROPERTIES = {  # \p{java...} names; the POSIX ones (Alpha, Punct...) regex knows
    "javaLowerCase": "Lowercase", "javaUpperCase": "Uppercase", "javaWhitespace": "White_Space",
    "javaMirrored": "Bidi_Mirrored", "javaLetter": "L", "javaDigit": "Nd", "javaAlphabetic": "Alphabetic",
    "javaIdeographic": "Ideographic", "javaTitleCase": "Lt", "javaSpaceChar": "Z", "javaDefined": "Assigned",
    "javaLetterOrDigit": None, "javaISOControl": None,
}


def _property(name: str, negated: bool) -> str:
    p = "P" if negated else "p"
    if name == "javaLetterOrDigit":
        return f"[{'^' if negated else ''}\\p{{L}}\\p{{Nd}}]"
    if name == "javaISOControl":
        return f"[{'^' if negated else ''}\\x00-\\x1f\\x7f-\\x9f]"
    name = _JAVA_PROPERTIES.get(name, name)
    try:
        _regex.compile(f"\\p{{{name}}}")
    except _regex.error:
        if name.startswith("Is"):
            name = name[2:]  # Java's \p{IsLu}: the category Lu
    return f"\\{p}{{{name}}}"


def _translate_java(pattern: str) -> str:
    """A Java (java.util.regex) pattern as the regex module reads it (VERSION1: nested
    classes and && intersections as Java has them, inline flags scoped as in Java)."""
    out, i, n, depth = [], 0, len(pattern), 0
    dotall = "s" in "".join(m for m in _regex.findall(r"\(\?([a-zA-Z-]+)[:)]", pattern))
    multiline = "m" in "".join(m for m in _regex.findall(r"\(\?([a-zA-Z-]+)[:)]", pattern))
    after_class_escape = False
    while i < n:
        ch = pattern[i]
        was_class_escape, after_class_escape = after_class_escape, False
        if ch == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            if nxt == "Q":  # \Q...\E: quoted text
                end = pattern.find("\\E", i + 2)
                end = n if end < 0 else end
                literal = pattern[i + 2:end]
                out.append("".join("\\" + c if not c.isalnum() else c for c in literal))
                i = end + 2
                continue
            if nxt in "pP":
                if pattern[i + 2:i + 3] == "{":
                    close = pattern.find("}", i + 3)
                    if close < 0:
                        raise ValueError("unclosed \\p{...}")
                    name, i = pattern[i + 3:close], close + 1
                else:
                    name, i = pattern[i + 2:i + 3], i + 3
                out.append(_property(name, nxt == "P"))
                after_class_escape = True
                continue
            if nxt in "hHvV":
                cls = _SHORT_CLASSES[nxt.lower()]
                out.append(cls if nxt.islower() else "[^" + cls[1:])
                after_class_escape, i = True, i + 2
                continue
            if nxt == "R" and depth == 0:
                out.append("(?:\\r\\n|[\\n\\x0b\\f\\r\\x85\\u2028\\u2029])")
            elif nxt == "z" and depth == 0:
                out.append("\\Z")
            elif nxt == "Z" and depth == 0:
                out.append(f"(?=(?:\\r\\n|[{_LINE_ENDS}])?\\Z)")
            elif nxt == "e":
                out.append("\\x1b")
            elif nxt == "c" and i + 2 < n:
                out.append(f"\\x{ord(pattern[i + 2]) ^ 64:02x}")
                i += 1
            elif nxt == "x" and pattern[i + 2:i + 3] == "{":
                close = pattern.find("}", i + 3)
                if close < 0:
                    raise ValueError("unclosed \\x{...}")
                out.append(f"\\U{int(pattern[i + 3:close], 16):08x}")
                i = close - 1
            elif nxt == "0" and i + 2 < n and pattern[i + 2] in "01234567":
                digits = ""
                while i + 2 + len(digits) < n and len(digits) < 3 and pattern[i + 2 + len(digits)] in "01234567":
                    digits += pattern[i + 2 + len(digits)]
                if len(digits) == 3 and digits[0] > "3":
                    digits = digits[:2]
                out.append(f"\\u{int(digits, 8):04x}")
                i += len(digits)
            elif nxt == "k" and pattern[i + 2:i + 3] == "<":
                close = pattern.find(">", i + 3)
                if close < 0:
                    raise ValueError("unclosed \\k<name>")
                out.append(f"(?P={pattern[i + 3:close]})")
                i = close - 1
            else:
                out.append(ch + nxt)
                after_class_escape = nxt in "wWdDsS"
            i += 2
            continue
        if depth:
            if ch == "[":
                depth += 1
            elif ch == "]":
                depth -= 1
            elif ch == "-" and was_class_escape and pattern[i + 1:i + 2] != "]":
                ch = "\\-"  # Java: [\w-.] is \w, '-' and '.'; Python calls it a bad range
            elif ch in "-~|" and pattern[i + 1:i + 2] == ch:
                out.append(ch + "\\" + ch)  # VERSION1's set operators --, ~~, || are plain in Java
                i += 2
                continue
            out.append(ch)
            i += 1
            continue
        if ch == "[":
            depth = 1
            out.append(ch)
            if pattern[i + 1:i + 2] == "^":
                out.append("^")
                i += 1
            i += 1
            continue
        if ch == "(" and pattern[i + 1:i + 2] == "?":
            flags = _regex.match(r"\(\?([a-zA-Z]*)(?:-([a-zA-Z]*))?([:)])", pattern[i:])
            if flags and (flags.group(1) or flags.group(2) is not None):
                # Java's d (UNIX_LINES) and U (UNICODE_CHARACTER_CLASS, always on in Android) go
                on, off = ("".join(c for c in group or "" if c not in "dU") for group in flags.group(1, 2))
                spelled = on + ("-" + off if off else "")
                if flags.group(3) == ":":
                    out.append(f"(?{spelled}:")
                elif spelled:
                    out.append(f"(?{spelled})")
                i += flags.end()
                continue
        if ch == "." and not dotall:
            out.append(f"[^{_LINE_ENDS}]")  # Java's '.' stops at every line terminator
        elif ch == "$" and not multiline:
            out.append(f"(?=(?:\\r\\n|[{_LINE_ENDS}])?\\Z)")
        else:
            out.append(ch)
        i += 1
    return "".join(out)


@functools.lru_cache(maxsize=256)
def _java_regex(pattern: str):
    return _regex.compile(_translate_java(pattern), _regex.V1)


REGEX_SECONDS = 0.5  # the most one regex() may take; the regex package lets other threads run meanwhile
_TIMED_OUT: dict[tuple[str, str], None] = {}  # (pattern, digest of the text): not tried again
_TOLD: set[str] = set()


@_eager("regex", 2, 2)
def _regex_(ctx, text, pattern):
    """A search, bounded in time: a pattern that backtracks without end on some answer
    (a form author's '(a|a)*$') counts as not matching, so the constraint fails with the
    form's message, and it is logged once for the coordinator, without the answer."""
    pattern, text = _S(pattern), _S(text)
    key = (pattern, hashlib.sha256(text.encode()).hexdigest())
    if key in _TIMED_OUT:
        return False
    try:
        return _java_regex(pattern).search(text, timeout=REGEX_SECONDS) is not None
    except TimeoutError:
        if len(_TIMED_OUT) > 1024:
            _TIMED_OUT.clear()
        _TIMED_OUT[key] = None
        if pattern not in _TOLD:
            _TOLD.add(pattern)
            logging.getLogger("fieldkit.forms").warning(
                "regex(..., %r) took more than %s s on an answer and was counted as not matching: "
                "the pattern backtracks too much; simplify it in the form", pattern, REGEX_SECONDS)
        return False
    except (_regex.error, ValueError, OverflowError):
        return False  # only a computed pattern can be invalid here; parse() checks literals


# ---------------------------------------------------------------- numbers

_eager("number", 0, 1)(lambda c, *a: _N(a[0] if a else c.current))
_eager("random", 0, 0)(lambda c: _random.random())
_eager("pi", 0, 0)(lambda c: math.pi)
_eager("int", 1, 1)(lambda c, a: float(math.trunc(_N(a))) if math.isfinite(_N(a)) else _N(a))


def _java_math(f):
    """A one-argument math function with Java's (and JavaScript's) results at the edges:
    NaN for a domain error, Infinity for an overflow."""
    def wrapped(c, a):
        x = _N(a)
        if math.isnan(x):
            return x
        try:
            return float(f(x))
        except ValueError:
            return math.nan
        except OverflowError:
            return math.inf
    return wrapped


def _log(f):
    return lambda x: -math.inf if x == 0 else math.nan if x < 0 else f(x)


for _name, _f in {"abs": abs, "sin": math.sin, "cos": math.cos, "tan": math.tan, "asin": math.asin,
                  "acos": math.acos, "atan": math.atan, "sqrt": math.sqrt, "exp": math.exp,
                  "log": _log(math.log), "log10": _log(math.log10),
                  "floor": lambda x: math.floor(x) if math.isfinite(x) else x,
                  "ceiling": lambda x: math.ceil(x) if math.isfinite(x) else x}.items():
    _eager(_name, 1, 1)(_java_math(_f))


def _pow(a: float, b: float) -> float:
    """Java's Math.pow (as JavaScript's **): NaN when the power is NaN, and for 1 to an
    infinite power; Infinity rather than an error for 0 to a negative power."""
    if math.isnan(b) or (math.isnan(a) and b != 0) or (abs(a) == 1 and math.isinf(b)):
        return math.nan
    odd = float(b).is_integer() and b % 2 == 1
    try:
        return math.pow(a, b)
    except OverflowError:
        return -math.inf if a < 0 and odd else math.inf
    except (ValueError, ZeroDivisionError):
        if a == 0:
            return -math.inf if math.copysign(1, a) < 0 and odd else math.inf
        return math.nan


_eager("pow", 2, 2)(lambda c, a, b: _pow(_N(a), _N(b)))
_eager("exp10", 1, 1)(lambda c, a: _pow(10.0, _N(a)))
_eager("atan2", 2, 2)(lambda c, a, b: math.atan2(_N(a), _N(b)))


def _round(x: float, digits: float = 0.0) -> float:
    """round(x, places): the decimal digits of x as written (repr), ties towards positive
    infinity as XPath 1.0 and JavaRosa round: round(2.5) = 3, round(-2.5) = -2."""
    if math.isnan(digits) or not math.isfinite(x):
        return math.nan if math.isnan(digits) else x
    places = _java_int(max(-400.0, min(400.0, digits)))
    with localcontext() as dctx:
        dctx.prec = 1000
        exact = Decimal(repr(x)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP if x >= 0 else ROUND_HALF_DOWN)
        return float(exact)


_eager("round", 1, 2)(lambda c, a, *d: _round(_N(a), *map(_N, d)))


def _fsum(numbers) -> float:
    numbers = list(numbers)
    try:
        return math.fsum(numbers)
    except (ValueError, OverflowError):  # inf + -inf, or an overflow on the way
        return sum(numbers, 0.0)


@_lazy("sum", 1, 1)
def _sum(ctx, args):
    return _fsum(_N(v) for v in _values(args[0], ctx))  # XPath: a NaN node makes the sum NaN


def _extreme(pick):
    def extreme(ctx, args):
        numbers = [_N(v) for v in _every(args, ctx)]
        if not numbers or any(math.isnan(x) for x in numbers):
            return math.nan  # XPath 3.0, Enketo, Web Forms: an empty answer makes it unknown
        return pick(numbers)
    return extreme


_lazy("max", 1, None)(_extreme(max))
_lazy("min", 1, None)(_extreme(min))


# ---------------------------------------------------------------- node-sets, repeats

_lazy("count", 1, 1)(lambda ctx, args: float(len(_values(args[0], ctx))))
_lazy("count-non-empty", 1, 1)(lambda ctx, args: float(sum(1 for v in _values(args[0], ctx) if _S(v) != "")))


@_lazy("position", 0, 1)
def _position(ctx, args):
    """position(..): the current repeat instance's; position(../..) (["up", 2]) that of the
    instance around it, and so on up."""
    if args:
        levels = int(args[0][1])
        return float(ctx.positions[-levels]) if len(ctx.positions) >= levels else math.nan
    return float(ctx.position) if ctx.position else math.nan


@_lazy("indexed-repeat", 3, 7)
def _indexed_repeat(ctx, args):
    """indexed-repeat(${name}, ${repeat}, n[, ${inner}, m[, ${innermost}, k]]): name's value
    in the n-th instance of the repeat (and the m-th of the repeat inside it ...)."""
    indexes = [_N(evaluate(t, ctx)) for t in args[2::2]]
    if not all(1 <= i < 2 ** 31 for i in indexes):  # NaN and Infinity are no instance
        return ""
    pairs = [(t[1], int(i)) for t, i in zip(args[1::2], indexes)]
    if len(pairs) > 1 and ctx.repeat_value is not None:
        value = ctx.repeat_value(args[0][1], pairs)
        return "" if value is None else _normalise(value)
    # One level of repeats: the values of name, one per instance of its (innermost) repeat.
    values = ctx.nodes(args[0][1]) if ctx.nodes is not None else [ctx.values(args[0][1])]
    index = pairs[-1][1]
    return _normalise(values[index - 1]) if index <= len(values) else ""


class _ParkMiller:
    """The seeded generator of the spec's randomize() (and JavaRosa's ParkMiller class)."""
    MODULUS, MULTIPLIER = 2147483647.0, 16807.0

    def __init__(self, seed: int):
        self.seed = math.fmod(float(seed), self.MODULUS)
        if self.seed <= 0:
            self.seed += self.MODULUS - 1

    def next_double(self) -> float:
        self.seed = math.fmod(self.seed * self.MULTIPLIER, self.MODULUS)
        return (int(self.seed) - 1) / (self.MODULUS - 1)


def _seed(value) -> int:
    """A seed as JavaRosa reads it: a number's whole part, else the first 8 bytes of
    the SHA-256 of the text as a signed long ('' is 0)."""
    number = _N(value)
    if math.isnan(number):
        text = _S(value)
        return 0 if not text else int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big", signed=True)
    return int(max(-2.0 ** 63, min(2.0 ** 63 - 1, number)))


def shuffle(items: list, seed: int | None = None) -> list:
    """The "inside-out" Fisher-Yates shuffle of the spec, seeded as ODK seeds it."""
    rng = _ParkMiller(seed) if seed is not None else None
    out: list = [None] * len(items)
    for i, item in enumerate(items):
        j = int((rng.next_double() if rng else _random.random()) * (i + 1))
        if j != i:
            out[i] = out[j]
        out[j] = item
    return out


@_lazy("randomize", 1, 2)
def _randomize(ctx, args):
    seed = _seed(evaluate(args[1], ctx)) if len(args) == 2 else None
    return Nodes(shuffle(_values(args[0], ctx), seed))


def lookup(tree, ctx: Context):
    """["instance", id, predicate, field]: the rows of instance(id) the predicate keeps
    (a bare name in it is the row's column; position() the row's place), then their
    field; without a field, each row's text."""
    _, name, predicate, field = tree
    rows = ctx.instance(name) if ctx.instance is not None else None
    if not rows:
        return EMPTY
    if predicate is not None:
        kept = []
        for place, row in enumerate(rows, 1):
            inner = dataclasses.replace(ctx, column=lambda name, row=row: Nodes((row[name],)) if name in row
                                        else None, position=place)  # a child element: a node
            value = evaluate(predicate, inner)
            if value == place if isinstance(value, float) else _B(value):  # [2] is position() = 2
                kept.append(row)
        rows = kept
    if field is None:
        return Nodes("".join(_S(_normalise(v)) for v in row.values()) for row in rows)
    return Nodes(_normalise(row[field]) for row in rows if field in row)


@_eager("pulldata", 4, 4)
def _pulldata(ctx, name, wanted, key, value):
    """pulldata('list', 'field', 'key', value): instance('list')/root/item[key = value]/field."""
    rows = ctx.instance(_S(name)) if ctx.instance is not None else None
    wanted, key = _S(wanted), _S(key)
    for row in rows or []:
        if key in row and compare("=", _normalise(row[key]), value):
            return _normalise(row.get(wanted, ""))
    return ""


# ---------------------------------------------------------------- select questions

_eager("selected", 2, 2)(lambda c, a, b: _S(b).strip() in _S(a).split())
_eager("count-selected", 1, 1)(lambda c, a: float(len(_S(a).split())))


@_eager("selected-at", 2, 2)
def _selected_at(ctx, answer, index):
    words, at = _S(answer).split(), _N(index)
    return words[int(at)] if 0 <= at < len(words) else ""  # NaN compares false


@_eager("jr:choice-name", 2, 2)
def _choice_name(ctx, value, question):
    value, question = _S(value), _S(question).strip()
    if question.startswith("${") and question.endswith("}"):
        question = question[2:-1]
    question = question.rstrip("/").rsplit("/", 1)[-1]  # '/data/group/q' -> 'q'
    label = ctx.choice_label(question, value) if value and ctx.choice_label else None
    return "" if label is None else str(label)


@_eager("jr:itext", 1, 1)
def _itext(ctx, text_id):
    """A translated label by pyxform's id for it: 'static_instance-<list>-<n>' is the n-th
    choice of a list (jr:itext(instance('l')/root/item[name = ${q}]/itextId), the label of
    an answer in the form's language); any other id gives ''."""
    found = _regex.fullmatch(r"static_instance-(.+)-(\d+)", _S(text_id))
    rows = ctx.instance(found.group(1)) if found and ctx.instance is not None else None
    index = int(found.group(2)) if found else -1
    return str(rows[index].get("label", "")) if rows and 0 <= index < len(rows) else ""


# ---------------------------------------------------------------- dates and times

def _zone(ctx: Context):
    """The zone of the form's clock: that of an aware ctx.now, else the machine's (None)."""
    now = ctx.now
    return now.tzinfo if isinstance(now, _dt.datetime) and now.tzinfo is not None else None


def _aware(value: _dt.datetime, ctx: Context) -> _dt.datetime:
    """A datetime in the form's zone: a naive one is read as local wall-clock time."""
    zone = _zone(ctx)
    try:
        if value.tzinfo is None:
            return value.replace(tzinfo=zone) if zone else value.astimezone()
        return value.astimezone(zone) if zone else value.astimezone()
    except (OverflowError, ValueError, OSError):
        return value if value.tzinfo else value.replace(tzinfo=_UTC)


def _now(ctx: Context) -> _dt.datetime:
    now = ctx.now or _dt.datetime.now()
    now = now if now.tzinfo is not None else _aware(now, ctx)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


_eager("now", 0, 0)(lambda c: _now(c))
_eager("today", 0, 0)(lambda c: _wall(_now(c)).date())

_UNPADDED = _regex.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(T.*)?")


def _when(value, ctx: Context) -> _dt.datetime | None:
    """A value as an aware datetime in the form's zone, or None: a date is its midnight;
    a number (or numeric text: a calculation's stored number) is days since 1970-01-01
    on the local clock, as number() counts them."""
    value = _normalise(value)
    if isinstance(value, Nodes):
        value = value[0] if value else ""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if _DAYS.fullmatch(text):
            value = float(text)
        else:
            value = _parse_iso(text)
            if value is None:
                unpadded = _UNPADDED.fullmatch(text)  # 2024-5-1, as JavaRosa and Web Forms read it
                if not unpadded:
                    return None
                y, m, d, rest = unpadded.groups()
                value = _parse_iso(f"{y}-{int(m):02d}-{int(d):02d}{rest or ''}")
                if value is None:
                    return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        try:
            value = _EPOCH + _dt.timedelta(days=value)
        except OverflowError:
            return None
    if not isinstance(value, _dt.datetime):
        value = _dt.datetime(value.year, value.month, value.day)
    return _aware(value, ctx)


_DAYS = _regex.compile(r"-?\d+(?:\.\d*)?|-?\.\d+")


@_eager("date", 1, 1)
def _date(ctx, value):
    value = _normalise(value)
    if isinstance(value, float) or (isinstance(value, str) and _DAYS.fullmatch(value.strip())):
        days = _N(value)  # JavaRosa: the whole days
        if not math.isfinite(days):
            return ""
        try:
            return _EPOCH.date() + _dt.timedelta(days=math.trunc(days))
        except OverflowError:
            return ""
    when = _when(value, ctx)
    return "" if when is None else _wall(when).date()


@_eager("date-time", 1, 1)
def _date_time(ctx, value):
    when = _when(value, ctx)
    return "" if when is None else when


@_eager("decimal-date-time", 1, 1)
def _decimal_date_time(ctx, value):
    """Days since 1970-01-01T00:00Z (the spec): 1.5 days after the UTC epoch is 1.5."""
    if isinstance(_normalise(value), float):
        return _normalise(value)
    when = _when(value, ctx)
    return math.nan if when is None else (when - _EPOCH.replace(tzinfo=_UTC)) / _DAY


_TIME = _regex.compile(r"(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}(?::?\d{2})?)?")


@_eager("decimal-time", 1, 1)
def _decimal_time(ctx, value):
    """A time as the fraction of the local day it is: 12:00 is 0.5 (a time with an offset
    is first moved to the form's zone, on today's date)."""
    value = _normalise(value)
    if isinstance(value, float):
        return value - math.floor(value) if math.isfinite(value) else math.nan
    if isinstance(value, str) and (match := _TIME.fullmatch(value.strip())):
        h, m, s, frac, tz = match.groups()
        if int(h) > 23 or int(m) > 59 or int(s or 0) > 59:
            return math.nan
        clock = _dt.time(int(h), int(m), int(s or 0), int((frac or "0")[:6].ljust(6, "0")))
        if tz:
            probe = _parse_iso(f"{_wall(_now(ctx)).date().isoformat()}T{value.strip()}")
            if probe is None:
                return math.nan
            clock = _wall(_aware(probe, ctx)).time()
        return (clock.hour * 3600 + clock.minute * 60 + clock.second + clock.microsecond / 1e6) / 86400
    when = _when(value, ctx)
    if when is None:
        return math.nan
    wall = _wall(when)
    return (wall - wall.replace(hour=0, minute=0, second=0, microsecond=0)) / _DAY


_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
_DAYS_OF_WEEK = "Mon Tue Wed Thu Fri Sat Sun".split()
_FORMATS = set("YymnbdeaHhMS3%")


def _bad_format(fmt: str) -> str | None:
    i = 0
    while i < len(fmt):
        if fmt[i] == "%":
            if fmt[i + 1:i + 2] not in _FORMATS:
                return fmt[i:i + 2] or "%"
            i += 1
        i += 1
    return None


@functools.lru_cache(maxsize=32)
def _names(language: str | None) -> tuple[list, list]:
    """Short month and day names in the form's language (the spec: the form's locale),
    from babel's CLDR data; English when there is none."""
    code = _language_code(language)
    if code and not code.lower().startswith("en"):
        try:
            from babel import Locale
            locale = Locale.parse(code.replace("-", "_"))
            months = locale.months["format"]["abbreviated"]
            days = locale.days["format"]["abbreviated"]
            return [months[m] for m in range(1, 13)], [days[d] for d in range(7)]
        except Exception:  # an unknown language, or one babel has no data for
            pass
    return _MONTHS, _DAYS_OF_WEEK


def _format(when: _dt.datetime, fmt: str, ctx: Context) -> str:
    months, days = _names(ctx.language)
    fields = {"Y": f"{when.year:04d}", "y": f"{when.year:04d}"[2:], "m": f"{when.month:02d}",
              "n": str(when.month), "b": months[when.month - 1], "d": f"{when.day:02d}", "e": str(when.day),
              "a": days[when.weekday()], "H": f"{when.hour:02d}", "h": str(when.hour),
              "M": f"{when.minute:02d}", "S": f"{when.second:02d}", "3": f"{when.microsecond // 1000:03d}",
              "%": "%"}
    out, i = [], 0
    while i < len(fmt):
        if fmt[i] == "%" and fmt[i + 1:i + 2] in fields:
            out.append(fields[fmt[i + 1]])
            i += 2
        else:
            out.append(fmt[i])  # an unknown escape stays as written (literal formats are checked)
            i += 1
    return "".join(out)


def _format_date(ctx, value, fmt):
    """format-date() and format-date-time(): one formatter, as JavaRosa and Enketo have
    (Web Forms' format-date() leaves time escapes as written)."""
    when = _when(value, ctx)
    return "" if when is None else _format(_wall(when), _S(fmt), ctx)


_eager("format-date", 2, 2)(_format_date)
_eager("format-date-time", 2, 2)(_format_date)


# ---------------------------------------------------------------- geography

_EARTH_RADIUS = 6_378_100.0  # metres at the equator, as all three engines use


def _point(text: str) -> tuple[float, float] | None:
    parts = _S(text).split()
    if not 2 <= len(parts) <= 4:
        return None
    try:
        lat, lon = float(parts[0]), float(parts[1])
    except ValueError:
        return None
    return (lat, lon) if math.isfinite(lat) and math.isfinite(lon) and abs(lat) <= 90 and abs(lon) <= 180 else None


def _points(values: list) -> list | None:
    """A geotrace or geoshape ('lat lon alt acc; ...'), or a node-set of geopoints."""
    texts = _S(values[0]).split(";") if len(values) == 1 else [_S(v) for v in values]
    texts = [t for t in (t.strip() for t in texts)]
    if len(texts) > 1 and texts[-1] == "":
        texts.pop()  # a trailing ';'
    points = [_point(t) for t in texts]
    return None if not points or None in points else points


def _distance(a, b) -> float:
    lat1, lat2, dlon = math.radians(a[0]), math.radians(b[0]), math.radians(a[1] - b[1])
    cosine = math.sin(lat1) * math.sin(lat2) + math.cos(lat1) * math.cos(lat2) * math.cos(dlon)
    return math.acos(max(-1.0, min(1.0, cosine))) * _EARTH_RADIUS


def _centimetres(x: float) -> float:
    return math.floor(abs(x) * 100 + 0.5) / 100  # Enketo and Web Forms: to 0.01 (Math.round)


@_lazy("distance", 1, None)
def _distance_(ctx, args):
    """The length in metres of a geotrace, a geoshape, or geopoints in order: the
    great-circle formula of all three engines, on a sphere of the equator's radius."""
    points = _points(_every(args, ctx))
    if points is None:
        return math.nan
    return _centimetres(_fsum(_distance(p, q) for p, q in zip(points, points[1:])))


def _area(ctx, args):
    """The area in m² of a geoshape or geopoints: the spherical formula Enketo and Web
    Forms use (JavaRosa sums planar triangles: 151452.3 where they give 151451.76)."""
    points = _points(_values(args[0], ctx))
    if points is None:
        return math.nan
    if len(points) < 3:
        return 0.0
    total = _fsum(math.radians(lon2 - lon1) * (2 + math.sin(math.radians(lat1)) + math.sin(math.radians(lat2)))
                  for (lat1, lon1), (lat2, lon2) in zip(points, points[1:] + points[:1]))
    return _centimetres(total * _EARTH_RADIUS * _EARTH_RADIUS / 2)


_lazy("area", 1, 1)(_area)
_lazy("enclosed-area", 1, 1)(_area)  # JavaRosa's older name


@_lazy("geofence", 2, 2)
def _geofence(ctx, args):
    """Whether a geopoint lies inside a geoshape (the even-odd ray test JavaRosa runs)."""
    point, shape = _point(_S(evaluate(args[0], ctx))), _points(_values(args[1], ctx))
    if point is None or shape is None or shape[0] != shape[-1]:
        return False  # a geoshape ends where it starts (the spec's data type; Web Forms)
    y, x = point
    inside = False
    for (lat1, lon1), (lat2, lon2) in zip(shape, shape[1:]):
        if (lat2 > y) != (lat1 > y) and x < (lon1 - lon2) * (y - lat2) / (lat1 - lat2) + lon2:
            inside = not inside
    return inside
