import datetime as dt
import json
import math
import operator
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from fieldkit.forms.expr import (
    Context, ExprError, Nodes, evaluate, parse, references, to_boolean, to_number, to_string, typed,
    uses_self,
)

HERE = Path(__file__).parent / "data"
# expr_vectors.json: shared with the browser port (tests/test_js.py); expr_vectors_odk.json:
# the ODK functions and types only the server evaluates.
DATA = json.loads((HERE / "expr_vectors.json").read_text(encoding="utf-8"))
ODK = json.loads((HERE / "expr_vectors_odk.json").read_text(encoding="utf-8"))
NOW = dt.datetime.fromisoformat(DATA["now"])
ODK_NOW = dt.datetime.fromisoformat(ODK["now"])
SPECIAL = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
TYPES = {"string": str, "number": float, "boolean": bool, "date": dt.date, "datetime": dt.datetime,
         "nodeset": Nodes}
VECTORS = [(case, NOW) for case in DATA["vectors"]] + [(case, ODK_NOW) for case in ODK["vectors"]]


def _id(case):
    if isinstance(case, dt.datetime):
        return "odk" if case.tzinfo else "shared"
    return repr(case["expr"])[:60]


def _context(case, now=NOW):
    types = case.get("types", {})
    answers = {name: typed(types.get(name, "text"), raw) for name, raw in case.get("answers", {}).items()}
    every = {name: [typed(types.get(name, "text"), raw) for raw in raws]
             for name, raws in case.get("nodes", {}).items()}
    instances = case.get("instances")

    def values(name):
        if name not in answers:  # the vectors rely on this to prove laziness
            raise LookupError(f"${{{name}}} was evaluated but is not in this vector's answers")
        return answers[name]

    choices = case.get("choices")
    label = (lambda q, value: choices.get(q, {}).get(value)) if choices is not None else None
    current = typed(case.get("current_type", "text"), case.get("current", ""))
    return Context(values=values, current=current, now=now, choice_label=label,
                   nodes=(lambda name: every[name] if name in every else [values(name)]) if every else None,
                   instance=instances.get if instances is not None else None,
                   language=case.get("language"), position=case.get("repeat_position", 0))


def _check(result, case):
    expected = case["expected"]
    if "type" in case:
        wanted = TYPES[case["type"]]
        assert isinstance(result, wanted) and not (wanted is dt.date and isinstance(result, dt.datetime))
        assert not (wanted is float and isinstance(result, bool))
    if isinstance(expected, bool):
        assert to_boolean(result) is expected
    elif isinstance(expected, str):
        assert to_string(result) == expected
    elif isinstance(expected, dict):
        special, got = SPECIAL[expected["number"]], to_number(result)
        assert (math.isnan(got) if math.isnan(special) else got == special), got
    else:
        assert math.isclose(to_number(result), expected, rel_tol=1e-9, abs_tol=1e-9), result


@pytest.mark.parametrize("case, now", VECTORS, ids=_id)
def test_vector(case, now):
    tree = parse(case["expr"])
    _check(evaluate(tree, _context(case, now)), case)
    # The browser port evaluates the JSON form of the tree: it must be the same tree.
    copy = json.loads(json.dumps(tree, allow_nan=False))
    assert copy == tree
    _check(evaluate(copy, _context(case, now)), case)


@pytest.mark.parametrize("case", DATA["errors"] + ODK["errors"], ids=_id)
def test_error(case):
    with pytest.raises(ExprError) as info:
        parse(case["expr"])
    assert info.value.message and str(info.value) == info.value.message
    if "position" in case:
        assert info.value.position == case["position"]
    if "message" in case:
        assert case["message"] in info.value.message


def test_vector_file_is_sane():
    assert len(DATA["vectors"]) >= 150 and len(ODK["vectors"]) >= 300
    keys = {"expr", "answers", "types", "current", "current_type", "choices",
            "expected", "type", "note", "reason", "position", "message"}
    for case in DATA["vectors"] + DATA["errors"]:
        assert set(case) <= keys
    for case in ODK["vectors"] + ODK["errors"]:
        assert set(case) <= keys | {"nodes", "instances", "language", "repeat_position"}
    assert ODK_NOW.tzinfo is not None and NOW.tzinfo is None


