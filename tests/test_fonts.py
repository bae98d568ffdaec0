"""Amharic pages carry fieldkit's own Noto Sans Ethiopic, cut down to the
characters the form and the interface use (phones may have no Ethiopic font).
Fast tests, no browser: tests/test_phones.py sees it render."""
from __future__ import annotations

import io
import json
import re

import pytest
from babel.messages import pofile
from fontTools.ttLib import TTFont

from conftest import FORMS, ROOT, Page
from fieldkit.services import fonts
from fieldkit.services import forms as form_service
from fieldkit.store import forms as form_store

ETHIOPIC = re.compile("[\u1200-\u139f\u2d80-\u2ddf\uab00-\uab2f]")
FONT_LINK = re.compile(r'<link rel="stylesheet" href="(/a/font/[^"]+\.css)">')
YEAR = "max-age=31536000"


def amharic_strings(value) -> list[str]:
    """Every text under an "am" key of a stored form model (read independently of services/fonts.py)."""
    if isinstance(value, dict):
        found = [v for k, v in value.items() if k == "am" and isinstance(v, str)]
        return found + [s for k, v in value.items() if k != "am" for s in amharic_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in amharic_strings(v)]
    return []


def subset_of(db, form_id: str = "wellbeing") -> tuple[str, bytes]:
    digest = fonts.subset_for(db, form_store.current_form(db, form_id), "am")
    return digest, fonts.woff2(db, digest)


def font_link(html: str) -> str | None:
    found = FONT_LINK.search(html)
    return found.group(1) if found else None


def test_the_demo_subset_is_a_small_woff2_with_every_amharic_character(db):
    _, data = subset_of(db)
    font = TTFont(io.BytesIO(data))  # fontTools opens it: a valid font
    assert font.flavor == "woff2"
    cmap = font.getBestCmap()
    model = json.loads(next(db.query("SELECT model FROM forms WHERE form_id = 'wellbeing'"))["model"])
    with open(ROOT / "translations" / "am" / "LC_MESSAGES" / "messages.po", "rb") as po:
        catalogue = [m.string for m in pofile.read_po(po) if m.id]
    texts = amharic_strings(model) + [s for m in catalogue for s in (m if isinstance(m, (list, tuple)) else [m])]
    needed = {c for text in texts for c in ETHIOPIC.findall(text)}
    assert len(needed) > 150
    assert sorted(c for c in needed if ord(c) not in cmap) == []
    assert "።" in needed and "፣" in needed  # the full stop and the comma
    # The licence travels inside the font too (OFL: every copy carries it).
    assert "Open Font License" in font["name"].getDebugName(13)
    print(f"demo Amharic subset: {len(data)} bytes, {len(font.getGlyphOrder())} glyphs")
    assert len(data) <= 30 * 1024, len(data)  # 17,672 bytes when written; the whole font is ~70 KB


def test_the_font_and_its_stylesheet_are_served_for_a_year(client, participant, db):
    digest, data = subset_of(db)
    css_url = font_link(participant().open("am").html)
    assert css_url and digest in css_url
    css = client.get(css_url)
    assert css.status_code == 200 and css.mimetype == "text/css"
    rule = css.get_data(as_text=True)
    assert 'font-family:"Fieldkit Ethiopic"' in rule and "font-display:swap" in rule
    assert "unicode-range:U+1200-139F" in rule
    font_url = re.search(r'url\(([^)]+)\) format\("woff2"\)', rule).group(1)
    font = client.get(font_url, headers={"Accept-Encoding": "gzip"})
    assert font.status_code == 200 and font.headers["Content-Type"] == "font/woff2"
    assert "Content-Encoding" not in font.headers  # woff2 is compressed already
    assert font.get_data() == data
    for response in (css, font):
        cache = response.headers["Cache-Control"]
        assert YEAR in cache and "immutable" in cache and "public" in cache and "no-store" not in cache
    # Names are content hashes: anything else is not there.
    assert client.get(font_url.replace(digest, "0" * 20)).status_code == 404
    assert client.get(css_url.replace(digest, "0" * 20)).status_code == 404
    assert client.get(re.sub(r"\.[0-9a-f]{8}\.css$", ".00000000.css", css_url)).status_code == 404


