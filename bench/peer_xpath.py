#!/usr/bin/env python3
"""Hold fieldkit's XLSForm expression evaluator to the peers' own XPath test cases.

    python bench/peer_xpath.py                          # the report
    python bench/peer_xpath.py --update-known-failures  # rewrite tests/data/peer_xpath_known_failures.json
    python bench/peer_xpath.py --update-exclusions      # rewrite tests/data/peer_xpath_exclusions.json
    python bench/peer_xpath.py --show fail              # list the cases of one status (fail, error, crash, ...)

The cases are tests/data/peer_xpath.json (rebuilt by bench/peer_xpath_extract.py). Each runs
against fieldkit.forms.expr as tests/test_peer_xpath.py runs it (run_case below):

- fieldkit has no DOM. An absolute path such as /data/x or /simple/xpath/to/node that selects
  exactly one element without element children in the case's document becomes a reference
  ${p1}, ${p2}, ... whose value (Context.values) is that element's text: what an XLSForm
  question's ${name} is. The context node '.' is the text of a leaf element the peer evaluated
  at (ctx.current), or '' when there is no document. Anything else that needs the document
  (relative paths, predicates, axes, attributes, unions, several or no matching nodes, DOM-only
  functions) makes the case "needs-dom"; such cases are listed in the exclusions.
- Comparing: "string" with to_string(result) (or the regular expression in "pattern", or the
  UTF-16 "length"), "number" with to_number(result), NaN equal to NaN, relative and absolute
  tolerance 1e-9 / 1e-12 (or the peer's Math.round(x * f) / f when "round_factor" is given),
  "boolean" with to_boolean(result); an "error" case passes when parse() or evaluate() raises
  ExprError. A case with "timezone" runs with TZ set to it; "now" is Context.now.
- Statuses: pass; fail (a value that differs); error (ExprError on a case that expects a value,
  e.g. a function fieldkit lacks); crash (any other exception: counted on its own);
  needs-dom; excluded (tests/data/peer_xpath_exclusions.json: cases fieldkit deliberately does
  not follow, with the reason).
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import functools
import json
import math
import os
import re
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # after PYTHONPATH: PYTHONPATH=<a checkout> runs another evaluator

from fieldkit.forms.expr import (  # noqa: E402
    Context, ExprError, evaluate, parse, to_boolean, to_number, to_string,
)

DATA = ROOT / "tests" / "data"
CASES = DATA / "peer_xpath.json"
EXCLUSIONS = DATA / "peer_xpath_exclusions.json"
KNOWN_FAILURES = DATA / "peer_xpath_known_failures.json"
UNEXTRACTED = DATA / "peer_xpath_unextracted.json"
SPECIAL = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def load_json(path: Path, default):
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else default


def load_cases() -> list[dict]:
    return load_json(CASES, [])


def load_exclusions() -> dict:
    return {k: v for k, v in load_json(EXCLUSIONS, {}).items() if not k.startswith("_")}


def load_known_failures() -> dict:
    return {k: v for k, v in load_json(KNOWN_FAILURES, {}).items() if not k.startswith("_")}


def repo_of(case) -> str:
    return case["source"].split(":", 1)[0]


# ============================================================ reading the XPath of a case

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>"[^"]*"|'[^']*')
  | (?P<num>\d+(?:\.\d*)?|\.\d+)
  | (?P<ref>\$\{[^}]*\})
  | (?P<var>\$[^\W\d][\w.\-]*(?::[^\W\d][\w.\-]*)?)
  | (?P<op>//|/|\.\.|\.|::|@|\[|\]|\||\(|\)|,|!=|<=|>=|=|<|>|\+|-|\*)
  | (?P<name>[^\W\d][\w.\-\u00b7]*(?::(?:[^\W\d][\w.\-\u00b7]*|\*))?)
  | (?P<other>.)
""", re.X | re.S)
_OPERATOR_NAMES = ("and", "or", "div", "mod")
NODE_TESTS = ("node", "text", "comment", "processing-instruction")
# Functions that read the document itself or the form around an expression rather than values.
# With no argument these read the context node: string() is string(.).
CONTEXT_FUNCTIONS = {"string", "number", "string-length", "normalize-space"}
DOM_FUNCTIONS = {"id", "lang", "local-name", "name", "namespace-uri", "current", "instance", "jr:itext",
                 "last"}


