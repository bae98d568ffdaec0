"""One handler for every error: a page for people, JSON for machines."""
from flask import g, jsonify, render_template, request, session, url_for
from flask_babel import gettext, refresh
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..errors import FieldkitError
from ..services import collect
from ..store.forms import form_id_for_public
from . import areas
from .db import get_db
from ..forms.engine import InputError

HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large",
              415: "unsupported_media", 429: "rate_limited"}


def participant_language():
    """An error raised before the view found the draft (body too large, bad
    encoding, CSRF, a wrong _uuid) is still shown in the participant's language."""
    form_id = (request.view_args or {}).get("form_id")
    if g.get("lang") or not form_id or request.blueprint != "collect":
        return
    try:
        drafts = session.get("drafts")
        form_id = form_id_for_public(get_db(), form_id)  # the URL names the form by its public id
        draft = collect.resume(get_db(), form_id, drafts.get(form_id) if isinstance(drafts, dict) else None)
    except Exception:  # the error page must not fail in turn
        return
    if draft is not None:
        g.lang = draft.language
        refresh()


def render_error(error: FieldkitError):
    if error.status < 500:
        participant_language()
    text = error.message.render(gettext)
    part = areas.area()
    if part == areas.OPENROSA:
        from .openrosa import error_document
        return error_document(error, text)
    if part == areas.API or request.accept_mimetypes.best == "application/json":
        return jsonify({"error": {"code": error.code, "problem": error.problem, "message": text}}), error.status
    restart = None
    if error.code in ("draft_missing", "session_expired") and request.view_args and "form_id" in request.view_args:
        restart = url_for("collect.start_page", form_id=request.view_args["form_id"])
    layout = {areas.PARTICIPANT: "collect/base.html", areas.CONSOLE: "console/base.html"}.get(part, "base.html")
    return render_template("error.html", message=text, code=error.code, problem=error.problem, restart_url=restart,
                           layout=layout), error.status


def from_http(exc: HTTPException):
    code = HTTP_CODES.get(exc.code)
    if code is None:
        return exc
    return render_error(FieldkitError(code))


def init_app(app):
    app.register_error_handler(FieldkitError, render_error)
    app.register_error_handler(InputError, lambda e: render_error(FieldkitError("bad_request", e.message, e.status)))
    app.register_error_handler(CSRFError, lambda e: render_error(FieldkitError("session_expired")))
    app.register_error_handler(UnicodeDecodeError, lambda e: render_error(FieldkitError("bad_encoding")))
    app.register_error_handler(HTTPException, from_http)

    @app.errorhandler(Exception)
    def unexpected(exc):
        app.logger.exception("unexpected error")
        return render_error(FieldkitError("server_error"))
