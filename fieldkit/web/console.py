"""The coordinators' console: forms, submissions, activity."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, abort, current_app, g, redirect, render_template, request, session, url_for
from markupsafe import Markup
from flask_babel import format_decimal, gettext

from .. import crypto
from ..errors import FieldkitError
from ..forms import engine
from ..forms.model import Question, text_in
from ..forms.xlsform import MISSING_FILE, FormImportError, Problem
from ..messages import Message, N_
from ..services import export as export_service, forms as form_service, overview as overview_service, poster
from ..store import attachments as store_attachments, audit, events as event_store, forms as form_store, \
    submissions
from . import areas
from .auth import access, current_user
from .db import get_db, open_read_connection
from .events import public_url
from .i18n import native_name, show_value
from .present import instance_label

bp = Blueprint("console", __name__, url_prefix="/console")
PAGE_SIZE = 50


@bp.before_app_request
def console_language():
    """The console's language: chosen in the page (remembered), else the browser's."""
    if not areas.is_console():
        return
    languages = current_app.config["LANGUAGES"]
    asked = request.args.get("lang")
    if asked in languages:
        session["console_lang"] = asked
    g.lang = session.get("console_lang") or request.accept_languages.best_match(languages) or languages[0]


@bp.app_context_processor
def console_context():
    if not areas.is_console():
        return {}
    return {"console_languages": [(c, native_name(c)) for c in current_app.config["LANGUAGES"]]}


def form_or_404(form_id: str):
    form = form_store.current_form(get_db(), form_id)
    if form is None:
        raise FieldkitError("form_not_found")
    return form


def label(form, text: dict) -> str:
    """A form's text in the console's language, else the form's default."""
    return text_in(text, g.lang, form.default_language)


def answer_text(form, q, value) -> str:
    if isinstance(value, list):  # a repeat: how many instances (they are listed on the submission's page)
        return format_decimal(len(value))
    if value == "" or not isinstance(value, str):
        return ""
    if q.type in ("select_one", "select_multiple", "rank"):
        return ", ".join(form.choice_label(q, v, g.lang) or v for v in value.split())
    return show_value(q.type, value)


@bp.get("/")
@access("facilitator")
def home():
    return render_template("console/home.html", **_home_context(get_db()))


def _home_context(db, **extra) -> dict:
    """The overview first (today's answers per event, forms open, last sync, disk
    space), then the forms and the latest events."""
    from .sync_console import view_status  # the sync page's own account of its last run
    return dict(forms=form_store.list_forms(db), events=event_store.list_events(db)[:5],
                overview=overview_service.overview(db, current_app.config["DATA_DIR"]),
                sync_status=view_status(db), **extra)


@bp.app_template_filter("gigabytes")
def gigabytes(size: int) -> str:
    return format_decimal(round(size / 1e9, 1 if size < 1e11 else 0))


@bp.post("/forms")
@access("coordinator")
def upload():
    """Add an XLSForm from the browser; problems come back with sheet, row and column."""
    db = get_db()
    upload = request.files.get("xlsform")
    if upload is None or not upload.filename:
        return render_template("console/home.html", **_home_context(
            db, problems=[gettext("Choose an XLSForm file to upload.")])), 400
    data = upload.read(form_service.MAX_FORM_BYTES + 1)
    media = {f.filename: f.read() for f in request.files.getlist("media") if f.filename}
    try:
        imported = form_service.import_form(db, data, upload.filename, media=media,
                                            actor=current_user()["username"], via="console")
    except FormImportError as error:
        return render_template("console/home.html", **_home_context(
            db, upload_name=upload.filename, problems=[p.render(gettext) for p in error.problems])), 422
    form = imported.form
    return redirect(url_for("console.form_page", form_id=form.form_id, added=imported.outcome), code=303)


@bp.get("/forms/<form_id>")
@access("facilitator")
def form_page(form_id):
    return render_template("console/form.html", **_form_page_context(form_or_404(form_id)))


def _form_page_context(form) -> dict:
    db, form_id = get_db(), form.form_id
    link = f"{public_url()}/f/{form.key}"
    return dict(form=form, title=label(form, form.title),
                participant_link=link, kiosk_link=url_for("collect.kiosk", form_id=form.key),  # the laptop's own screen
                participant_qr=Markup(poster.svg(link, gettext("QR code to open the survey: %(link)s", link=link))),
                collecting=[e for e in event_store.list_events(db) if form_id in e["forms"]],
                status=form_store.form_status(db, form_id), versions=form_store.all_versions(db, form_id),
                export_events=event_store.list_events(db), export_formats=export_formats(),
                encrypted=bool(form_store.public_key(db, form_id) or submissions.first_sealed(db, form_id)),
                count=submissions.count_submissions(db, form_id), added=request.args.get("added"),
                languages=[(c, native_name(c, form)) for c in form.languages],
                warnings=[Problem.from_dict(w).render(gettext) for w in form.warnings],
                waiting=any(w["text"] == MISSING_FILE for w in form.warnings))


