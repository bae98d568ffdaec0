"""Amharic pages' font (services/fonts.py), served like the other assets: under
/a/ (so web/security.py leaves it cacheable), with content hashes in the
names, cached by phones for a year.

The page links a stylesheet, since the CSP allows no inline <style>; the
stylesheet's @font-face names the form's subset. Neither URL names the form:
a participant's browser history says no more than "a font".
"""
from __future__ import annotations

import hashlib

from flask import Blueprint, Response, abort, current_app, g, request, url_for

from ..services import fonts as font_service, forms as form_service
from .assets import YEAR
from .auth import access
from .db import get_db
from .i18n import page_lang

bp = Blueprint("fonts", __name__, url_prefix="/a/font")
FAMILY = "Fieldkit Ethiopic"  # first in every page's font stack (fieldkit.css): its faces have Ethiopic letters only
# Ethiopic, Ethiopic Extended, Ethiopic Extended-A: the browser uses the font
# for these characters only, and the phone's own font for Latin, digits, spaces.
UNICODE_RANGE = "U+1200-139F,U+2D80-2DDF,U+AB00-AB2F"


def stylesheet_url(form, lang: str, chooser: bool = False) -> str | None:
    """For a participant page in lang: the stylesheet to link, or None. On the
    language choice (chooser), a page in another language still gets the few
    letters that write Amharic's own name."""
    # Remembered per app: gathering a form's characters on every page was a
    # database read and a pass over all its texts per request (bench/RESULTS.md).
    known = current_app.extensions.setdefault("fieldkit_font_digests", {})
    key = (form.form_id, form.version, lang, chooser)
    if key not in known:
        try:
            chars = font_service.page_characters(form, lang, chooser)
            digest = font_service.subset_of(get_db(), chars, build=False) if chars else None
        except Exception:  # a page without the font still works; one that fails does not
            current_app.logger.exception("no font subset for %s", form.form_id)
            return None
        building_now = current_app.extensions.get("fieldkit_fonts_thread")
        if chars and digest is None and building_now and lang in font_service.LANGUAGES:
            # An Amharic page in the first seconds after start-up waits for the
            # demo's subset being built; other pages do not wait for a few letters.
            building_now.join(timeout=20)
            digest = font_service.subset_of(get_db(), chars, build=False)
        if chars and digest is None:
            # Not built yet (the demo just after start-up, or a form stored before
            # fonts existed): built in the background rather than keeping this
            # participant waiting seconds; their next page has it.
            building = current_app.extensions.setdefault("fieldkit_fonts_building", set())
            if (form.form_id, form.version) not in building:
                building.add((form.form_id, form.version))
                current_app.extensions["fieldkit_fonts_thread"] = form_service.prepare_fonts_later(
                    current_app.config["DATABASE"], form)
            return None
        known[key] = digest
    digest = known[key]
    if digest is None:
        # a survey page in a language of another script: only the face of every letter, which the
        # browser fetches only if the page shows Ethiopic (an answer typed in Amharic, say)
        general = _general_digest()
        return _stylesheet(general) if general else None
    return _stylesheet(digest)


def _general_digest() -> str | None:
    """The every-letter subset's digest when it is built (at start-up); never builds it."""
    known = current_app.extensions.setdefault("fieldkit_font_general", {})
    chars = font_service.every_letter()
    if known.get(chars) is None:
        try:
            known[chars] = font_service.subset_of(get_db(), chars, build=False)
        except Exception:
            return None
    return known[chars]


def _stylesheet(digest: str) -> str:
    """A page's font stylesheet: its subset's face, and before it the face of every
    Ethiopic letter (when built), which a browser uses for a letter the subset lacks (a
    participant's own words) and fetches only then: the faces share a family, and the
    one defined last is tried first (CSS Fonts, unicode-range)."""
    general = _general_digest()
    if general and general != digest:
        return url_for("fonts.stylesheet_with", digest=digest, fallback=general, check=_check(digest, general))
    return url_for("fonts.stylesheet", digest=digest, check=_check(digest))


