"""Static files under content-hashed names, cached by phones for a year, and
responses compressed: on a crowded venue wifi every byte costs.

`asset("fieldkit.css")` gives /a/fieldkit.3f2a9c1b.css; a change to the file
changes its name, so a phone never keeps a stale copy and never asks twice.
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import mimetypes
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, request, send_from_directory
from flask_compress import Compress

from .auth import access

bp = Blueprint("assets", __name__)
YEAR = 365 * 24 * 60 * 60
# Not font/woff2: it is brotli-compressed inside, and gzip made the Amharic font 28 bytes larger.
COMPRESSED = ["text/html", "text/css", "application/javascript", "text/javascript", "image/svg+xml",
              "application/json", "text/csv"]


def _names(folder: Path) -> dict[str, tuple[str, bytes]]:
    """hashed name -> (file name, its gzip bytes), for every file in the static folder.
    Compressed once at start-up, at the highest level, instead of on every request."""
    table = {}
    for path in folder.iterdir():
        if path.is_file():
            data = path.read_bytes()
            digest = hashlib.sha256(data).hexdigest()[:10]
            table[f"{path.stem}.{digest}{path.suffix}"] = (path.name, gzip.compress(data, 9, mtime=0))
    return table


def asset(name: str) -> str:
    return current_app.extensions["fieldkit_assets"][name]


@bp.get("/a/<name>")
@access("public")
def serve(name):
    table = current_app.extensions["fieldkit_asset_files"]
    if name not in table:
        abort(404)
    filename, compressed = table[name]
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        response = Response(compressed, mimetype=mimetypes.guess_type(filename)[0])
        response.headers["Content-Encoding"] = "gzip"
    else:
        response = send_from_directory(current_app.static_folder, filename)
    response.headers["Vary"] = "Accept-Encoding"
    response.cache_control.public = True
    response.cache_control.max_age = YEAR
    response.cache_control.immutable = True
    return response


@functools.lru_cache(maxsize=256)
def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header takes gzip (as Flask-Compress decides with
    gzip its only algorithm: the best quality wins, `*` stands for gzip, identity
    can outrank it, q=0 refuses). A phone sends the same header every time."""
    quality = {}
    for part in accept_encoding.lower().split(","):
        name, _, params = part.partition(";")
        value = 1.0
        for param in params.split(";"):
            key, _, number = param.strip().partition("=")
            if key == "q":
                try:
                    value = float(number)
                except ValueError:
                    value = 1.0
        quality[name.strip()] = value
    gzip_q = quality.get("gzip", quality.get("*", 0.0))
    return gzip_q > 0 and gzip_q >= quality.get("identity", 0.0)


def compress_response(response):
    """Flask-Compress's after_request, on the path every page takes.

    The same decisions (Vary, gzip only when asked, only the listed types, 2xx,
    not already encoded, not under COMPRESS_MIN_SIZE; a strong ETag gets ":gzip";
    conditional requests still answered 304), without the work that did nothing
    for a page: parsing Accept-Encoding anew on every request, and
    make_conditional on responses with no ETag or Last-Modified (it only adds a
    Date header, which waitress adds anyway). Streamed responses (exports) go to
    Flask-Compress itself, which compresses them as they stream."""
    if response.is_streamed:
        return current_app.extensions["fieldkit_compress"].after_request(response)
    vary = response.headers.get("Vary")
    if not vary:
        response.headers["Vary"] = "Accept-Encoding"
    elif "accept-encoding" not in vary.lower():
        response.headers["Vary"] = f"{vary}, Accept-Encoding"
    config = current_app.config
    if (not 200 <= response.status_code < 300
            or response.mimetype not in current_app.extensions["fieldkit_compress_types"]
            or "Content-Encoding" in response.headers
            or not accepts_gzip(request.headers.get("Accept-Encoding", ""))):
        return response
    response.direct_passthrough = False  # a file sent by send_file: read it here, as Flask-Compress does
    data = response.get_data()
    if len(data) < config["COMPRESS_MIN_SIZE"]:
        return response
    response.set_data(gzip.compress(data, config["COMPRESS_LEVEL"], mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    etag, weak = response.get_etag()
    if etag and not weak:
        response.set_etag(f"{etag}:gzip", weak=False)
    if (etag or "Last-Modified" in response.headers) and request.method in ("GET", "HEAD"):
        response.make_conditional(request)
    return response


def init_app(app):
    files = _names(Path(app.static_folder))
    app.extensions["fieldkit_asset_files"] = files
    app.extensions["fieldkit_assets"] = {plain: f"/a/{hashed}" for hashed, (plain, _) in files.items()}
    app.jinja_env.globals["asset"] = asset
    app.register_blueprint(bp)
    app.config.setdefault("COMPRESS_MIMETYPES", COMPRESSED)
    app.config.setdefault("COMPRESS_LEVEL", 9)
    app.config.setdefault("COMPRESS_MIN_SIZE", 300)
    app.config.setdefault("COMPRESS_ALGORITHM", ["gzip"])
    app.config.setdefault("COMPRESS_ALGORITHM_STREAMING", ["gzip"])  # exports: every browser has gzip
    app.config.setdefault("COMPRESS_REGISTER", False)  # compress_response calls it for streamed responses
    app.extensions["fieldkit_compress"] = Compress(app)
    app.extensions["fieldkit_compress_types"] = frozenset(app.config["COMPRESS_MIMETYPES"])
    app.after_request(compress_response)
