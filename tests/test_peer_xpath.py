"""fieldkit's evaluator against the peers' own XPath test cases (tests/data/peer_xpath.json).

The cases come from the test suites of enketo/openrosa-xpath-evaluator, getodk/web-forms
(packages/xpath) and getodk/javarosa (XPathEvalTest, XPathParseTest), extracted as data by
bench/peer_xpath_extract.py; how a case runs is bench/peer_xpath.py's run_case (paths to one
leaf of the case's document become ${name} references, everything else that needs a DOM is
excluded). Every case that is not in tests/data/peer_xpath_exclusions.json (cases fieldkit
deliberately does not follow, each with its reason) must pass, except those listed in
tests/data/peer_xpath_known_failures.json: a test file whose only failures are known ones is
xfail (non-strict: a fixed case just passes).
After adding a function: python bench/peer_xpath.py --update-known-failures; the report:
python bench/peer_xpath.py.
"""
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("peer_xpath", ROOT / "bench" / "peer_xpath.py")
peer = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("peer_xpath", peer)  # its dataclasses look their module up
_spec.loader.exec_module(peer)

CASES = peer.load_cases()
EXCLUSIONS = peer.load_exclusions()
KNOWN = peer.load_known_failures()
BY_ID = {case["source"]: case for case in CASES}
JUDGED = [case for case in CASES if case["source"] not in EXCLUSIONS]
# One test per peer test file (not per case: 3,700 items would spend more time in pytest than
# in the evaluator); the message lists every case that fails.
BY_FILE: dict = {}
for _case in JUDGED:
    BY_FILE.setdefault(_case["source"].split("#")[0].rsplit(":", 1)[0], []).append(_case)


@pytest.mark.parametrize("peer_file", sorted(BY_FILE))
def test_peer_cases(peer_file):
    unexpected, known = [], []
    for case in BY_FILE[peer_file]:
        result = peer.run_case(case)
        if result.status == "pass":
            continue
        line = f"{case['source']}: {case['expr']!r} [{case['kind']}]: {result.status}: {result.detail}"
        (known if case["source"] in KNOWN else unexpected).append(line)
    assert not unexpected, f"{len(unexpected)} peer cases fail (not excluded, not known failures):\n" + \
        "\n".join(unexpected)
    if known:  # the file's other cases all pass; these are listed in peer_xpath_known_failures.json
        pytest.xfail(f"{len(known)} known failure(s): " + "; ".join(known))


def test_corpus_is_whole():
    assert len(CASES) >= 4000
    assert len(BY_ID) == len(CASES), "case ids (source) must be unique"
    repos = {peer.repo_of(case) for case in CASES}
    assert repos == {"enketo/openrosa-xpath-evaluator", "getodk/web-forms", "getodk/javarosa"}
    for case in CASES:
        assert set(case) <= {"source", "expr", "expected", "kind", "document", "context_node", "timezone",
                             "now", "pattern", "length", "round_factor", "tolerance", "handlers", "note",
                             "type", "exception", "language", "test"}, case["source"]
        assert case["kind"] in ("string", "number", "boolean", "error")
        assert isinstance(case["expr"], str)
        assert (case["expected"] is None) == (case["kind"] == "error" or "pattern" in case or "length" in case)
    # at least half of each suite is judged, not excluded
    for repo in repos:
        mine = [c for c in CASES if peer.repo_of(c) == repo]
        assert sum(c["source"] not in EXCLUSIONS for c in mine) > len(mine) / 2, repo


def test_lists_name_real_cases_with_reasons():
    for name, table in (("exclusions", EXCLUSIONS), ("known failures", KNOWN)):
        unknown = sorted(set(table) - set(BY_ID))
        assert not unknown, f"{name} name cases that are not in peer_xpath.json: {unknown[:5]}"
        assert all(isinstance(reason, str) and reason.strip() for reason in table.values())
    assert not set(EXCLUSIONS) & set(KNOWN), "a case is either excluded or a known failure, not both"
    categories = {reason.split(":", 1)[0] for reason in EXCLUSIONS.values()}
    assert categories <= {"needs-dom", "dom-function", "xpath-variable", "javarosa-test-handler",
                          "peer-artifact", "disagreement", "fieldkit"}, categories


def test_exclusions_are_what_the_rules_say():
    # tests/data/peer_xpath_exclusions.json is written by the rules in bench/peer_xpath.py: the two agree.
    assert peer.rule_exclusions(CASES) == EXCLUSIONS


def test_the_runner_can_fail():
    case = {"source": "x:y:1", "expr": "1 + 1", "kind": "number", "expected": 3}
    assert peer.run_case(case).status == "fail"
    assert peer.run_case(dict(case, expected=2)).status == "pass"
    assert peer.run_case({"source": "x:y:2", "expr": "1 +", "kind": "error", "expected": None}).status == "pass"
    doc = "<data><a>7</a><b/></data>"
    assert peer.run_case({"source": "x:y:3", "expr": "/data/a * 2", "kind": "number", "expected": 14,
                          "document": doc}).status == "pass"
    assert peer.run_case({"source": "x:y:4", "expr": "/data/c", "kind": "string", "expected": "",
                          "document": doc}).status == "needs-dom"
    assert peer.run_case({"source": "x:y:5", "expr": "0 div 0", "kind": "number",
                          "expected": {"number": "NaN"}}).status == "pass"