@dataclass
class Shape:
    functions: list = field(default_factory=list)
    dom: list = field(default_factory=list)  # why the case needs a document, if it does
    paths: list = field(default_factory=list)  # (start, end, [step names]) simple absolute paths
    self_refs: int = 0


def lex(expr: str) -> list[tuple]:
    out = []
    for m in _TOKEN.finditer(expr):
        kind = m.lastgroup
        if kind != "ws":
            out.append((kind, m.group(), m.start(), m.end()))
    return out


def shape(expr: str) -> Shape:
    toks = lex(expr)
    sh = Shape()
    operand_before = False  # XPath lexer rule: after an operand, * and and/or/div/mod are operators
    i = 0
    while i < len(toks):
        kind, text, start, end = toks[i]
        nxt = toks[i + 1][1] if i + 1 < len(toks) else None
        if kind == "name" and operand_before and text in _OPERATOR_NAMES:
            operand_before = False
        elif kind == "name" and nxt == "(":
            if text in NODE_TESTS:
                sh.dom.append(f"node test {text}()")
            else:
                sh.functions.append(text)
                empty = i + 2 < len(toks) and toks[i + 2][1] == ")"
                if empty and text in CONTEXT_FUNCTIONS or text == "once":
                    sh.self_refs += 1  # string() is string(.); once() reads the context node's value
                elif empty and text in ("position", "last"):
                    sh.dom.append(f"DOM function {text}() (the context position in a node-set)")
            operand_before = False
        elif kind == "name" and nxt == "::":
            sh.dom.append(f"axis {text}::")
            i += 1
            operand_before = False
        elif kind == "name":
            sh.dom.append(f"relative path {text}")
            operand_before = True
        elif kind == "op" and text == "*" and operand_before:
            operand_before = False
        elif kind == "op" and text == "*":
            sh.dom.append("name test *")
            operand_before = True
        elif kind == "op" and text in ("/", "//") and not operand_before:
            # an absolute path: /name/name/... with nothing else is mappable to a value
            j, steps, simple = i, [], text == "/"
            while j < len(toks) and toks[j][1] == "/" and j + 1 < len(toks) and toks[j + 1][0] == "name" \
                    and (j + 2 >= len(toks) or toks[j + 2][1] not in ("(", "::")):
                steps.append(toks[j + 1][1])
                j += 2
            after = toks[j][1] if j < len(toks) else None
            if simple and steps and after not in ("/", "//", "[", "@", "::", ".", "..") and not \
                    (j < len(toks) and toks[j][0] == "name" and toks[j][1] not in _OPERATOR_NAMES):
                sh.paths.append((start, toks[j - 1][3], steps))
                i = j
                operand_before = True
                continue
            sh.dom.append("location path " + expr[start:toks[j][3] if j < len(toks) else len(expr)][:40])
            operand_before = False
        elif kind == "op" and text in ("/", "//"):
            sh.dom.append("location path step /")
            operand_before = False
        elif kind == "op" and text in ("[", "]"):
            sh.dom.append("predicate [...]")
            operand_before = text == "]"
        elif kind == "op" and text == "@":
            sh.dom.append("attribute @")
            operand_before = False
        elif kind == "op" and text == "|":
            sh.dom.append("union |")
            operand_before = False
        elif kind == "op" and text == "..":
            sh.dom.append("parent ..")
            operand_before = True
        elif kind == "op" and text == ".":
            sh.self_refs += 1
            operand_before = True
        elif kind == "var":
            sh.dom.append("XPath variable " + text)
            operand_before = True
        elif kind in ("str", "num", "ref"):
            operand_before = True
        elif kind == "op" and text == ")":
            operand_before = True
        else:
            operand_before = False
        i += 1
    for fn in sh.functions:
        if fn in DOM_FUNCTIONS:
            sh.dom.append(f"DOM function {fn}()")
    return sh


@functools.lru_cache(maxsize=256)
def _document(xml: str):
    text = re.sub(r"<!DOCTYPE[^>]*>", "", xml.strip())
    try:
        return ET.fromstring(text)
    except ET.ParseError:
        return None


def _local_text(el) -> str:
    return "".join(el.itertext())