# Participant pages with no form text (quick exit, errors): the interface's letters only.
PARTICIPANT_BLUEPRINTS = {"collect", "safety", None}


def page_stylesheet_url() -> str | None:
    """The font stylesheet of any page (base.html): a participant page's own (set by
    its view), else the interface's letters on a participant's page in Amharic, else
    (the console, poster, display, preview) every Ethiopic letter, which the browser
    fetches only for a page that shows one."""
    if "font_css" in g:  # set by the view (None while the form's subset is being built)
        return g.font_css
    if request.blueprint in ("fonts", "assets", "api", "media"):
        return None
    if request.blueprint in PARTICIPANT_BLUEPRINTS:
        chars = font_service.interface_letters(page_lang())
    else:
        chars = font_service.every_letter()
    return _general(chars) if chars else None


def titles_stylesheet_url(texts: list[str]) -> str | None:
    """A participant page that lists forms by title (an event's, the laptop's front
    page): the interface's letters in the page's language, and the titles'."""
    letters = font_service.interface_letters(page_lang())
    return _general("".join(sorted(set(letters) | set("".join(texts))))) if letters else None


def _general(chars: str) -> str | None:
    known = current_app.extensions.setdefault("fieldkit_font_general", {})
    if known.get(chars) is None:  # not built yet when last asked: ask again
        try:
            db = get_db()
            digest = font_service.subset_of(db, chars, build=False)
            building_now = current_app.extensions.get("fieldkit_fonts_thread")
            if digest is None and building_now:
                building_now.join(timeout=20)  # in the first seconds after start-up: being built
                digest = font_service.subset_of(db, chars, build=False)
            known[chars] = digest or font_service.subset_of(db, chars)  # once per laptop, then kept
        except Exception:  # a page without the font still works; one that fails does not
            current_app.logger.exception("no general font subset")
            return None
    return _stylesheet(known[chars])


def _face(digest: str) -> str:
    # swap: on a slow wifi the text shows at once in whatever the phone has, then in this font.
    return (f'@font-face{{font-family:"{FAMILY}";src:url({url_for("fonts.font", digest=digest)}) format("woff2");'
            f"font-display:swap;unicode-range:{UNICODE_RANGE}}}\n")


def _css(digest: str, fallback: str | None = None) -> str:
    return (_face(fallback) if fallback else "") + _face(digest)


def _check(digest: str, fallback: str | None = None) -> str:
    """The stylesheet's own content hash: a later fieldkit that writes it
    differently gives it a new name, so no phone keeps the old one."""
    return hashlib.sha256(_css(digest, fallback).encode()).hexdigest()[:8]


def _for_a_year(response: Response) -> Response:
    response.cache_control.public = True
    response.cache_control.max_age = YEAR
    response.cache_control.immutable = True
    return response


@bp.get("/<digest>.woff2")
@access("public")
def font(digest):
    data = font_service.woff2(get_db(), digest)
    if data is None:
        abort(404)
    return _for_a_year(Response(data, mimetype="font/woff2"))


@bp.get("/<digest>.<check>.css")
@access("public")
def stylesheet(digest, check):
    if check != _check(digest) or font_service.woff2(get_db(), digest) is None:
        abort(404)
    return _for_a_year(Response(_css(digest), mimetype="text/css"))


@bp.get("/<digest>+<fallback>.<check>.css")
@access("public")
def stylesheet_with(digest, fallback, check):
    """A subset's face, after the face of every letter (see _stylesheet)."""
    db = get_db()
    if check != _check(digest, fallback) or font_service.woff2(db, digest) is None or \
            font_service.woff2(db, fallback) is None:
        abort(404)
    return _for_a_year(Response(_css(digest, fallback), mimetype="text/css"))


@bp.record_once
def _template_helper(state) -> None:
    state.app.jinja_env.globals["page_font_css"] = page_stylesheet_url
