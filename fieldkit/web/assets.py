"""Static files under content-hashed names, cached by phones for a year, and
responses compressed: on a crowded venue wifi every byte costs.

`asset("fieldkit.css")` gives /a/fieldkit.3f2a9c1b.css; a change to the file
changes its name, so a phone never keeps a stale copy and never asks twice.
"""
from __future__ import annotations

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
    Compress(app)
