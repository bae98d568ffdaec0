"""Participants: /f/<key> -> language -> consent -> screens -> submit -> thank you.

Every step is a plain HTML form POST followed by a redirect, so it all works
with JavaScript switched off, and a reload never resends answers. <key> is the
form's public_id (its form_id unless the form names a neutral one).
"""
from flask import Blueprint, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import gettext

from ..errors import FieldkitError
from ..forms.engine import Page
from ..forms.media import MAX_UPLOAD_BYTES
from ..services import collect, help as help_service
from .auth import access
from .db import get_db
from .fonts import stylesheet_url
from .i18n import browser_choice, native_name
from .present import list_page, screen_page

bp = Blueprint("collect", __name__, url_prefix="/f")


CONTROL_FIELDS = {"csrf_token", "_action", "_screen", "_instance", "_uuid", "_seen"}


def _token(form_id: str) -> str | None:
    drafts = session.get("drafts")
    return drafts.get(form_id) if isinstance(drafts, dict) else None


def _remember(form_id: str, token: str | None):
    drafts = dict(session.get("drafts") or {})
    if token:
        drafts[form_id] = token
    else:
        drafts.pop(form_id, None)
    session["drafts"] = drafts


def _draft_or_fail(key: str) -> collect.Draft:
    form = collect.open_form(get_db(), key)  # 404 for a form that does not exist
    draft = collect.resume(get_db(), form.form_id, _token(form.form_id))
    if draft is None:
        raise FieldkitError("draft_missing")
    g.lang = draft.language
    g.font_css = stylesheet_url(draft.form, g.lang)
    g.help_url = url_for("collect.help_page", form_id=key)
    return draft


def _to(endpoint: str, key: str):
    return redirect(url_for(endpoint, form_id=key), code=303)


def _entry(key: str):
    """The form a participant URL names and this phone's draft of it; a closed
    form still lets a participant who already started finish."""
    db = get_db()
    form = collect.open_form(db, key)
    draft = collect.resume(db, form.form_id, _token(form.form_id))
    if draft is None:
        collect.require_open(db, form)
    return db, form, draft


def _pending(form) -> dict | None:
    """A participant who chose a language but has not yet answered the consent screen."""
    pending = session.get("pending")
    if isinstance(pending, dict) and pending.get("form_id") == form.form_id and pending.get("lang") in form.languages:
        return pending
    return None


@bp.get("/<form_id>")
@access("public")
def start_page(form_id):
    db, form, draft = _entry(form_id)
    event = collect.event_for(db, form.form_id, request.args.get("e"))
    asked = request.args.get("lang")
    if draft and asked not in form.languages:
        return _to("collect.screen", form_id)
    g.lang = asked if asked in form.languages else browser_choice(form.languages, form.default_language)
    g.font_css = stylesheet_url(form, g.lang, chooser=True)
    g.help_url = url_for("collect.help_page", form_id=form_id, e=event["code"] if event else None)
    languages = [{"code": code, "name": native_name(code, form), "preferred": code == g.lang}
                 for code in sorted(form.languages, key=lambda c: c != g.lang)]
    return render_template("collect/start.html", form=form, title=form.shown_title(g.lang),
                           languages=languages, resuming=draft is not None, event=event)


@bp.post("/<form_id>/start")
@access("public")
def start(form_id):
    db, form, draft = _entry(form_id)
    lang = request.form.get("lang", "")
    if (lang not in form.languages or any(len(request.form.getlist(k)) != 1 for k in request.form)
            or set(request.form) - {"lang", "csrf_token", "e"}):
        raise FieldkitError("bad_request")
    event = collect.event_for(db, form.form_id, request.form.get("e"))
    if draft:
        collect.set_language(db, draft, lang)
        return _to("collect.screen", form_id)
    # Nothing is written to the laptop until the participant has agreed.
    session["pending"] = {"form_id": form.form_id, "lang": lang, "event_id": event["id"] if event else None}
    return _to("collect.consent_page", form_id)


