"""The sync API a central offers its devices: JSON over HTTP, bearer tokens.

Documented in sync/openapi.yaml (tests/test_sync_api.py holds the two together).
A batch is committed in one transaction before the 2xx answer is written, so a
2xx JSON answer is the proof a laptop needs to mark its copies synced."""
from __future__ import annotations

import json
import zlib

from flask import Blueprint, current_app, g, jsonify, request

from .. import __version__
from ..errors import FieldkitError
from ..messages import N_
from ..services import sync as sync_service
from ..store import devices, sync as sync_store
from .auth import access
from .db import get_db
from .security import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # no cookies here: a bearer token cannot be sent by another site's page

MAX_BATCH = 1000  # submissions in one batch
MAX_BATCH_BYTES = 16 * 1024 * 1024  # a batch's JSON once decompressed


def _not_json(constant: str):
    """NaN and Infinity: Python's json reads them, JSON (and PostgreSQL's jsonb) has none."""
    raise ValueError(f"{constant} is not JSON")


def limit(name: str, default: int) -> int:
    return int(current_app.config.get(name) or default)


@bp.after_request
def bearer_challenge(response):
    if response.status_code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="fieldkit"'
    return response


def gunzip(data: bytes, cap: int) -> bytes:
    """Decompress at most cap bytes: a small gzip body can hold gigabytes of zeros."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, cap + 1)
    except zlib.error:
        raise sync_service.bad(N_("Not a valid batch: the gzip body is damaged.")) from None
    if len(out) > cap:
        raise FieldkitError("too_large")
    if not inflater.eof:
        raise sync_service.bad(N_("Not a valid batch: the gzip body is cut short."))
    return out


def json_body():
    if request.mimetype != "application/json":
        raise FieldkitError("unsupported_media")
    cap = limit("SYNC_MAX_BATCH_BYTES", MAX_BATCH_BYTES)
    # A batch may be larger than the console's upload limit: one attached photo is
    # megabytes. Its own cap applies, before and after gzip.
    request.max_content_length = cap
    raw = request.get_data(cache=False)
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding == "gzip":
        raw = gunzip(raw, cap)
    elif encoding not in ("", "identity"):
        raise FieldkitError("unsupported_media")
    if len(raw) > cap:
        raise FieldkitError("too_large")
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_not_json)
    except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested past Python's stack
        raise sync_service.bad(N_("Not a valid batch: the body is not JSON.")) from None
    if not nested_at_most(body, MAX_DEPTH):
        raise sync_service.bad(N_("Not a valid batch: it is nested too deeply."))
    return body


# A batch is {submissions: [{answers: {repeat: [{...}]}, attachments: [...]}]}: a handful of
# levels. Anything deeper is not a batch, and would make later steps recurse.
MAX_DEPTH = 32


def nested_at_most(value, depth: int) -> bool:
    """Whether a parsed JSON value nests no deeper than depth, found without recursion."""
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if level > depth:
            return False
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return True


@bp.get("/device")
@access("device")
def device():
    """Who am I to the central: used by `fieldkit link` to check a token."""
    devices.seen(get_db(), g.device["name"])
    return jsonify({"server": "fieldkit", "version": __version__, "device": g.device["name"],
                    "max_batch": limit("SYNC_MAX_BATCH", MAX_BATCH),
                    "max_batch_bytes": limit("SYNC_MAX_BATCH_BYTES", MAX_BATCH_BYTES)})


@bp.post("/submissions")
@access("device")
def push():
    body = json_body()
    results = sync_service.receive(get_db(), g.device["name"], body, limit("SYNC_MAX_BATCH", MAX_BATCH))
    # Only reached once the batch's transaction has committed.
    return jsonify({"results": results, "received": len(results)})


@bp.get("/forms")
@access("device")
def forms():
    db = get_db()
    devices.seen(db, g.device["name"])
    return jsonify({"forms": sync_store.published_versions(db)})


@bp.get("/forms/<form_id>/versions/<version>")
@access("device")
def form_version(form_id, version):
    found = sync_service.form_download(get_db(), form_id, version)
    if found is None:
        raise FieldkitError("form_not_found")
    return jsonify(found)