def _resolve(root, steps):
    """Elements selected by /steps[0]/steps[1]/... (XPath 1.0: unprefixed names, no namespace)."""
    if root is None or root.tag != steps[0]:
        return []
    current = [root]
    for name in steps[1:]:
        current = [child for el in current for child in el if child.tag == name]
    return current


class NeedsDom(Exception):
    pass


def prepare(case: dict):
    """(fieldkit source, values by name, current) for a case, or NeedsDom(reason)."""
    expr = case["expr"]
    sh = shape(expr)
    if sh.dom:
        raise NeedsDom(sh.dom[0])
    document = case.get("document")
    root = _document(document) if document else None
    if document and root is None:
        raise NeedsDom("a document that is not well-formed XML here")
    values, pieces, pos = {}, [], 0
    for n, (start, end, steps) in enumerate(sh.paths, 1):
        found = _resolve(root, steps) if root is not None else []
        if len(found) != 1:
            raise NeedsDom(f"path /{'/'.join(steps)} selects {len(found)} nodes (a node-set, not one value)")
        if len(found[0]):
            raise NeedsDom(f"path /{'/'.join(steps)} is an element with children (a group, not a value)")
        name = f"p{n}"
        values[name] = _local_text(found[0])
        pieces.append(expr[pos:start] + "${" + name + "}")
        pos = end
    source = "".join(pieces) + expr[pos:]
    current = ""
    if sh.self_refs:
        node = case.get("context_node")
        if node:
            m = re.fullmatch(r"#([\w.\-]+)", node)
            el = None
            if m and root is not None:
                el = next((e for e in root.iter() if e.get("id") == m.group(1)), None)
            if el is None or len(el):
                raise NeedsDom(f"the context node {node} is not a leaf element of the document")
            current = _local_text(el)
        elif root is not None:
            raise NeedsDom("'.' is the document node")
    return source, values, current


# ============================================================ running a case

@dataclass
class Result:
    status: str  # pass fail error crash needs-dom excluded
    detail: str = ""
    got: object = None
    function: str | None = None  # the function fieldkit lacks, for an "error"


@contextlib.contextmanager
def timezone(tz: str | None):
    if not tz or not hasattr(time, "tzset"):
        yield
        return
    old = os.environ.get("TZ")
    os.environ["TZ"] = tz
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time.tzset()


def expected_number(value) -> float:
    if isinstance(value, dict):
        return SPECIAL[value["number"]]
    return float(value)


def _js_round(x: float) -> float:
    return math.floor(x + 0.5) if math.isfinite(x) else x


def compare(case: dict, result) -> tuple[bool, object]:
    kind = case["kind"]
    if kind == "boolean":
        got = to_boolean(result)
        return got is bool(case["expected"]), got
    if kind == "number":
        got = to_number(result)
        want = expected_number(case["expected"])
        if "round_factor" in case and math.isfinite(got):
            f = case["round_factor"]
            got = _js_round(got * f) / f
        if math.isnan(want) or math.isnan(got):
            return math.isnan(want) and math.isnan(got), got
        if math.isinf(want) or math.isinf(got):
            return want == got, got
        tol = case.get("tolerance", 1e-12)
        return math.isclose(got, want, rel_tol=1e-9, abs_tol=tol), got
    got = to_string(result)
    if "pattern" in case:
        return re.search(case["pattern"], got) is not None, got
    if "length" in case:
        return len(got.encode("utf-16-le")) // 2 == case["length"], got
    return got == case["expected"], got


_MISSING = re.compile(r"the function ([\w:.\-]+)\(\) is not supported")


def run_case(case: dict, exclusions: dict | None = None) -> Result:
    if exclusions is not None and case["source"] in exclusions:
        return Result("excluded", exclusions[case["source"]])
    try:
        source, values, current = prepare(case)
    except NeedsDom as exc:
        if case["kind"] == "error":
            # fieldkit refuses paths, axes, predicates: an error is what the peer expects too
            try:
                parse(case["expr"])
            except ExprError as err:
                return Result("pass", f"ExprError: {err.message}")
            except Exception as err:  # noqa: BLE001 - a crash is what we count
                return Result("crash", f"{type(err).__name__}: {err}")
        return Result("needs-dom", str(exc))

    def lookup(name):
        return values[name]

    now = _dt.datetime.fromisoformat(case["now"]) if case.get("now") else None
    try:
        with timezone(case.get("timezone")):
            try:
                tree = parse(source)
                result = evaluate(tree, Context(values=lookup, current=current, now=now))
            except ExprError as exc:
                if case["kind"] == "error":
                    return Result("pass", f"ExprError: {exc.message}")
                m = _MISSING.search(exc.message)
                return Result("error", exc.message, function=m.group(1) if m else None)
            if case["kind"] == "error":
                return Result("fail", "no error: got " + _show(result), got=result)
            ok, got = compare(case, result)
    except Exception as exc:  # noqa: BLE001 - anything but ExprError is a crash, counted apart
        return Result("crash", f"{type(exc).__name__}: {exc}")
    if ok:
        return Result("pass")
    return Result("fail", f"expected {_show_expected(case)}, got {_show(got)}", got=got)


