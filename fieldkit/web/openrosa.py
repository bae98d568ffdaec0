"""OpenRosa for ODK Collect and ODK Web Forms (issue 17): this laptop as their server on the
local wifi. Under each collector's URL, /collect/<token>/ (services/collectors.py):

- GET formList: the open forms (OpenRosa Form List API), each with the md5 of its XForm;
- GET forms/<id>/<version>/form.xml: the XForm pyxform made at import, byte for byte;
- GET forms/<id>/<version>/manifest and .../media/<name>: its media files;
- HEAD submission: 204 and the largest body accepted; POST submission: the instance XML
  (xml_submission_file) and its files (OpenRosa Form Submission API), answered with an
  OpenRosa response document once stored.

Every answer carries X-OpenRosa-Version: 1.0; errors are OpenRosa response documents too,
with the problem number from the error catalogue (web/errors.py calls error_document).
https://docs.getodk.org/openrosa-http/, openrosa-form-list/, openrosa-form-submission/
"""
from __future__ import annotations

import email.utils
import hashlib
import xml.etree.ElementTree as ET

from flask import Blueprint, Response, current_app, g, request, url_for
from flask_babel import gettext

from ..errors import FieldkitError
from ..messages import N_
from ..services import openrosa as openrosa_service
from .auth import access
from .db import get_db
from .security import csrf

bp = Blueprint("openrosa", __name__, url_prefix="/collect/<collector_token>")
csrf.exempt(bp)  # no cookies here: the token is in the URL Collect was given

FORM_LIST = "http://openrosa.org/xforms/xformsList"
MANIFEST = "http://openrosa.org/xforms/xformsManifest"
RESPONSE = "http://openrosa.org/http/response"


def max_body() -> int:
    """The largest POST taken (OPENROSA_MAX_BODY): Collect sends a larger submission in several."""
    return int(current_app.config["OPENROSA_MAX_BODY"])


@bp.url_value_preprocessor
def keep_token(endpoint, values):
    g.collector_token = values.pop("collector_token", None)


@bp.url_defaults
def add_token(endpoint, values):
    if "collector_token" not in values and g.get("collector_token"):
        values["collector_token"] = g.collector_token


@bp.after_request
def openrosa_headers(response: Response) -> Response:
    response.headers["X-OpenRosa-Version"] = "1.0"
    response.headers.setdefault("Date", email.utils.formatdate(usegmt=True))
    return response


def xml_response(root: ET.Element, status: int = 200) -> Response:
    body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return Response(body, status=status, content_type="text/xml; charset=utf-8")


def response_document(nature: str, text: str, status: int) -> Response:
    root = ET.Element("OpenRosaResponse", {"xmlns": RESPONSE})
    ET.SubElement(root, "message", {"nature": nature}).text = text
    return xml_response(root, status)


def error_document(error: FieldkitError, text: str) -> Response:
    """An error as OpenRosa clients show it: Collect puts the message in front of the interviewer."""
    response = response_document("error", f"{text} ({gettext('Error %(number)s', number=error.problem)})", error.status)
    if error.code == "too_large":
        response.headers["X-OpenRosa-Accept-Content-Length"] = str(max_body())
    return openrosa_headers(response)  # also for a URL no route of this blueprint answers


def _element(parent: ET.Element, name: str, text: str | None) -> None:
    ET.SubElement(parent, name).text = text


@bp.get("/formList")
@access("collector")
def form_list():
    """The open forms; ?formID= narrows the list to one (OpenRosa Form List API)."""
    root = ET.Element("xforms", {"xmlns": FORM_LIST})
    for item in openrosa_service.offered(get_db(), request.args.get("formID") or None):
        form = item.form
        entry = ET.SubElement(root, "xform")
        _element(entry, "formID", form.form_id)
        # The public title where the form has one: a shared tablet should not name a sensitive topic either.
        _element(entry, "name", form.shown_title(form.default_language) or form.form_id)
        _element(entry, "version", form.version)
        _element(entry, "hash", f"md5:{item.md5}")
        _element(entry, "downloadUrl", url_for(".xform", form_id=form.form_id, version=form.version, _external=True))
        if item.media:
            _element(entry, "manifestUrl", url_for(".manifest", form_id=form.form_id, version=form.version,
                                                   _external=True))
    return xml_response(root)


def _offered(form_id: str, version: str):
    item = openrosa_service.offer(get_db(), form_id, version)
    if item is None:
        raise FieldkitError("form_not_found")
    return item


@bp.get("/forms/<form_id>/<version>/form.xml")
@access("collector")
def xform(form_id, version):
    item = _offered(form_id, version)
    return Response(item.xform.encode("utf-8"), content_type="text/xml; charset=utf-8",
                    headers={"ETag": f'"{item.md5}"'})


@bp.get("/forms/<form_id>/<version>/manifest")
@access("collector")
def manifest(form_id, version):
    item = _offered(form_id, version)
    root = ET.Element("manifest", {"xmlns": MANIFEST})
    for name in sorted(item.media):
        found = openrosa_service.media_file(get_db(), item, name)
        if found is None:
            continue
        entry = ET.SubElement(root, "mediaFile")
        _element(entry, "filename", name)
        _element(entry, "hash", f"md5:{hashlib.md5(found[1]).hexdigest()}")
        _element(entry, "downloadUrl", url_for(".media", form_id=form_id, version=version, name=name, _external=True))
    return xml_response(root)


@bp.get("/forms/<form_id>/<version>/media/<path:name>")
@access("collector")
def media(form_id, version, name):
    found = openrosa_service.media_file(get_db(), _offered(form_id, version), name)
    if found is None:
        raise FieldkitError("not_found")
    content_type, data = found
    return Response(data, content_type=content_type)


@bp.route("/submission", methods=["HEAD"])
@access("collector")
def submission_head():
    """Collect asks first: 204, and how large a POST may be."""
    return Response(status=204, headers={"X-OpenRosa-Accept-Content-Length": str(max_body())})


@bp.post("/submission")
@access("collector")
def submission():
    xml_part = request.files.get("xml_submission_file")
    if xml_part is None:
        raise openrosa_service.bad(N_("This submission has no xml_submission_file."))
    files = {}
    for field, part in request.files.items(multi=True):
        if field == "xml_submission_file":
            continue
        files[part.filename or field] = (part.mimetype, part.read())
    received = openrosa_service.receive(get_db(), g.collector["name"], xml_part.read(), files,
                                        current_app.config["DEVICE_ID"])
    if received.outcome == "conflict":
        text = gettext("Another interview with this ID is already on this laptop. This one is kept "
                       "beside it for the coordinator to review.")
        return response_document("submit_success", text, 202)
    text = gettext("Thank you: the interview is kept on this laptop.")
    return response_document("submit_success", text, 201)