@bp.get("/<form_id>/consent")
@access("public")
def consent_page(form_id):
    form = collect.open_form(get_db(), form_id, for_new_answers=True)
    pending = _pending(form)
    if pending is None:
        return _to("collect.start_page", form_id)
    g.lang = pending["lang"]
    g.font_css = stylesheet_url(form, g.lang)
    g.help_url = url_for("collect.help_page", form_id=form_id)
    return render_template("collect/consent.html", form=form, title=form.shown_title(g.lang),
                           text=collect.consent_text(form, g.lang).render(gettext))


@bp.post("/<form_id>/consent")
@access("public")
def consent(form_id):
    db = get_db()
    form = collect.open_form(db, form_id, for_new_answers=True)
    pending = _pending(form)
    choice = request.form.get("consent")
    if pending is None:
        raise FieldkitError("session_expired")
    if choice not in ("yes", "no") or set(request.form) - {"consent", "csrf_token"}:
        raise FieldkitError("bad_request")
    session.pop("pending")
    if choice == "no":
        session["lang"], session["event_id"] = pending["lang"], pending["event_id"]
        return _to("collect.declined", form_id)
    draft = collect.start(db, form, pending["lang"], pending["event_id"])
    _remember(form.form_id, draft.token)
    return _to("collect.screen", form_id)


@bp.get("/<form_id>/q")
@access("public")
def screen(form_id):
    draft = _draft_or_fail(form_id)
    page, state = collect.current_page(draft)
    if page.screen >= len(draft.form.screens):
        return render_template("collect/review.html", form=draft.form, draft=draft,
                               title=draft.form.shown_title(draft.language))
    return _page(draft, page, state=state)


def _page(draft, page, result=None, state=None):
    """A page of questions, or a repeat's list page; state: of the draft's answers, if known."""
    if page.is_list:
        return list_page(draft, page, result, state)
    return screen_page(draft, result, page, state)


@bp.post("/<form_id>/q")
@access("public")
def answer(form_id):
    draft = _draft_or_fail(form_id)
    action = request.form.get("_action", "next")
    # _instance: which instance of each repeat around the page ("2.1"; ASCII digits only:
    # str.isdigit() also accepts '²', which int() refuses). Actions beyond next and back
    # (add, edit-2, remove-2) are for a repeat's list page.
    page = Page.decode(request.form.get("_screen", ""), request.form.get("_instance", ""))
    if len(action) > 20 or page is None:
        raise FieldkitError("bad_request")
    ends = len(draft.form.screens)
    if page.screen > ends or (page.screen == ends and (action != "back" or page.path)):
        raise FieldkitError("bad_request")
    if page.screen == ends:  # Back from the review page
        collect.back_from_end(get_db(), draft)
        return _to("collect.screen", form_id)
    posted = {k: request.form.getlist(k) for k in request.form if k not in CONTROL_FIELDS}
    # _seen: the questions the page showed when sent (JavaScript shows them as they
    # become relevant); the server still checks every one of them.
    seen = frozenset(request.form.get("_seen", "").split()[:500])
    uploads = {}
    for name in request.files:
        files = [f for f in request.files.getlist(name) if f.filename]
        if len(files) > 1:
            raise FieldkitError("bad_request")
        if files:
            uploads[name] = (files[0].filename, files[0].read(MAX_UPLOAD_BYTES + 1))
    result = collect.answer_screen(get_db(), draft, page, posted, action, seen=seen, uploads=uploads)
    if action != "back" and (result.errors or result.appeared):
        status = 422 if result.errors else 200
        return _page(draft, page, result), status
    return _to("collect.screen", form_id)