def _show(value) -> str:
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    return repr(value)


def _show_expected(case) -> str:
    if "pattern" in case:
        return f"a match of /{case['pattern']}/"
    if "length" in case:
        return f"a string of length {case['length']}"
    if case["kind"] == "number":
        return _show(expected_number(case["expected"]))
    return repr(case["expected"])


def failure_reason(case: dict, res: Result) -> str:
    """The short reason written to the known-failures file."""
    if res.status == "error":
        return f"missing function {res.function}()" if res.function else f"ExprError: {res.detail}"
    if res.status == "crash":
        return f"crash: {res.detail}"
    return f"wrong value: {res.detail}"


# ============================================================ exclusions: the rules and the hand-written ones

JAVAROSA_TEST_FUNCTIONS = {"convertible", "inconvertible", "proto", "null-proto", "raw", "get-custom",
                           "check-types", "testfunc", "add", "read", "write", "foo", "bar"}

# Cases fieldkit deliberately does not follow. Reasons start with a category:
#   disagreement: the engines disagree; the ODK XForms spec (https://getodk.github.io/xforms-spec/,
#                 getodk/xforms-spec _sections/30-bindings.md) or, where it is silent, JavaRosa
#                 (ODK Collect, the reference client) decides, and this case is on the other side;
#   peer-artifact: the expected value is an accident of the peer's platform (JavaScript Date);
#   fieldkit:     a documented choice of fieldkit's own.
ENKETO, WEBFORMS, JAVAROSA = "enketo/openrosa-xpath-evaluator", "getodk/web-forms", "getodk/javarosa"
JS = (ENKETO, WEBFORMS)
LOCAL_MIDNIGHT = (
    "disagreement: a date without a time as a number: enketo/web-forms count from local midnight "
    "(+7/24 of a day in America/Phoenix, their test zone), JavaRosa whole days "
    "(number(date('2008-09-05')) = 14127 in XPathEvalTest); the spec's number() gives days since "
    "1970-01-01 UTC, a date being its own midnight: whole days")
DATE_KEEPS_TIME = (
    "disagreement: enketo/web-forms' date() keeps the time of day (date(0) = '1969-12-31T17:00:00.000-07:00', "
    "date(x) compared as instants); the spec's date() converts to the date format, as JavaRosa does "
    "(date(0) = 1970-01-01, the time dropped)")


def _frac_is_local_midnight(x: float) -> bool:
    frac = x - math.floor(x)
    return any(abs(frac - f) < 0.006 for f in (7 / 24, 17 / 24))


def _number_of(case):
    try:
        if case["kind"] == "number":
            return expected_number(case["expected"])
        if case["kind"] == "string" and re.fullmatch(r"-?\d+\.\d+", case.get("expected") or ""):
            return float(case["expected"])
    except (TypeError, ValueError, KeyError):
        return None
    return None


def _rule_local_midnight(c):
    x = _number_of(c)
    return (repo_of(c) in JS and x is not None and math.isfinite(x) and _frac_is_local_midnight(x)
            and not re.search(r"T\d\d:", c["expr"]) and re.search(r"\d{4}-\d\d?-\d\d?|date|\.", c["expr"]))


def _rule_date_keeps_time(c):
    if repo_of(c) not in JS or not re.search(r"(?<![\w-])date\(", c["expr"]):
        return False
    e = c["expr"]
    if c["kind"] == "string" and re.match(r"\d{4}-\d\d-\d\dT\d\d:", c.get("expected") or ""):
        return True
    if c["kind"] == "boolean" and re.search(r"date(-time)?\(\s*-?[\d.]+\s*\)\s*!?=\s*date\(\s*['\"][^'\"]*T", e):
        return True
    return c["kind"] == "number" and bool(re.search(r"(?<![\w-])date\(\s*(\.\s*\)|['\"][^'\"]*T)", e))


