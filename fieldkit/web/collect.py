"""Participants: /f/<form_id> -> language -> screens -> submit -> thank you.

Every step is a plain HTML form POST followed by a redirect, so it all works
with JavaScript switched off, and a reload never resends answers.
"""
from flask import Blueprint, current_app, g, redirect, render_template, request, session, url_for

from ..errors import FieldkitError
from ..services import collect
from .auth import access
from .db import get_db
from .i18n import browser_choice, native_name
from .present import screen_page

bp = Blueprint("collect", __name__, url_prefix="/f")
CONTROL_FIELDS = {"csrf_token", "_action", "_screen", "_uuid"}


def _token(form_id: str) -> str | None:
    return session.get("drafts", {}).get(form_id)


def _remember(form_id: str, token: str | None):
    drafts = dict(session.get("drafts", {}))
    if token:
        drafts[form_id] = token
    else:
        drafts.pop(form_id, None)
    session["drafts"] = drafts


def _draft_or_fail(form_id: str) -> collect.Draft:
    draft = collect.resume(get_db(), form_id, _token(form_id))
    if draft is None:
        collect.open_form(get_db(), form_id)  # 404 for a form that does not exist
        raise FieldkitError("draft_missing")
    g.lang = draft.language
    return draft


def _to_current(form_id: str):
    return redirect(url_for("collect.screen", form_id=form_id), code=303)


@bp.get("/<form_id>")
@access("public")
def start_page(form_id):
    db = get_db()
    draft = collect.resume(db, form_id, _token(form_id))
    form = collect.open_form(db, form_id, for_new_answers=draft is None)
    event = collect.event_for(db, form_id, request.args.get("e"))
    asked = request.args.get("lang")
    if draft and asked not in form.languages:
        return _to_current(form_id)
    g.lang = asked if asked in form.languages else browser_choice(form.languages, form.default_language)
    languages = [{"code": code, "name": native_name(code), "preferred": code == g.lang}
                 for code in sorted(form.languages, key=lambda c: c != g.lang)]
    return render_template("collect/start.html", form=form, title=form.title.get(g.lang, ""),
                           languages=languages, resuming=draft is not None, event=event)


@bp.post("/<form_id>/start")
@access("public")
def start(form_id):
    db = get_db()
    draft = collect.resume(db, form_id, _token(form_id))
    form = collect.open_form(db, form_id, for_new_answers=draft is None)
    lang = request.form.get("lang", "")
    if (lang not in form.languages or any(len(request.form.getlist(k)) != 1 for k in request.form)
            or set(request.form) - {"lang", "csrf_token", "e"}):
        raise FieldkitError("bad_request")
    event = collect.event_for(db, form_id, request.form.get("e"))
    if draft:
        collect.set_language(db, draft, lang)
    else:
        draft = collect.start(db, form, lang, event["id"] if event else None)
        _remember(form_id, draft.token)
    return _to_current(form_id)


@bp.get("/<form_id>/q")
@access("public")
def screen(form_id):
    draft = _draft_or_fail(form_id)
    if draft.at_end:
        return render_template("collect/review.html", form=draft.form, draft=draft,
                               title=draft.form.title.get(draft.language, ""))
    return screen_page(draft)


@bp.post("/<form_id>/q")
@access("public")
def answer(form_id):
    draft = _draft_or_fail(form_id)
    action = request.form.get("_action", "next")
    index = request.form.get("_screen", "")
    # ASCII digits only: str.isdigit() also accepts '²', which int() refuses.
    if action not in ("next", "back") or not (index.isascii() and index.isdigit()):
        raise FieldkitError("bad_request")
    if int(index) > len(draft.form.screens) or (int(index) == len(draft.form.screens) and action != "back"):
        raise FieldkitError("bad_request")
    if int(index) == len(draft.form.screens):  # Back from the review page
        collect.back_from_end(get_db(), draft)
        return _to_current(form_id)
    posted = {k: request.form.getlist(k) for k in request.form if k not in CONTROL_FIELDS}
    result = collect.answer_screen(get_db(), draft, int(index), posted, action)
    if action == "next" and (result.errors or result.appeared):
        status = 422 if result.errors else 200
        return screen_page(draft, result), status
    return _to_current(form_id)


@bp.post("/<form_id>/submit")
@access("public")
def submit(form_id):
    db = get_db()
    uuid = request.form.get("_uuid", "")
    draft = collect.resume(db, form_id, _token(form_id))
    if draft is None:
        # A double tap or a resend after the answers were already committed.
        if uuid and uuid == session.get("submitted") and collect.submitted(db, uuid):
            return redirect(url_for("collect.done", form_id=form_id), code=303)
        collect.open_form(db, form_id)
        raise FieldkitError("draft_missing")
    if uuid != draft.row["uuid"]:
        raise FieldkitError("bad_request")
    outcome, _screen = collect.submit(db, draft, current_app.config["DEVICE_ID"])
    if outcome == "invalid":
        return _to_current(form_id)
    _remember(form_id, None)
    session["submitted"] = draft.row["uuid"]
    session["lang"] = draft.language
    return redirect(url_for("collect.done", form_id=form_id), code=303)


@bp.get("/<form_id>/done")
@access("public")
def done(form_id):
    form = collect.open_form(get_db(), form_id)
    g.lang = session.get("lang") or browser_choice(form.languages, form.default_language)
    return render_template("collect/done.html", form=form, title=form.title.get(g.lang, ""))