@bp.post("/<form_id>/submit")
@access("public")
def submit(form_id):
    db = get_db()
    form = collect.open_form(db, form_id)
    uuid = request.form.get("_uuid", "")
    draft = collect.resume(db, form.form_id, _token(form.form_id))
    if draft is None:
        # A double tap, Submit sent four times by a flaky wifi, or a resend after the laptop
        # restarted: the answers are kept, so the participant is thanked, never told to start again.
        token = _token(form.form_id)
        if (uuid and uuid == session.get("submitted") and collect.submitted(db, uuid)) or \
                collect.already_submitted(db, token, uuid):
            _remember(form.form_id, None)
            session["submitted"] = uuid
            return _to("collect.done", form_id)
        raise FieldkitError("draft_missing")
    if uuid != draft.row["uuid"]:
        raise FieldkitError("bad_request")
    outcome, _screen = collect.submit(db, draft, current_app.config["DEVICE_ID"])
    if outcome == "invalid":
        return _to("collect.screen", form_id)
    _remember(form.form_id, None)
    session.update(submitted=draft.row["uuid"], lang=draft.language, event_id=draft.row.get("event_id"))
    return _to("collect.done", form_id)


def _closing(form_id: str, template: str):
    """Thank you, or declined: the help resources are shown to everyone, so
    seeing them says nothing about what a participant answered."""
    db = get_db()
    form = collect.open_form(db, form_id)
    lang = session.get("lang")
    g.lang = lang if lang in form.languages else browser_choice(form.languages, form.default_language)
    g.font_css = stylesheet_url(form, g.lang)
    g.help_url = url_for("collect.help_page", form_id=form.key)  # in the same place on every page
    resources = help_service.for_event(db, session.get("event_id"), g.lang, gettext)
    kiosk = url_for("collect.kiosk", form_id=form_id, e=session.get("kiosk_event")) \
        if session.get("kiosk") == form.form_id else None
    return render_template(template, form=form, title=form.shown_title(g.lang), resources=resources,
                           kiosk_url=kiosk)


@bp.get("/<form_id>/kiosk")
@access("laptop")
def kiosk(form_id):
    """Kiosk mode, for participants without a phone: the laptop's own screen hosts
    the form. Each visit starts a clean session, so nothing is left from the
    previous person; the thank-you page comes back here by itself."""
    db = get_db()
    form = collect.open_form(db, form_id, for_new_answers=True)
    event = collect.event_for(db, form.form_id, request.args.get("e"))
    drafts = session.get("drafts")
    for token in (drafts.values() if isinstance(drafts, dict) else []):
        if isinstance(token, str):
            collect.discard(db, token)
    session.clear()
    session.update(kiosk=form.form_id, kiosk_event=event["code"] if event else None)
    return redirect(url_for("collect.start_page", form_id=form_id, e=event["code"] if event else None), code=303)


@bp.get("/<form_id>/done")
@access("public")
def done(form_id):
    return _closing(form_id, "collect/done.html")


@bp.get("/<form_id>/declined")
@access("public")
def declined(form_id):
    return _closing(form_id, "collect/declined.html")


@bp.get("/<form_id>/help")
@access("public")
def help_page(form_id):
    """Help, reachable from the same place on every screen; it keeps the answers."""
    db = get_db()
    form = collect.open_form(db, form_id)
    draft = collect.resume(db, form.form_id, _token(form.form_id))
    pending = _pending(form)
    event = collect.event_for(db, form.form_id, request.args.get("e"))
    if draft:
        g.lang, event_id = draft.language, draft.row.get("event_id")
    elif pending:
        g.lang, event_id = pending["lang"], pending["event_id"]
    else:
        g.lang = browser_choice(form.languages, form.default_language)
        event_id = event["id"] if event else None
    g.font_css = stylesheet_url(form, g.lang)
    g.help_url = url_for("collect.help_page", form_id=form_id)
    back = url_for("collect.screen" if draft else "collect.consent_page" if pending else "collect.start_page",
                   form_id=form_id)
    # "your answers so far are kept" only while there are answers in progress (not after Submit)
    return render_template("collect/help.html", form=form, title=form.shown_title(g.lang), back=back,
                           in_progress=draft is not None,
                           resources=help_service.for_event(db, event_id, g.lang, gettext))