# (predicate over a case, reason), first match wins; the hand-written cases first.
MANUAL_EXCLUSIONS: dict[str, str] = {}
VALUE_RULES = [
    (lambda c: c["kind"] == "string" and c.get("expected") == "Invalid Date",
     "peer-artifact: 'Invalid Date' is JavaScript's Date.toString() of an invalid date; the spec has no such "
     "value (JavaRosa raises an error, fieldkit gives '')"),
    (lambda c: bool(re.search(r"\w{3} \w{3} \d\d \d{4} \d\d:\d\d:\d\d GMT[+-]\d{4}", c["expr"])),
     "peer-artifact: the expression holds a JavaScript Date.toString() text, which only a JavaScript engine "
     "reads as a date"),
    (_rule_local_midnight, LOCAL_MIDNIGHT),
    (_rule_date_keeps_time, DATE_KEEPS_TIME),
    (lambda c: repo_of(c) in JS and c["kind"] == "string" and "date-time(" in c["expr"] and (
        re.fullmatch(r"\d{4}-\d\d-\d\d", c.get("expected") or "") or c.get("pattern", "").startswith(r"^\d{4}-[0-1]\d-[0-3]\d$")),
     "disagreement: enketo/web-forms' date-time() passes a date through unchanged ('1970-01-01'); JavaRosa's "
     "date-time() always gives a dateTime (the spec has no date-time(); JavaRosa decides)"),
    (lambda c: repo_of(c) in JS and c["kind"] == "boolean" and c["expected"] is True and bool(
        re.fullmatch(r"\s*([\"'])\d{4}-\d\d-\d\d\1\s*=\s*([\"'])\d{4}-\d\d-\d\dT[^\"']*\2\s*", c["expr"])),
     "disagreement: '=' between two strings compares the strings in XPath 1.0, JavaRosa and web-forms; enketo "
     "compares two date strings as instants"),
    (lambda c: repo_of(c) == WEBFORMS and c["kind"] == "string" and bool(re.fullmatch(r"number\(\"\d{4}-\d\d-\d\dT(?!00:00:00)[^\"]*\"\)", c["expr"])),
     "peer-artifact: web-forms writes number() of a dateTime as whole days ('20692') while its number value "
     "is fractional; the spec's number() is days since 1970-01-01 UTC, fractional for a dateTime"),
    (lambda c: repo_of(c) in JS and re.fullmatch(r"boolean-from-string\(\s*'True'\s*\)", c["expr"]) is not None,
     "disagreement: enketo/web-forms match 'true' case-sensitively; JavaRosa (equalsIgnoreCase) and XForms 1.0, "
     "which the spec follows except for other strings, do not"),
    (lambda c: repo_of(c) in JS and c["expr"] in ("round(-1.5)", "round(-1.5, 0)", 'round("-1.475", "2")'),
     "disagreement: enketo/web-forms round a tie away from zero (round(-1.5) = -2); the spec's round() is "
     "XPath 1.0's, ties toward positive infinity, as JavaRosa (round('-0.5') = -0, round('-12345.15', 1) = -12345.1)"),
    (lambda c: repo_of(c) in JS and "e-12" in c["expr"] and c["expr"].startswith("int("),
     "disagreement: XPath 1.0 number() reads no exponent ('7.9e-12' is NaN), as JavaRosa (int('1.1e6') = NaN); "
     "enketo/web-forms read it"),
    (lambda c: repo_of(c) == JAVAROSA and c["expr"] == "6.1 - 7.8 = -1.7",
     "disagreement: JavaRosa compares numbers within 1e-12; XPath 1.0 '=' is exact IEEE 754 "
     "(6.1 - 7.8 is -1.6999999999999993), as enketo/web-forms"),
    (lambda c: repo_of(c) == JAVAROSA and re.fullmatch(r"round\('-?\d+,\d+'\)", c["expr"]) is not None,
     "disagreement: JavaRosa reads a decimal comma ('4,6' as 4.6); XPath 1.0 number(), the spec's, gives NaN"),
    (lambda c: repo_of(c) == JAVAROSA and c["kind"] == "error" and c["expr"] in ("normalize-space()", "string-length()", "number()"),
     "disagreement: JavaRosa requires the argument; XPath 1.0 (the spec: 'as in XPath 1.0') reads the context "
     "node, as enketo/web-forms test"),
    (lambda c: repo_of(c) == JAVAROSA and c["kind"] == "error" and (
        c.get("exception") == "XPathTypeMismatchException" or c["expr"] in ("geofence('', '')", "geofence('0 0 0 0', '')")),
     "fieldkit: evaluation never raises on odd data (tests/test_expr.py, test_evaluation_does_not_raise_on_odd_data): "
     "a value that is not a date or a shape gives '' / NaN / false where JavaRosa raises"),
    (lambda c: c["kind"] == "error" and re.fullmatch(r"count(-non-empty)?\(\s*(\d+|\"[^\"]*\"|'[^']*')\s*\)", c["expr"]) is not None,
     "fieldkit: count() and count-non-empty() of a value that is not a reference count it as one value "
     "(fieldkit.forms.expr._nodes), where XPath 1.0 raises for a non-node-set"),
    (lambda c: c["kind"] != "error" and re.search(r"explode[\w-]*\(|substring\(\s*\)", c["expr"]) is not None,
     "fieldkit: parse() checks every function's name and arity up front (a form error at import), so a call "
     "that short-circuiting skips (explode(), substring()) still fails; the peers resolve functions lazily"),
    (lambda c: c["kind"] == "string" and c.get("expected") == "NaN",
     "fieldkit: to_string(NaN) is '' (what ODK stores for a failed calculation), where XPath string() gives 'NaN'"),
]


