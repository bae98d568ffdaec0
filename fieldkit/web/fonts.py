"""Amharic pages' font (services/fonts.py), served like the other assets: under
/a/ (so web/security.py leaves it cacheable), with content hashes in the
names, cached by phones for a year.

The page links a stylesheet, since the CSP allows no inline <style>; the
stylesheet's @font-face names the form's subset. Neither URL names the form:
a participant's browser history says no more than "a font".
"""
from __future__ import annotations

import hashlib

from flask import Blueprint, Response, abort, current_app, url_for

from ..services import fonts as font_service, forms as form_service
from .assets import YEAR
from .auth import access
from .db import get_db

bp = Blueprint("fonts", __name__, url_prefix="/a/font")
FAMILY = "Fieldkit Ethiopic"  # fieldkit.css puts it first for [lang="am"]
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
    return url_for("fonts.stylesheet", digest=digest, check=_check(digest)) if digest else None


def _css(digest: str) -> str:
    # swap: on a slow wifi the text shows at once in whatever the phone has, then in this font.
    return (f'@font-face{{font-family:"{FAMILY}";src:url({url_for("fonts.font", digest=digest)}) format("woff2");'
            f"font-display:swap;unicode-range:{UNICODE_RANGE}}}\n")


def _check(digest: str) -> str:
    """The stylesheet's own content hash: a later fieldkit that writes it
    differently gives it a new name, so no phone keeps the old one."""
    return hashlib.sha256(_css(digest).encode()).hexdigest()[:8]


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
