"""The bundled demo: its ready-made model is exactly what pyxform makes of it."""
import json

from fieldkit.forms.xlsform import load_xlsform
from fieldkit.services.forms import DEMO, DEMO_MODEL


def test_the_ready_made_demo_model_matches_its_xlsform():
    made = load_xlsform(DEMO.read_bytes(), DEMO.name).to_dict()
    shipped = json.loads(DEMO_MODEL.read_text(encoding="utf-8"))
    assert shipped == json.loads(json.dumps(made)), (
        "fieldkit/demo/wellbeing.md changed: regenerate wellbeing.model.json with "
        "python -c \"import json; from fieldkit.forms.xlsform import load_xlsform; "
        "print(json.dumps(load_xlsform(open('fieldkit/demo/wellbeing.md','rb').read(), 'wellbeing.md').to_dict(), "
        "ensure_ascii=False, indent=1))\" > fieldkit/demo/wellbeing.model.json")
    # in the form's order too (issue 14, 3: a model written with sorted keys scrambled the exports)
    assert list(shipped["questions"]) == list(made["questions"])
    assert [s["name"] for s in shipped["screens"]] == [s["name"] for s in made["screens"]]


def test_the_demo_uses_neutral_words():
    text = DEMO.read_text(encoding="utf-8").lower()
    for word in ("violence", "abuse", "violencia", "abuso", "partner", "pareja"):
        assert word not in text


def test_the_demos_export_columns_follow_the_forms_order(db):
    from fieldkit.services import export
    names = [q.name for q in export.columns(db, "wellbeing")]
    assert names[:4] == ["age_band", "household_size", "wellbeing_rating", "worries"]


def test_the_demos_closing_note_names_the_buttons_as_each_language_shows_them():
    """Issue 14, 3: it said "Press Submit" on a screen whose button is Next, and the Amharic
    and Somali notes named other words than their buttons."""
    from babel.support import Translations

    from fieldkit.resources import resource_dir
    form = load_xlsform(DEMO.read_bytes(), DEMO.name)
    note = form.questions["closing_note"].label
    for lang in ("en", "es", "so", "am"):
        words = Translations.load(str(resource_dir("translations")), [lang])
        assert words.gettext("Next") in note[lang] and words.gettext("Submit") in note[lang], lang