def test_only_amharic_participant_pages_link_the_font(app, participant, signed_in):
    for lang in ("en", "es", "so", "am"):
        p = participant(client_=app.test_client())  # a phone of its own
        pages = {"language": p.open(lang), "consent": p.choose_language(lang)}
        p.consent("yes")
        pages["screen"] = p.current()
        pages["help"] = Page(p.client.get("/f/wellbeing/help").get_data(as_text=True))
        pages["errors"] = Page(p.post({}).get_data(as_text=True))  # required answers missing
        declining = participant(client_=app.test_client())
        declining.choose_language(lang)
        pages["declined"] = Page(declining.client.get(declining.consent("no").location).get_data(as_text=True))
        links = {name: font_link(page.html) for name, page in pages.items()}
        if lang == "am":
            assert all(links.values()), links
            assert len(set(links.values())) == 1  # one stylesheet for the whole form
        else:
            # Only the language choice, for the few letters of "አማርኛ" on its button.
            chooser = links.pop("language")
            assert chooser and not any(links.values()), (lang, links)
            font = re.search(r'url\(([^)]+)\)', p.client.get(chooser).get_data(as_text=True)).group(1)
            subset = p.client.get(font).data
            assert len(subset) < 3000
            cmap = TTFont(io.BytesIO(subset)).getBestCmap()
            assert all(ord(c) in cmap for c in "አማርኛ") and ord("ሰ") not in cmap
    # The console (on the laptop, whose answers and titles can be Amharic in any language of its
    # own): every Ethiopic letter, which a browser fetches only for a page that shows one.
    console = signed_in("coordinator")
    links = {font_link(console.get("/console/", headers={"Accept-Language": lang}).get_data(as_text=True))
             for lang in ("en", "am")}
    [general] = links
    font = re.search(r'url\(([^)]+)\)', console.get(general).get_data(as_text=True)).group(1)
    cmap = TTFont(io.BytesIO(console.get(font).data)).getBestCmap()
    assert {chr(c) for c in cmap} >= set(fonts.every_letter()) and len(fonts.every_letter()) > 400


def test_the_neutral_page_in_amharic_has_the_interfaces_letters_and_in_spanish_none(app):
    for lang, wanted in (("am", True), ("es", False)):
        phone = app.test_client()
        page = phone.get("/recipes/lentil-soup", headers={"Accept-Language": lang}).get_data(as_text=True)
        link = font_link(page)
        assert bool(link) == wanted, lang
        if link:
            font = re.search(r'url\(([^)]+)\)', phone.get(link).get_data(as_text=True)).group(1)
            cmap = TTFont(io.BytesIO(phone.get(font).data)).getBestCmap()
            assert all(ord(c) in cmap for c in re.sub(r"<[^>]+>", "", page) if "\u1200" <= c <= "\u137f")


def test_a_form_without_amharic_gets_no_font(db, add_form, participant):
    before = db.count("fonts")
    form = add_form("t_inputs.md")
    assert db.count("fonts") == before
    assert fonts.subset_for(db, form, "am") is None
    p = participant("t_inputs")
    assert font_link(p.open("en").html) is None
    assert font_link(p.start("es").html) is None


def test_a_form_stored_before_fonts_existed_gets_its_subset_on_first_request(app, db, participant):
    db.execute("DELETE FROM fonts")  # as an instance upgraded from before m006_fonts
    participant().open("am")  # built in the background: this participant is not kept waiting
    app.extensions["fieldkit_fonts_thread"].join(timeout=60)
    assert font_link(participant().open("am").html) and db.count("fonts") == 2  # the page's and the chooser's