def test_references_and_uses_self():
    tree = parse("if(. > ${a}, concat(${b}, ${a}), jr:choice-name(${c}, '${d}'))")
    assert references(tree) == {"a", "b", "c"}  # '${d}' is only text
    assert uses_self(tree)
    assert not uses_self(parse("${x} + 1"))
    assert references(parse("1 + 2")) == set()


def test_tree_shape():
    assert parse("-${a} * 2") == ["*", ["neg", ["ref", "a"]], ["num", 2.0]]
    assert parse("selected(., 'x')") == ["call", "selected", ["self"], ["str", "x"]]
    assert parse("1 or 2 and 3") == ["or", ["num", 1.0], ["and", ["num", 2.0], ["num", 3.0]]]


def test_unknown_function_message_names_it():
    with pytest.raises(ExprError, match=r"device-info\(\)"):
        parse("1 + device-info('a')")


def test_evaluation_does_not_raise_on_odd_data():
    ctx = Context(values=lambda name: {"n": None, "i": 3, "b": True}.get(name, ""), now=NOW)
    for source in ["${n} + 1", "${i} div 2", "${b} * 2", "regex('x', concat('(', ''))",
                   "round(1, 1 div 0)", "round(1 div 0)", "substr('abc', 1 div 0)", "int(0 div 0)",
                   "round(5, -400)", "round(1 div 3, 400)"]:
        evaluate(parse(source), ctx)
    assert to_string(evaluate(parse("${i} div 2"), ctx)) == "1.5"


def test_today_uses_real_clock_without_now():
    assert evaluate(parse("today()"), Context(values=lambda n: "")) == dt.date.today()
    assert isinstance(evaluate(parse("now()"), Context(values=lambda n: "")), dt.datetime)


def test_conversions():
    assert math.isnan(to_number("")) and to_number(" 12 ") == 12.0 and math.isnan(to_number("abc"))
    assert to_number(True) == 1.0 and to_number(dt.date(1970, 1, 2)) == 1.0
    assert to_number(dt.datetime(1970, 1, 1, 18)) == 0.75
    assert to_string(18.0) == "18" and to_string(2.5) == "2.5" and to_string(math.nan) == ""
    assert to_string(True) == "true" and to_string(dt.date(2024, 5, 1)) == "2024-05-01"
    east = dt.timezone(dt.timedelta(hours=3))
    assert to_string(dt.datetime(2024, 5, 1, 9, 5, 7, 999, east)) == "2024-05-01T09:05:07.000+03:00"
    assert to_string(dt.datetime(2024, 5, 1, 9, 5, 7, 123456, dt.timezone.utc)) == "2024-05-01T09:05:07.123+00:00"
    assert to_string(dt.datetime(2024, 5, 1, 9, 5, 7)).startswith("2024-05-01T09:05:07.000")  # the machine's offset
    assert to_number("2024-05-02") == 19845.0 and to_number("2024-05-01T18:00:00-05:00") == 19844.75
    assert to_string(Nodes()) == "" and not to_boolean(Nodes()) and math.isnan(to_number(Nodes()))
    assert to_string(Nodes(["a", "b"])) == "a" and to_boolean(Nodes([""])) and to_number(Nodes(["2"])) == 2
    assert not to_boolean("") and to_boolean("false") and not to_boolean(math.nan)
    assert to_boolean(dt.date(2024, 1, 1))


@pytest.mark.parametrize("qtype, raw, expected", [
    ("text", "", ""), ("integer", "", ""), ("date", "", ""), ("decimal", " ", ""),
    ("text", " x ", " x "), ("select_multiple", "a b", "a b"), ("note", "n", "n"),
    ("acknowledge", "OK", "OK"), ("calculate", "18", "18"), ("mystery", "7", "7"),
    ("integer", "20", 20.0), ("integer", "-3", -3.0), ("decimal", "2.5", 2.5),
    ("decimal", "1e-05", 1e-05), ("date", "2024-02-29", dt.date(2024, 2, 29)),
])
def test_typed(qtype, raw, expected):
    result = typed(qtype, raw)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize("qtype, raw", [
    ("integer", "abc"), ("integer", "2.5"), ("decimal", "1,5"), ("decimal", "nan"),
    ("decimal", "inf"), ("date", "2024-02-30"), ("date", "01/05/2024"), ("date", "2024-05-01T10:00"),
])
def test_typed_rejects_malformed(qtype, raw):
    with pytest.raises(ValueError):
        typed(qtype, raw)