def _empty_node_boolean(case) -> bool:
    """boolean(/a/b) of an existing but empty node: XPath 1.0 says true (a non-empty node-set),
    JavaRosa and fieldkit read the node's value ''."""
    if case["kind"] != "boolean" or not re.fullmatch(r"\s*(/[\w.\-]+)+\s*", case["expr"]):
        return False
    try:
        _, values, _ = prepare(case)
    except NeedsDom:
        return False
    return all(v == "" for v in values.values())


def rule_exclusion(case: dict) -> str | None:
    """The reason a case is excluded by rule, or None."""
    if case["source"] in MANUAL_EXCLUSIONS:
        return MANUAL_EXCLUSIONS[case["source"]]
    sh = shape(case["expr"])
    test_fns = sorted(set(sh.functions) & JAVAROSA_TEST_FUNCTIONS) if repo_of(case) == "getodk/javarosa" else []
    if test_fns and (set(test_fns) & set(case.get("handlers", [])) or "fallback" in case.get("note", "")
                     or set(test_fns) <= {"foo", "bar"}):
        return f"javarosa-test-handler: {', '.join(f + '()' for f in test_fns)} exists only in JavaRosa's test function handlers"
    for rule, reason in VALUE_RULES:
        if rule(case):
            return reason
    if _empty_node_boolean(case):
        return ("disagreement: XPath 1.0 boolean() of an existing empty node is true (enketo/web-forms); "
                "JavaRosa unpacks a single node to its value (toBoolean(unpack(o))) and so does fieldkit's ${name}")
    try:
        prepare(case)
    except NeedsDom as exc:
        why = str(exc)
        if case["kind"] == "error":
            # Syntax fieldkit refuses (axes, predicates, unions) is judged: fieldkit must raise
            # ExprError as the peer raises. An error that comes from the document is not.
            if re.search(r"selects \d+ nodes|element with children|context node|document node|not well-formed", why):
                return f"needs-dom: {why} (an error that depends on the document)"
            return None
        if why.startswith("DOM function"):
            return f"dom-function: {why[len('DOM function '):]} reads the document or form, not values"
        if why.startswith("XPath variable"):
            return "xpath-variable: $name variables are not part of XLSForm (fieldkit has ${name} only)"
        if why.startswith(("node test", "axis", "attribute", "union", "predicate", "name test",
                           "location path", "relative path", "parent")):
            return f"needs-dom: {why} (XPath over a document; XLSForm authors write ${{name}})"
        return f"needs-dom: {why}"
    return None