def test_a_new_version_with_new_characters_gets_a_new_subset(db):
    source = (FORMS / "household.md").read_text(encoding="utf-8")
    first = form_service.import_form(db, source.encode(), "household.md").form
    digest, _ = subset_of(db, "household")
    assert "ኧ" not in fonts.characters(first, "am")
    changed = source.replace("| household | 1 |", "| household | 2 |").replace("| ሌላ ገቢ |", "| ሌላ ገቢ ኧ |")
    form_service.import_form(db, changed.encode(), "household.md")
    new_digest, data = subset_of(db, "household")
    assert new_digest != digest
    assert ord("ኧ") in TTFont(io.BytesIO(data)).getBestCmap()


@pytest.mark.parametrize("lang", ["en", "es", "so"])
def test_no_subset_is_built_for_other_languages(db, lang):
    assert fonts.subset_for(db, form_store.current_form(db, "wellbeing"), lang) is None


def test_an_events_choice_of_surveys_in_amharic_carries_the_letters_of_their_titles(app, db, add_form):
    from fieldkit.store import events as event_store
    add_form("household.md")
    event = event_store.add_event(db, {"name": "Hall"}, ["wellbeing", "household"])
    phone = app.test_client()
    page = phone.get(f"/e/{event['code']}", headers={"Accept-Language": "am"}).get_data(as_text=True)
    titles = re.findall(r'class="button"[^>]*>([^<]+)<', page)
    assert len(titles) == 2 and any("\u1200" <= c <= "\u137f" for c in "".join(titles))
    font = re.search(r'url\(([^)]+)\)', phone.get(font_link(page)).get_data(as_text=True)).group(1)
    cmap = TTFont(io.BytesIO(phone.get(font).data)).getBestCmap()
    assert all(ord(c) in cmap for c in "".join(titles) if "\u1200" <= c <= "\u137f")
    assert font_link(app.test_client().get(f"/e/{event['code']}", headers={"Accept-Language": "es"})
                     .get_data(as_text=True)) is None


def test_a_participants_own_amharic_words_have_a_face_on_every_survey_page(app, db, participant):
    """Once the every-letter subset is built (at start-up), a survey page in any language
    links it; an Amharic page's stylesheet has it before the form's own subset, so a
    letter the form's texts never use, typed by a participant, is not a box either."""
    fonts.prepare_general(db)
    english = participant(client_=app.test_client())
    english.start("en")
    link = font_link(english.current().html)
    css = english.client.get(link).get_data(as_text=True)
    assert css.count("@font-face") == 1 and "unicode-range" in css
    amharic = participant(client_=app.test_client())
    amharic.start("am")
    css = amharic.client.get(font_link(amharic.current().html)).get_data(as_text=True)
    first, second = re.findall(r"url\(([^)]+)\)", css)
    every = TTFont(io.BytesIO(amharic.client.get(first).data)).getBestCmap()
    own = TTFont(io.BytesIO(amharic.client.get(second).data)).getBestCmap()
    assert len(every) > 400 > len(own)  # the form's small subset is defined last: tried first
    assert amharic.client.get(font_link(amharic.current().html).replace(".css", "x.css")).status_code == 404


def test_a_demo_serves_parent_loaded_gets_its_fonts_built_by_the_workers_app(tmp_path):
    """With granian (or --workers), serve's parent loads the demo without Flask and the worker's
    app builds its subsets in the background, as an app that loaded it itself does."""
    from fieldkit import create_app, store
    from fieldkit.services import instance
    config = instance.start({"DATA_DIR": tmp_path})
    form_id, version = config[instance.DEMO_LOADED]
    db = store.connect(config["DATABASE"])
    try:
        assert db.count("fonts") == 0  # the parent built none: the worker does
        again = instance.start({"DATA_DIR": tmp_path})
        assert instance.DEMO_LOADED not in again  # a second start loads nothing
        worker = create_app({"DATA_DIR": tmp_path, instance.DEMO_LOADED: (form_id, version)})
        assert (form_id, version) in worker.extensions["fieldkit_fonts_building"]
        worker.extensions["fieldkit_fonts_thread"].join(timeout=120)
        demo = form_store.form_version(db, form_id, version)
        assert fonts.subset_for(db, demo, "am") is not None
    finally:
        db.close()
