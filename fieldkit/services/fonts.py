"""A font for Amharic pages: stripped-down low-end Android builds may have no
Ethiopic font at all, and then Amharic shows as empty boxes.

fieldkit ships Noto Sans Ethiopic Regular 2.000 (fonts/, from Debian's
fonts-noto-core 20201225-1, under the SIL Open Font License 1.1: fonts/OFL.txt).
The whole font is about 70 KB as woff2, too much for a venue's wifi, so each
form gets a subset holding only the characters its participants can see:
the form's texts in the language, the interface's translations and ASCII.
A subset is built when a form is imported (and, for forms stored before this
existed, on first use) and kept in the database; it is a Modified Version
under the same licence and keeps the font's copyright and licence records.
"""
from __future__ import annotations

import functools
import hashlib
import io
import logging

from babel import Locale
from babel.messages import mofile, pofile

from ..forms.model import Form, text_in
from ..resources import PACKAGE, resource_dir
from ..store import fonts as font_store

FONT = PACKAGE / "fonts" / "NotoSansEthiopic-Regular.ttf"
LANGUAGES = ("am",)  # page languages written in a script the font covers
ASCII = "".join(chr(c) for c in range(0x20, 0x7F))
# Name records kept: the usual ones, plus the licence's description and URL (13, 14),
# which the OFL asks every copy, modified or not, to carry.
NAME_IDS = [0, 1, 2, 3, 4, 5, 6, 13, 14]

log = logging.getLogger(__name__)


def page_characters(form: Form, lang: str, chooser: bool = False) -> str | None:
    """The characters a participant page in lang needs from fieldkit's own font,
    or None when it needs none. On the language choice (chooser) of a page in
    another language: just the letters of "አማርኛ", about 1 KB, so the Amharic
    button is not a row of boxes on a phone without an Ethiopic font (which is
    where an Amharic speaker starts)."""
    if lang in LANGUAGES and lang in form.languages:
        return characters(form, lang)
    if chooser:
        names = "".join(Locale.parse(code).get_display_name(code) or ""
                        for code in LANGUAGES if code in form.languages)
        return "".join(sorted(set(names))) or None
    return None


# Ethiopic, Ethiopic Extended, Ethiopic Extended-A, Ethiopic Supplement: the letters of the
# general subset (web/fonts.py serves it with the same unicode-range).
ETHIOPIC = ((0x1200, 0x139F), (0x2D80, 0x2DDF), (0xAB00, 0xAB2F))


@functools.cache
def every_letter() -> str:
    """Every Ethiopic letter the font has (about 66 KB as woff2): for the pages that can
    show any of them, on the coordinator's laptop or a projector rather than a phone
    (the console, whose answers, titles and languages can be in Amharic; the poster,
    the display, the preview)."""
    from fontTools.ttLib import TTFont
    cmap = TTFont(FONT).getBestCmap()
    return "".join(chr(c) for c in sorted(cmap) if any(lo <= c <= hi for lo, hi in ETHIOPIC))


def interface_letters(lang: str) -> str | None:
    """The interface's letters in lang (about 18 KB for Amharic), for a participant's
    page that shows no form text (the quick exit's neutral page, an error page); None
    for a language whose script the phone has."""
    return _interface_characters(lang) if lang in LANGUAGES else None


def prepare_general(db) -> None:
    """Build the subsets that every laptop's pages need, once (web/db.py at start-up)."""
    for chars in [every_letter()] + [interface_letters(lang) for lang in LANGUAGES]:
        try:
            subset_of(db, chars)
        except Exception:
            log.exception("could not build a general font subset")


def subset_for(db, form: Form, lang: str) -> str | None:
    """The digest of form's font subset for pages in lang, built and kept on
    first use; None when pages in lang need no font of fieldkit's own."""
    chars = page_characters(form, lang)
    return subset_of(db, chars) if chars else None


def subset_of(db, chars: str, build: bool = True) -> str | None:
    """The digest of the subset holding chars; when it is not built yet, None
    unless build. Keyed by what it is built from, so a new version of a form or
    of fieldkit's translations that brings new characters gets a new subset."""
    key = hashlib.sha256(f"{_font_digest()}\n{chars}".encode()).hexdigest()
    found = font_store.subset_digest(db, key)
    if found or not build:
        return found
    return font_store.add_subset(db, key, chars, _build(chars))


def prepare(db, form: Form) -> None:
    """Build a stored form's subsets (each language's, and the language
    choice's), so that no participant waits for one. A failure here must not
    fail an import: the form is stored, and pages try again when first shown."""
    wanted = {page_characters(form, lang, chooser=True) for lang in form.languages}
    for chars in wanted - {None}:
        try:
            subset_of(db, chars)
        except Exception:  # the font only improves the pages: never fail an import for it
            log.exception("could not build a font subset of %s", form.form_id)


def woff2(db, digest: str) -> bytes | None:
    return font_store.subset_bytes(db, digest)


def characters(form: Form, lang: str) -> str:
    """Every character a participant can see on the form's pages in lang, sorted."""
    seen = set(_interface_characters(lang))
    for text in form_texts(form, lang):
        seen.update(text)
    return "".join(sorted(c for c in seen if c >= " "))  # not line breaks


def form_texts(form: Form, lang: str) -> list[str]:
    """The form's texts as shown in lang (falling back as the pages do)."""
    texts = [form.title, form.public_title, form.consent]
    texts += [g.label for g in form.groups.values()] + [s.label for s in form.screens]
    for q in form.questions.values():
        texts += [q.label, q.hint, q.required_message, q.constraint_message]
    texts += [c.label for choices in form.choices.values() for c in choices]
    return [text_in(text, lang, form.default_language) for text in texts]


@functools.cache
def _interface_characters(lang: str) -> str:
    """The interface's characters in lang: every translated message (the
    console's too: leaving them out would save about 3.5 KB on the demo, but
    would need a list of which templates and modules participants see), the
    language's own name (the language buttons), its month names (dates on the
    review page) and ASCII."""
    seen = set(ASCII)
    for message in _catalogue(lang):
        if not message.id:  # the header
            continue
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        for text in strings:
            seen.update(text or "")
    locale = Locale.parse(lang)
    seen.update(locale.get_display_name(lang) or "")
    for name in locale.months["format"]["wide"].values():
        seen.update(name)
    return "".join(sorted(seen))


def _catalogue(lang: str):
    """The compiled catalogue the pages are translated with; a checkout not yet
    compiled has only the .po."""
    folder = resource_dir("translations") / lang / "LC_MESSAGES"
    if (folder / "messages.mo").is_file():
        with open(folder / "messages.mo", "rb") as file:
            return mofile.read_mo(file)
    if (folder / "messages.po").is_file():
        with open(folder / "messages.po", "rb") as file:
            return pofile.read_po(file)
    return []


@functools.cache
def _font_digest() -> str:
    return hashlib.sha256(FONT.read_bytes()).hexdigest()


@functools.lru_cache(maxsize=8)  # tests and re-imports build the same subset again and again
def _build(chars: str) -> bytes:
    # imported when a subset is built, not by every command
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    # TrueType hints: phones' browsers hardly use them, and they were a third of the bytes.
    # Kerning stays (about half of the bytes left): it is part of the typeface's design.
    options.hinting = False
    options.name_IDs = NAME_IDS
    font = TTFont(FONT, recalcTimestamp=False)  # the same characters give the same bytes
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=chars)
    subsetter.subset(font)
    font.flavor = "woff2"  # fontTools compresses woff2 with the brotli package
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()
