"""SPSS and Stata exports (issue 14, item 7): written by pyreadstat, read back by it,
as an analyst's SPSS or Stata would open them: numbers, codes with value labels,
a 0/1 variable per choice of a select_multiple, dates, labels in the form's language."""
from __future__ import annotations

import datetime as dt
import math

import pytest

from conftest import Participant
from fieldkit.services import export, forms as form_service
from fieldkit.services.export_stats import legal_names

pyreadstat = pytest.importorskip("pyreadstat")

FORM = """| survey |
| | type | name | label::English (en) | label::Español (es) | calculation |
| | integer | age | Age | Edad | |
| | select_one yn | works | Do you work? | ¿Trabaja? | |
| | select_one scale | trust | Trust in neighbours | Confianza | |
| | select_multiple worries | worries | Worries | Preocupaciones | |
| | date | moved | When did you move here? | ¿Cuándo se mudó? | |
| | text | notes | Anything else? | ¿Algo más? | |
| | calculate | double | | | ${age} * 2 |
| | text | when-2.0 | A name SPSS refuses | | |
| choices |
| | list_name | name | label::English (en) | label::Español (es) |
| | yn | yes | Yes | Sí |
| | yn | no | No | No |
| | scale | 1 | Not at all | Nada |
| | scale | 5 | Completely | Totalmente |
| | worries | money | Money | Dinero |
| | worries | housing | Housing | Vivienda |
| settings |
| | form_id | version | default_language |
| | labelled | 1 | English (en) |
"""


@pytest.fixture
def answered(db, client):
    form_service.import_form(db, FORM.encode(), "labelled.md")
    for answers in ({"age": "34", "works": "yes", "trust": "5", "worries": ["money", "housing"], "moved": "2024-05-31",
                     "notes": "ሰላም, más reuniones", "when-2.0": "x"},
                    {"age": "", "works": "no", "trust": "1", "worries": [], "moved": "", "notes": "", "when-2.0": ""}):
        p = Participant(client, "labelled")
        p.start("en")
        for name in ("age", "works", "trust", "worries", "moved", "notes", "when-2.0"):
            p.answer({name: answers[name]})
        assert p.submit().status_code == 303
    return db


def read(tmp_path, fmt: str, db):
    path = tmp_path / f"out.{fmt}"
    path.write_bytes(b"".join(export.FORMATS[fmt].write(db, "labelled")))
    return (pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta)(str(path))


@pytest.mark.parametrize("fmt", ["sav", "dta"])
def test_an_analyst_opens_numbers_codes_labels_and_dates(answered, tmp_path, fmt):
    frame, info = read(tmp_path, fmt, answered)
    rows = frame.to_dict("records")
    [first] = [r for r in rows if r["notes"]]  # both were submitted in the same second: found by content
    [second] = [r for r in rows if not r["notes"]]
    assert first["age"] == 34 and math.isnan(second["age"])  # empty is missing, not 0
    assert first["double_"] == 68  # double is a word Stata keeps for itself
    assert (first["works"], second["works"]) == (1, 2)  # yes, no: coded in the list's order
    assert info.variable_value_labels["works"] == {1: "Yes", 2: "No"}
    assert (first["trust"], second["trust"]) == (5, 1)  # whole-number names are the codes
    assert info.variable_value_labels["trust"] == {1: "Not at all", 5: "Completely"}
    assert (first["worries_money"], first["worries_housing"], first["worries"]) == (1, 1, "money housing")
    assert math.isnan(second["worries_money"])  # not answered: missing, not "not chosen"
    assert first["moved"] in (dt.date(2024, 5, 31), dt.datetime(2024, 5, 31))
    assert first["notes"] == "ሰላም, más reuniones"
    labels = dict(zip(info.column_names, info.column_labels))
    assert labels["age"] == "Age" and labels["worries_money"] == "Worries: Money"
    assert "when_2_0" in info.column_names and labels["when_2_0"] == "A name SPSS refuses"
    assert {"uuid", "event", "device", "submitted_at"} <= set(info.column_names)


def test_an_event_filter_narrows_the_file_and_an_empty_one_still_opens(answered, tmp_path):
    path = tmp_path / "none.sav"
    path.write_bytes(b"".join(export.FORMATS["sav"].write(answered, "labelled", event_id=999)))
    frame, info = pyreadstat.read_sav(str(path))
    assert len(frame) == 0 and "age" in info.column_names


def test_names_are_made_legal_and_unique_within_statas_limit():
    names = legal_names(["a-b", "a_b", "1st", "x" * 40, "x" * 41, "_hidden", "double", "str12", "with"])
    assert (names["double"], names["str12"], names["with"]) == ("double_", "str12_", "with_")
    assert names["a-b"] == "a_b" and names["a_b"] == "a_b_2" and names["1st"] == "v1st"
    assert len(names["x" * 40]) == 32 and names["x" * 40] != names["x" * 41] and len(names["x" * 41]) <= 32
    assert names["_hidden"] == "v_hidden"


def test_the_console_and_the_command_line_offer_spss_and_stata(signed_in, answered, tmp_path):
    from click.testing import CliRunner
    from fieldkit.cli import main
    coordinator = signed_in("coordinator")
    page = coordinator.get("/console/forms/labelled").get_data(as_text=True)
    assert 'value="sav"' in page and 'value="dta"' in page
    out = tmp_path / "cli.sav"
    data_dir = str(tmp_path / "data")
    result = CliRunner().invoke(main, ["export", "labelled", "--format", "sav", "--out", str(out), "--data", data_dir])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:4] == b"$FL2"  # an SPSS system file