def rule_exclusions(cases) -> dict:
    out = {}
    for case in cases:
        reason = rule_exclusion(case)
        if reason:
            out[case["source"]] = reason
    return out


# ============================================================ the report

def run_all(cases, exclusions):
    return [(case, run_case(case, exclusions)) for case in cases]


def category(reason: str) -> str:
    return reason.split(":", 1)[0]


def disagreements(cases) -> list:
    """Expressions asserted by more than one engine with values that differ, context-free ones only."""
    groups = defaultdict(list)
    for case in cases:
        sh = shape(case["expr"])
        if "pattern" in case or "length" in case or set(sh.functions) & JAVAROSA_TEST_FUNCTIONS:
            continue
        if sh.dom or sh.paths or sh.self_refs:
            continue  # depends on the document or context node, which differ between suites
        # the same expression up to spaces outside literals and the quote character
        key = "".join(t[1] if t[0] != "str" else "'" + t[1][1:-1] + "'" for t in lex(case["expr"]))
        groups[key].append(case)
    out = []
    for group in groups.values():
        by_repo = defaultdict(set)  # repo -> {(kind, value)}
        for c in group:
            if c["kind"] == "number":
                x = expected_number(c["expected"])
                value = "NaN" if math.isnan(x) else repr(round(x, 9) + 0.0)
            elif c["kind"] == "boolean":
                value = repr(bool(c["expected"]))
            else:
                value = "error" if c["kind"] == "error" else repr(c["expected"])
            by_repo[repo_of(c)].add((c["kind"], value))
        if len(by_repo) < 2:
            continue
        per_kind = defaultdict(set)  # kind -> {(repo, value)}
        for repo, vals in by_repo.items():
            for kind, value in vals:
                per_kind[kind].add((repo, value))
        # two engines assert the same kind with different values, or one expects an error
        # where another engine expects a value
        differ = any(len({v for _, v in s}) > 1 and len({r for r, _ in s}) > 1 for s in per_kind.values())
        error_vs_value = "error" in per_kind and any(
            {r for r, _ in per_kind[k]} - {r for r, _ in per_kind["error"]} for k in per_kind if k != "error")
        if differ or error_vs_value:
            flat = {repo: sorted(v for _, v in vals) for repo, vals in by_repo.items()}
            out.append((group[0]["expr"], flat, [c["source"] for c in group]))
    return out


