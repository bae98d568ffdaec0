"""Importing and listing forms."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .. import crypto, store
from ..forms.model import Form
from ..forms.xlsform import MISSING_FILE, FormImportError, load_xlsform, problem
from ..messages import N_
from ..store import forms as form_store
from . import fonts

MAX_FORM_BYTES = 5 * 1024 * 1024
DEMO = Path(__file__).resolve().parent.parent / "demo" / "wellbeing.md"
DEMO_MODEL = DEMO.with_suffix(".model.json")


def own_words(lang: str, text: str) -> str:
    """fieldkit's own text (or_other's "Other") in a form's language, from fieldkit's
    catalogues; English for a language they do not have."""
    from babel.support import Translations
    from ..resources import resource_dir
    return Translations.load(str(resource_dir("translations")), [lang]).gettext(text)


@dataclass
class Imported:
    form: Form
    outcome: str  # 'added' or 'unchanged'


def import_form(db, data: bytes, filename: str, fonts_now: bool = True,
                media: dict[str, bytes] | None = None, actor: str | None = None, via: str | None = None) -> Imported:
    """Parse and store an XLSForm with its media files (name -> bytes): all or
    nothing. Raises FormImportError. With via (a person adding it: 'console',
    'command line'), the activity log says so."""
    if len(data) > MAX_FORM_BYTES:
        raise FormImportError([problem(N_("This file is too large for a form (more than %(mb)s MB)."),
                                       mb=MAX_FORM_BYTES // (1024 * 1024))])
    media = {Path(name).name: content for name, content in (media or {}).items()}
    form = load_xlsform(data, filename, translate=own_words, media=media)
    try:
        outcome = form_store.add_form(db, form, data, Path(filename).name, media)
    except form_store.PublicIdClash as clash:
        raise FormImportError([problem(
            N_("The public_id %(key)s is already used by the form %(other)s."),
            "settings", None, "public_id", key=clash.key, other=clash.other)]) from None
    except form_store.VersionClash as clash:
        raise FormImportError([problem(
            N_("Version %(version)s of form %(form_id)s already exists with different content. "
               "Change the version in the settings sheet."),
            "settings", None, "version", version=clash.version, form_id=clash.form_id)]) from None
    if via:
        store.audit.record(db, actor, "form.added", form_id=form.form_id, version=form.version, outcome=outcome,
                           **({} if via == "console" else {"via": via}))
    if fonts_now:
        fonts.prepare(db, form)  # also for 'unchanged': a form stored before fonts existed
    return Imported(form, outcome)


def xform(db, form_id: str, version: str) -> tuple[str, str] | None:
    """(XForm, md5) of a stored version: as pyxform made it at import, or, for a version
    stored without one (the bundled demo, forms added before), made now from its
    XLSForm and kept, so that it never changes after. None: no such version."""
    found = form_store.xform_of(db, form_id, version)
    if found is not None:
        return found
    stored = form_store.source_of(db, form_id, version)
    if stored is None:
        return None
    source_name, source = stored
    made = load_xlsform(source, source_name, translate=own_words).xform
    form_store.set_xform(db, form_id, version, made)
    return form_store.xform_of(db, form_id, version)


def set_status(db, form_id: str, status: str, actor: str | None = None, via: str | None = None) -> None:
    """Open or close a form for answers (every version of it), in the activity log."""
    if status not in ("open", "closed"):
        raise ValueError(status)
    form_store.set_status(db, form_id, status)
    store.audit.record(db, actor, f"form.{status}", form_id=form_id, **({"via": via} if via else {}))


def set_public_key(db, form_id: str, key: str, actor: str | None = None, via: str | None = None) -> None:
    """Seal this form's answers for key's private key from now on (raises
    crypto.CryptoKeyError for a key fieldkit cannot use), in the activity log."""
    crypto.load_public_key(key)
    form_store.set_public_key(db, form_id, key)
    store.audit.record(db, actor, "form.encrypted", form_id=form_id, **({"via": via} if via else {}))


def attach(db, form_id: str, media: dict[str, bytes], actor: str | None = None, via: str = "console") -> Form:
    """Files a stored form names but was imported without (a picture, a choices CSV):
    added to its current version, no new version needed. Raises FormImportError when
    the form names none of them."""
    form = form_store.current_form(db, form_id)
    if form is None:
        raise FormImportError([problem(N_("There is no form %(form_id)s."), form_id=form_id)])
    media = {Path(name).name: content for name, content in media.items()}
    missing = {w["params"].get("name") for w in form.warnings if w["text"] == MISSING_FILE}
    wanted = {name: data for name, data in media.items() if name in missing}
    if not wanted:
        raise FormImportError([problem(N_("The form %(form_id)s is not waiting for any of these files: %(names)s."),
                                       form_id=form_id, names=", ".join(sorted(media)) or "-")])
    source_name, source = form_store.source_of(db, form_id, form.version)
    updated = load_xlsform(source, source_name, translate=own_words,
                           media=dict(form_store.media_of(db, form), **wanted))
    form_store.replace_model(db, updated, wanted)
    store.audit.record(db, actor, "form.files_attached", form_id=form_id, version=form.version,
                       files=sorted(wanted), via=via)
    fonts.prepare(db, updated)
    return updated


def import_path(db, path: str | Path, fonts_now: bool = True, media_paths=(), actor: str | None = None,
                via: str | None = None) -> Imported:
    """An XLSForm file, and the media files it names (images, audio, CSV choices)."""
    path = Path(path)
    media = {Path(m).name: Path(m).read_bytes() for m in media_paths}
    return import_form(db, path.read_bytes(), path.name, fonts_now, media, actor=actor, via=via)


def ensure_demo(db) -> Imported | None:
    """A new instance with no forms gets the bundled demo, so it works at once."""
    if form_store.count_forms(db):
        return None
    # The demo's model comes ready-made (tests/test_demo.py holds it equal to what
    # pyxform makes of wellbeing.md): pyxform's import alone is over half a second
    # of a new laptop's first start. Its font subsets (seconds of work) are built
    # after start-up, by prepare_fonts_later, so that the first page is not kept waiting.
    form = Form.from_dict(json.loads(DEMO_MODEL.read_text(encoding="utf-8")))
    return Imported(form, form_store.add_form(db, form, DEMO.read_bytes(), DEMO.name))


def prepare_fonts_later(database: str, form=None, general: bool = False):
    """Build a form's font subsets in the background, on a connection of its own; with
    general, then the subsets every laptop's console and neutral pages use."""
    import threading

    from .. import store

    def build():
        db = store.connect(database)
        try:
            if form is not None:
                fonts.prepare(db, form)
            if general:
                fonts.prepare_general(db)
        finally:
            db.close()

    thread = threading.Thread(target=build, name="fieldkit-fonts", daemon=True)
    thread.start()
    return thread


__all__ = ["FormImportError", "import_form", "import_path", "ensure_demo", "store"]
