"""The README's XLSForm compatibility table, held to the code: every question type
it calls supported imports, and every one it calls "not yet" is refused at its
row with its name. A table that drifts from the importer fails here."""
import re
from pathlib import Path

import pytest

from fieldkit.forms.xlsform import FormImportError, load_xlsform

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
TABLE = README.split("| Question type | fieldkit |", 1)[1].split("\n\n", 1)[0]
NOT_TYPES = {"begin_group", "end_group", "begin_repeat", "end_repeat", "multiline", "minimal", "likert",
             "field-list", "parameters", "start", "end", "step", "default", "repeat_count", "accept"}


def rows() -> list[tuple[str, bool]]:
    found = []
    for line in TABLE.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or set(cells[0]) <= {"-"}:
            continue
        supported = cells[1].startswith("supported")
        for token in re.findall(r"`([A-Za-z_]+)(?: [A-Z]| F\.csv)?[^`]*`", cells[0]):
            if token not in NOT_TYPES:
                found.append((token, supported))
    return found


def survey_for(qtype: str) -> bytes:
    extra = {"calculate": "| | calculate | q | | 1 + 1 |", "hidden": "| | hidden | q | | |"}
    row = extra.get(qtype, f"| | {qtype} | q | Q | |")
    if qtype.startswith(("select_", "rank")):
        row = f"| | {qtype} yn | q | Q | |"
    return (f"| survey |\n| | type | name | label | calculation |\n{row}\n"
            "| choices |\n| | list_name | name | label |\n| | yn | yes | Yes |\n| | yn | no | No |\n").encode()


def test_the_table_lists_the_types():
    names = {name for name, _ in rows()}
    assert {"text", "rank", "image", "geopoint", "select_one", "hidden"} <= names, names


@pytest.mark.parametrize("qtype,supported", rows())
def test_each_type_does_what_the_table_says(qtype, supported):
    if qtype.endswith("_from_file"):
        pytest.skip("needs an attached CSV: tests/test_media.py")
    if supported:
        form = load_xlsform(survey_for(qtype), "f.md")
        assert "q" in form.questions
    else:
        with pytest.raises(FormImportError) as caught:
            load_xlsform(survey_for(qtype), "f.md")
        [problem] = caught.value.problems
        assert problem.row == 2 and qtype in problem.render()