def report(results, cases) -> str:
    lines = []
    add = lines.append
    statuses = Counter(r.status for _, r in results)
    known = load_known_failures()
    add(f"peer XPath cases: {len(results)}")
    add("  " + ", ".join(f"{k} {statuses.get(k, 0)}" for k in
                         ("pass", "fail", "error", "crash", "needs-dom", "excluded")))
    add("  (fail = a value that differs; error = ExprError where a value is expected; crash = any other exception)")
    add("")
    add(f"{'source':34} {'cases':>6} {'pass':>6} {'fail':>5} {'error':>6} {'crash':>6} {'n-dom':>6} {'excl':>6}  pass rate*")
    by_repo = defaultdict(Counter)
    for case, r in results:
        by_repo[repo_of(case)][r.status] += 1
    for repo in sorted(by_repo):
        c = by_repo[repo]
        total = sum(c.values())
        judged = total - c["excluded"] - c["needs-dom"]
        rate = f"{100 * c['pass'] / judged:5.1f}%" if judged else "-"
        add(f"{repo:34} {total:6} {c['pass']:6} {c['fail']:5} {c['error']:6} {c['crash']:6} {c['needs-dom']:6} "
            f"{c['excluded']:6}  {rate}")
    add("  * of the cases not excluded")
    add("")
    excl = Counter(category(r.detail) for _, r in results if r.status == "excluded")
    add("excluded, by category: " + ", ".join(f"{k} {n}" for k, n in excl.most_common()))
    add("")
    missing = Counter(r.function for _, r in results if r.status == "error" and r.function)
    uses = Counter()
    passes = Counter()
    for case, r in results:
        if r.status == "excluded":
            continue
        for fn in set(shape(case["expr"]).functions):
            uses[fn] += 1
            passes[fn] += r.status == "pass"
    add("missing functions (cases failing on them first; cases using them; of those passing):")
    for fn, n in missing.most_common(30):
        add(f"  {fn + '()':28} {n:5}   uses {uses[fn]:5}   pass {passes[fn]:5}")
    other_errors = Counter(r.detail[:90] for _, r in results if r.status == "error" and not r.function)
    if other_errors:
        add("")
        add("other ExprErrors on value cases:")
        for msg, n in other_errors.most_common(15):
            add(f"  {n:5}  {msg}")
    crashes = [(c, r) for c, r in results if r.status == "crash"]
    add("")
    add(f"crashes: {len(crashes)}")
    for c, r in crashes[:20]:
        add(f"  {c['source']}: {c['expr']!r}: {r.detail}")
    fails = [(c, r) for c, r in results if r.status == "fail"]
    add("")
    add(f"wrong values: {len(fails)}")
    for c, r in fails[:60]:
        add(f"  {c['source']}\n      {c['expr']!r}: {r.detail}")
    unexpected = [(c, r) for c, r in results if r.status in ("fail", "error", "crash", "needs-dom")
                  and c["source"] not in known]
    add("")
    add(f"failing and not in the known failures: {len(unexpected)}")
    for c, r in unexpected[:20]:
        add(f"  {c['source']}: {c['expr']!r}: {r.status} {r.detail}")
    fixed = [c for c, r in results if r.status == "pass" and c["source"] in known]
    add(f"known failures that pass now: {len(fixed)}")
    dis = disagreements(cases)
    add("")
    add(f"expressions the engines assert differently (context-free cases): {len(dis)}")
    for expr, flat, sources in dis[:40]:
        add(f"  {expr!r}: " + "; ".join(f"{repo.split('/')[-1]} {', '.join(v)}" for repo, v in sorted(flat.items())))
    un = load_json(UNEXTRACTED, {})
    if un:
        add("")
        add("not extracted (tests/data/peer_xpath_unextracted.json): " + ", ".join(
            f"{repo} {sum(v.values())}" for repo, v in un.get("not_extracted", {}).items()))
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--update-known-failures", action="store_true",
                    help="rewrite the known failures from what fails now (cases not excluded)")
    ap.add_argument("--update-exclusions", action="store_true",
                    help="rewrite the exclusions from the rules and MANUAL_EXCLUSIONS in this script")
    ap.add_argument("--show", metavar="STATUS", help="list the cases of a status: pass fail error crash needs-dom excluded")
    args = ap.parse_args(argv)
    cases = load_cases()
    if args.update_exclusions:
        excl = rule_exclusions(cases)
        out = {"_about": "Peer XPath cases fieldkit deliberately does not follow: case id -> reason. Written by "
                         "`python bench/peer_xpath.py --update-exclusions` from its rules and MANUAL_EXCLUSIONS; "
                         "categories: needs-dom, dom-function, xpath-variable, javarosa-test-handler, "
                         "peer-artifact, disagreement, fieldkit."}
        out.update(dict(sorted(excl.items(), key=lambda kv: _source_key(kv[0]))))
        EXCLUSIONS.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"{len(excl)} exclusions: " + ", ".join(f"{k} {n}" for k, n in
                                                      Counter(category(v) for v in excl.values()).most_common()))
        return
    exclusions = load_exclusions()
    results = run_all(cases, exclusions)
    if args.update_known_failures:
        known = {c["source"]: failure_reason(c, r) for c, r in results if r.status in ("fail", "error", "crash", "needs-dom")}
        out = {"_about": "Generated by `python bench/peer_xpath.py --update-known-failures`: peer XPath cases that "
                         "fail with the evaluator of the day (tests/test_peer_xpath.py treats them as xfail, "
                         "non-strict). Regenerate after adding a function; never edit by hand."}
        out.update(dict(sorted(known.items(), key=lambda kv: _source_key(kv[0]))))
        KNOWN_FAILURES.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"{len(known)} known failures written to {KNOWN_FAILURES.relative_to(ROOT)}")
        return
    if args.show:
        for c, r in results:
            if r.status == args.show:
                print(f"{c['source']}\n    {c['expr']!r} [{c['kind']}] {r.detail}")
        return
    print(report(results, cases))


def _source_key(source: str):
    base, _, dup = source.partition("#")
    repo, path, line = base.rsplit(":", 2) if base.count(":") >= 2 else (base, "", "0")
    return (repo, path, int(line) if line.isdigit() else 0, int(dup or 0))


if __name__ == "__main__":
    main()