FINITE = st.floats(allow_nan=False, allow_infinity=False)
NAMES = st.builds(operator.add, st.sampled_from(list("aqzAZ_ሰላምé")),
                  st.text(alphabet=list("az09_.-ሰላምé"), max_size=8))


@settings(database=None, max_examples=200, deadline=None)
@given(FINITE)
def test_number_string_round_trip(x):
    text = to_string(x)
    assert "e" not in text.lower()  # XPath number() would read an exponent as NaN
    assert to_number(text) == x
    assert evaluate(parse(text), Context(values=lambda name: "")) == x  # also as a literal


@settings(database=None, max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("${}()[]/.@|!=<>+-*,:'\" \tabcdimnorv0123456789_ሰ")) | st.characters(),
               max_size=40))
def test_parse_raises_only_expr_error(source):
    try:
        tree = parse(source)
    except ExprError as exc:
        assert exc.position is None or 0 <= exc.position <= len(source)
        return
    assert json.loads(json.dumps(tree, allow_nan=False)) == tree
    evaluate(tree, Context(values=lambda name: "", now=NOW))  # must not raise on odd data


@settings(database=None, max_examples=100, deadline=None)
@given(st.lists(NAMES, min_size=1, max_size=6), st.lists(st.sampled_from(
    [" + ", " = ", " and ", " or ", " div ", " mod ", " != ", " <= ", "-"]), min_size=5, max_size=5))
def test_references_finds_exactly_the_names(names, ops):
    parts = [f"${{{name}}}" for name in names]
    source = parts[0]
    for i, part in enumerate(parts[1:]):
        source += ops[i % len(ops)] + (f"concat({part}, '${{x}}')" if i % 2 else part)
    assert references(parse(source)) == set(names)
    assert not uses_self(parse(source))


# --- the ODK additions: paths, instance(), hooks ----------------------------------------------

def test_paths_and_lookups_are_plain_trees():
    assert parse("/data/group/q") == ["ref", "q"] == parse("../q") == parse("../../g/q") == parse("current()/../q")
    assert parse("null") == ["empty", "null"] and parse("q/r") == ["empty", "q/r"] and parse("./q") == ["empty", "./q"]
    assert parse("current()") == ["self"] and parse("position(..)") == ["call", "position"]
    tree = parse("instance('regions')/root/item[name = ${r}]/label")
    assert tree == ["instance", "regions", ["=", ["col", "name"], ["ref", "r"]], "label"]
    assert parse("count(instance('l')/root/item)") == ["call", "count", ["instance", "l", None, None]]
    assert json.loads(json.dumps(tree)) == tree
    # In a choice_filter the filter is itself a predicate: a bare name is a column, ../x nothing.
    assert parse("region = ${r}", columns=True) == ["=", ["col", "region"], ["ref", "r"]]
    assert parse("../x", columns=True) == ["empty", "../x"] and parse("./name", columns=True) == ["col", "name"]


def test_references_reach_inside_predicates():
    tree = parse("instance('l')/root/item[name = ${q} and region = /data/g/r and c = current()/../s]/label")
    assert references(tree) == {"q", "r", "s"}
    assert references(parse("pulldata('l', 'label', 'name', ${k})")) == {"k"}


def test_uses_self_sees_the_implicit_readers():
    for source in ["once(random())", "string-length()", "normalize-space()", "number() + 1", "current() = 'a'",
                   "instance('l')/root/item[name = current()]/label"]:
        assert uses_self(parse(source)), source
    assert not uses_self(parse("string-length(${a})")) and not uses_self(parse("once"))