@bp.post("/forms/<form_id>/files")
@access("coordinator")
def attach_files(form_id):
    """Files the form names that it was added without: attached to its current version."""
    form_or_404(form_id)
    media = {f.filename: f.read() for f in request.files.getlist("media") if f.filename}
    try:
        form_service.attach(get_db(), form_id, media, actor=current_user()["username"])
    except FormImportError as error:
        form = form_or_404(form_id)
        return render_template("console/form.html", **_form_page_context(form),
                               problems=[p.render(gettext) for p in error.problems]), 422
    return redirect(url_for("console.form_page", form_id=form_id), code=303)


@bp.post("/forms/<form_id>/status")
@access("coordinator")
def set_status(form_id):
    form_or_404(form_id)
    status = request.form.get("status")
    if status not in ("open", "closed"):
        raise FieldkitError("bad_request")
    form_service.set_status(get_db(), form_id, status, actor=current_user()["username"])
    return redirect(url_for("console.form_page", form_id=form_id), code=303)


@bp.get("/forms/<form_id>/preview")
@access("coordinator")
def preview(form_id):
    from .preview import preview_screens
    form = form_or_404(form_id)
    lang = request.args.get("in") if request.args.get("in") in form.languages else form.default_language
    return render_template("console/preview.html", form=form, title=text_in(form.title, lang, form.default_language),
                           screens=preview_screens(form, lang), form_lang=lang,
                           languages=[(c, native_name(c, form)) for c in form.languages])


