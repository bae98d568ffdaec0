"""A form's images and audio, for the participant pages: stored bytes named by
their hash, so a phone downloads each file once and keeps it."""
from flask import Blueprint, Response, abort

from ..store import forms as form_store
from .auth import access
from .db import get_db
from .fonts import _for_a_year

bp = Blueprint("media", __name__, url_prefix="/a/media")


@bp.get("/<digest>")
@access("public")
def media(digest):
    if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
        abort(404)
    found = form_store.media_file(get_db(), digest)
    if found is None:
        abort(404)
    content_type, data = found
    response = _for_a_year(Response(data, mimetype=content_type))
    response.headers["Content-Disposition"] = "inline"
    return response