def test_indexed_repeat_over_nested_repeats_asks_the_context():
    asked = []

    def repeat_value(name, pairs):
        asked.append((name, pairs))
        return "deep"
    ctx = Context(values=lambda name: "", repeat_value=repeat_value)
    tree = parse("indexed-repeat(${q}, ${outer}, 2, ${inner}, 1 + 2)")
    assert evaluate(tree, ctx) == "deep" and asked == [("q", [("outer", 2), ("inner", 3)])]
    # Without the hook, one level: the innermost index into Context.nodes.
    ctx = Context(values=lambda name: "", nodes=lambda name: ["a", "b", "c"])
    assert evaluate(tree, ctx) == "c"


def test_randomize_seeds_as_javarosa_does():
    from fieldkit.forms import functions
    assert functions._seed("Hello") == 1756278180214341157 and functions._seed("") == 0  # JavaRosa's own test
    assert functions._seed(42.9) == 42 and functions._seed("-42") == -42
    assert functions.shuffle(list("ABCDEF"), 42) == list("AFCBDE")  # Enketo's test


def test_java_regex_dialect():
    from fieldkit.forms.functions import _java_regex
    for pattern, text, found in [(r"^[\w-\.]+$", "a-b.c", True), (r"^\p{javaLowerCase}+$", "abc", True),
                                 (r"^\P{L}+$", "123", True), (r"^[^\h]+$", "a b", False),
                                 (r"^a\R?b$", "a\r\nb", True), (r"a\z", "a\n", False), (r"a\Z", "a\n", True),
                                 (r"^(?U)\w+$", "ሰላም", True), (r"^[+--]$", ",", True), (r"\0101", "A", True),
                                 (r"^\cJ$", "\n", True), (r"^(?d:a.)$", "ab", True)]:
        assert (_java_regex(pattern).search(text) is not None) is found, pattern
    with pytest.raises(ExprError, match=r"regex\(\)"):
        parse(r"regex(., '\p{Nope}')")


def test_the_new_functions_do_not_raise_on_odd_data():
    ctx = Context(values=lambda name: {"n": None, "i": 3}.get(name, ""), now=NOW,
                  instance=lambda name: [{"a": None, "b": 1}] if name == "odd" else None)
    for source in ["date(pow(10, 300))", "date-time(pow(10, 300))", "format-date(pow(10, 300), '%Y')", "date(-pow(10, 300))",
                   "format-date-time('9999-12-31T23:59:59Z', '%Y %a %b')", "decimal-date-time('0001-01-01')",
                   "pow(-pow(10, 308), pow(10, 308))", "exp10(pow(10, 308))", "uuid(pow(10, 300))", "substring('a', 1 div 0, -1 div 0)",
                   "decimal-time('23:59:60')", "area('91 0;0 0;0 1')", "distance(${n})", "geofence(${i}, ${n})",
                   "digest(${n}, 'md5')", "base64-decode('%%%')", "regex('a', ${n})", "format-date(now(), ${i})",
                   "instance('odd')/root/item[a = 1]/b", "join(' ', instance('odd')/root/item)",
                   "randomize(instance('odd')/root/item/a, 'x')", "selected-at('a', 1 div 0)",
                   "round(1, pow(10, 300))", "sum(instance('odd')/root/item/b)", "lang(${n})",
                   "date-time(decimal-date-time(now()) * 10000000000)", "substr('abc', -pow(10, 300), pow(10, 300))",
                   "indexed-repeat(${n}, ${r}, 1 div 0)", "checklist(0 div 0, 1 div 0, 'a')"]:
        evaluate(parse(source), ctx)


def test_datetimes_keep_the_clock_of_the_form():
    east = dt.timezone(dt.timedelta(hours=3))
    ctx = Context(values=lambda name: "", now=dt.datetime(2024, 5, 1, 23, 30, 0, 123456, east))
    assert to_string(evaluate(parse("now()"), ctx)) == "2024-05-01T23:30:00.123+03:00"
    assert to_string(evaluate(parse("today()"), ctx)) == "2024-05-01"
    assert to_string(evaluate(parse("format-date-time('2024-05-01T21:00:00Z', '%d %H')"), ctx)) == "02 00"
    assert evaluate(parse("decimal-date-time(now()) - number(now())"), ctx) == pytest.approx(-3 / 24)