@bp.get("/forms/<form_id>/submissions")
@access("coordinator")
def submissions_page(form_id):
    db = get_db()
    form = form_or_404(form_id)
    filters = event_filter(db)
    total = submissions.count_filtered(db, form_id, **filters)
    page = max(1, request.args.get("page", 1, type=int) or 1)
    pages = max(1, -(-total // PAGE_SIZE))
    if page > pages:
        abort(404)
    questions = [q for q in form.questions.values() if q.type != "note" and q.repeat is None]
    questions += [Question(name=name, type="repeat", label=r.label) for name, r in form.repeats.items()]
    rows = []
    sealed = False
    for sub in submissions.iter_filtered(db, form_id, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE,
                                         newest_first=True, **filters):
        sealed = sealed or crypto.is_sealed(sub["answers"])
        rows.append({"uuid": sub["uuid"], "submitted_at": sub["submitted_at"], "language": sub["language"],
                     "version": sub["form_version"], "device": sub.get("device_name"),
                     "answers": [answer_text(form, q, sub["answers"].get(q.name, "")) for q in questions]})
    return render_template("console/submissions.html", form=form, title=label(form, form.title),
                           questions=[(q.name, label(form, q.label) or q.name) for q in questions],
                           rows=rows, page=page, pages=pages, total=total, sealed=sealed,
                           events=event_store.list_events(db), event_id=filters.get("event_id"))


@bp.get("/submissions/<uuid>")
@access("coordinator")
def submission(uuid):
    db = get_db()
    sub = submissions.get_submission(db, uuid)
    if sub is None:
        abort(404)
    form = form_store.form_version(db, sub["form_id"], sub["form_version"]) or form_or_404(sub["form_id"])
    items = answer_items(form, sub["answers"])
    event = event_store.get_event(db, sub["event_id"]) if sub.get("event_id") else None
    files = [dict(f, size=format_size(f["size"]), url=None if f["sealed"] else url_for(
        "console.attachment", uuid=uuid, name=f["name"])) for f in store_attachments.of_submission(db, uuid)]
    return render_template("console/submission.html", form=form, title=label(form, form.title), sub=sub,
                           items=items, event=event, sealed=crypto.is_sealed(sub["answers"]), files=files)


def format_size(size: int) -> str:
    return f"{format_decimal(round(size / 1024, 1))} KB"


@bp.get("/submissions/<uuid>/files/<name>")
@access("coordinator")
def attachment(uuid, name):
    """A file a participant attached, downloaded (never shown inline: it is not
    the console's to render), and the download recorded."""
    found = export_service.attachment_download(get_db(), uuid, name, actor=current_user()["username"])
    if found is None:
        abort(404)
    return Response(found["data"], mimetype="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def answer_items(form, answers: dict) -> list[tuple[str, str, str]]:
    """(label, name, answer) for each question; a repeat's instances one by one,
    each question labelled with its instance ("Adult 2 · Age")."""
    def of(repeat, row: dict, heads: list[str], path: str) -> list[tuple[str, str, str]]:
        found = [(" · ".join(heads + [label(form, q.label) or q.name]), path + q.name,
                  answer_text(form, q, row.get(q.name, ""))) for q in form.questions.values()
                 if q.type != "note" and q.repeat == repeat]
        for name, r in form.repeats.items():  # then each repeat inside, instance by instance
            if r.parent == repeat:
                for number, inner in enumerate(engine.given_rows(row, name), 1):
                    found += of(name, inner, heads + [instance_label(form, name, number, g.lang)],
                                f"{path}{name}[{number}]/")
        return found

    return of(None, answers, [], "")


@bp.get("/activity")
@access("coordinator")
def audit_log():
    return render_template("console/audit.html", entries=audit.recent(get_db()))


def export_formats() -> list[tuple[str, str]]:
    return [(name, gettext(fmt.label)) for name, fmt in export_service.FORMATS.items()]


@bp.route("/forms/<form_id>/export", methods=["GET", "POST"])
@access("coordinator")
def export(form_id):
    """The Export button: the same streaming code as `fieldkit export`, audited.
    An encrypted form's answers come with a POST carrying the private key file,
    which is used for this response alone and never stored."""
    db = get_db()
    form_or_404(form_id)
    name = request.values.get("format", "csv")
    fmt = export_service.FORMATS.get(name)
    if fmt is None:
        raise FieldkitError("bad_request")
    filters = event_filter(db)
    private_key = uploaded_private_key() if request.method == "POST" else None
    try:
        export_service.begin(db, form_id, name, current_user()["username"], "", private_key, **filters)
    except export_service.Sealed as sealed:
        if not private_key:
            raise FieldkitError("answers_encrypted") from None
        needs = sum(sealed.missing.values())
        keys = ", ".join(sorted(str(k) for k in sealed.missing if k)) or "?"
        raise FieldkitError("wrong_key", Message(N_("%(count)s answers need a private key that was not chosen "
                                                    "(%(keys)s). Choose every key the form has had; nothing "
                                                    "was exported."), {"count": needs, "keys": keys})) from None
    filename = f"{form_id}-{dt.date.today().isoformat()}.{fmt.extension}"
    # The body is read on a connection of its own, opened now (the request's is closed at teardown,
    # before the server reads a streamed body): the read replica's when there is one (the audit entry
    # above went to the database), closed when the response is.
    body_db = open_read_connection()
    response = Response(exported(body_db, fmt, form_id, dict(filters, private_key=private_key)),
                        mimetype=fmt.mimetype, headers={"Content-Disposition": f'attachment; filename="{filename}"'})
    response.call_on_close(body_db.close)
    return response


def uploaded_private_key():
    """The private key files chosen (one for each key the form has had), as one keyring."""
    uploads = [f for f in request.files.getlist("key") if f.filename][:10]
    if not uploads:
        raise FieldkitError("answers_encrypted")
    try:
        return crypto.Keyring([crypto.load_private_key(f.read(64 * 1024)) for f in uploads])
    except crypto.CryptoKeyError:
        raise FieldkitError("wrong_key") from None


def exported(db, fmt, form_id: str, filters: dict):
    yield from fmt.write(db, form_id, **filters)


@bp.post("/forms/<form_id>/public-key")
@access("coordinator")
def set_public_key(form_id):
    """Encrypt this form's answers from now on. A key can be replaced, never
    removed here: that would quietly stop protecting the next participants."""
    db = get_db()
    form_or_404(form_id)
    key = "".join(request.form.get("public_key", "").split())
    try:
        form_service.set_public_key(db, form_id, key, actor=current_user()["username"])
    except crypto.CryptoKeyError:
        raise FieldkitError("bad_public_key") from None
    return redirect(url_for("console.form_page", form_id=form_id), code=303)


def event_filter(db) -> dict:
    """?event=ID from the query string, checked against the events that exist."""
    raw = request.values.get("event", "")
    if not raw:
        return {}
    if not raw.isdigit() or event_store.get_event(db, int(raw)) is None:
        raise FieldkitError("bad_request")
    return {"event_id": int(raw)}
