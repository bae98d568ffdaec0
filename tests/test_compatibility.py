"""The README's XLSForm compatibility report is generated from the code
(fieldkit/forms/compat.py), and the importer is held to every row of it: each type
and alias imports as the report says, each appearance warns exactly when the report
says it is shown differently. A report that drifts from the importer fails here."""
from pathlib import Path

import pytest

from fieldkit.forms import appearances, compat, types
from fieldkit.forms.xlsform import Problem, load_xlsform

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_the_readme_holds_the_generated_report():
    section = README.split(compat.START, 1)[1].split(compat.END, 1)[0]
    assert compat.START + section + compat.END == compat.report(), \
        "run: python -m fieldkit.forms.compat --write"


def form_with(qtype: str, name: str = "q", appearance: str = "") -> bytes:
    kind = f"{qtype} yn" if qtype in ("select_one", "select_multiple", "rank") else qtype
    calc = "1 + 1" if qtype == "calculate" else ""
    return (f"| survey |\n| | type | name | label | calculation | appearance |\n"
            f"| | {kind} | {name} | Q | {calc} | {appearance} |\n"
            "| choices |\n| | list_name | name | label |\n| | yn | yes | Yes |\n| | yn | no | No |\n").encode()


ALIASES = [(alias, target) for target, names in compat._aliases().items() for alias in names]


@pytest.mark.parametrize("alias,target", ALIASES, ids=[a for a, _ in ALIASES])
def test_every_type_and_alias_does_what_the_report_says(alias, target):
    name = "audit" if alias == "audit" else "q"
    if alias.startswith(("select", "add select", "q select")):
        pytest.skip("select aliases need a list name: tests/test_import.py covers select1, select one")
    if alias == "background-geopoint":
        pytest.skip("pyxform needs a trigger column for it")
    form = load_xlsform(form_with(alias, name), "f.md")
    warnings = [Problem.from_dict(w).render() for w in form.warnings]
    if target.startswith("left out"):
        assert name not in form.questions and any(alias in w for w in warnings), warnings
    else:
        assert form.questions[name].type == target and warnings == []


KNOWN = sorted(appearances.KNOWN.items())


@pytest.mark.parametrize("name,spec", KNOWN, ids=[n for n, _ in KNOWN])
def test_every_appearance_does_what_the_report_says(name, spec):
    kinds, status, _how = spec
    qtype = (kinds or ("text",))[0]
    if qtype in ("group", "repeat"):
        source = (f"| survey |\n| | type | name | label | appearance |\n| | begin_{qtype} | g | G | {name} |\n"
                  f"| | text | q | Q | |\n| | end_{qtype} | | | |\n").encode()
    else:
        source = form_with(qtype, appearance=name)
    form = load_xlsform(source, "f.md")
    warned = [Problem.from_dict(w) for w in form.warnings if w.get("column") == "appearance"]
    assert bool(warned) == (status == "different"), [w.render() for w in warned]


def test_an_unknown_appearance_is_ignored_with_a_warning():
    form = load_xlsform(form_with("text", appearance="sparkly"), "f.md")
    [warning] = [Problem.from_dict(w) for w in form.warnings]
    assert (warning.row, warning.column) == (2, "appearance") and "sparkly" in warning.render()


def test_left_out_types_each_say_why():
    assert all(types.IGNORED.values())
