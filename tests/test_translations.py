"""Every string in the code and templates is translated into es, so and am.

The strings are extracted from the code on every run, so a new string cannot
slip past a stale messages.pot."""
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ["es", "so", "am"]


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    out = tmp_path_factory.mktemp("pot") / "messages.pot"
    CommandLineInterface().run(["pybabel", "-q", "extract", "-F", str(ROOT / "translations" / "babel.cfg"),
                                "-k", "N_", "--no-location", "-o", str(out), str(ROOT)])
    with out.open("rb") as f:
        catalog = read_po(f)
    ids = {m.id for m in catalog if m.id}
    assert len(ids) > 30  # extraction really found the interface
    return ids


def catalogue(lang):
    with (ROOT / "translations" / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_string_is_translated(lang, extracted):
    cat = catalogue(lang)
    missing = sorted(i for i in extracted if i not in cat or not cat[i].string)
    fuzzy = sorted(m.id for m in cat if m.id and m.fuzzy)
    assert missing == [], f"{lang}: untranslated: {missing[:5]}"
    assert fuzzy == [], f"{lang}: fuzzy: {fuzzy[:5]}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_placeholders_survive_translation(lang):
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalogue(lang).check() if errors]
    assert problems == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalogue_says_it_awaits_community_review(lang):
    header = (ROOT / "translations" / lang / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8")[:600]
    assert "awaits community review" in header
