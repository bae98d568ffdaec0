"""XLSForm question types -> fieldkit's, through pyxform's own type dictionary.

pyxform knows every alias a form may use (`string`, `gps`, `select1`, `phone number`,
`q picture`, ...) and what each becomes in the XForm (an input of type int, an upload
of image/*, a preload of the device id). fieldkit reads that, rather than a list of
names of its own, so an alias pyxform takes is an ordinary type here too.
"""
from __future__ import annotations

from ..messages import N_

# A type fieldkit knows by name (pyxform's canonical key for it).
NAMED = {
    "select one": "select_one", "select all that apply": "select_multiple", "note": "note",
    "acknowledge": "acknowledge", "calculate": "calculate", "range": "range", "rank": "rank",
    "hidden": "hidden", "start": "start", "end": "end", "today": "today", "deviceid": "deviceid",
    "trigger": "acknowledge",
}
# An input's XForm data type -> fieldkit's question type.
INPUTS = {"string": "text", "int": "integer", "decimal": "decimal", "date": "date", "time": "time",
          "dateTime": "dateTime", "geopoint": "geopoint", "geotrace": "geotrace", "geoshape": "geoshape",
          "barcode": "barcode"}
UPLOADS = {"image/*": "image", "audio/*": "audio", "video/*": "video", "application/*": "file"}
# Metadata that Collect reads from the device or the signed-in user: a phone's browser
# has none of them. Stored empty (phonenumber, username, email), or filled where fieldkit
# knows it (the laptop's device id).
PROPERTIES = {"deviceid": "deviceid", "username": "username", "email": "email", "phonenumber": "phonenumber",
              "simserial": "simserial", "subscriberid": "subscriberid"}
# Kept out of the form, each with why: the coordinator is warned at import.
IGNORED = {
    "audit": N_("the audit log of how the form was filled in is not kept by fieldkit"),
    "osm": N_("OpenStreetMap questions need ODK Collect's map: the question is left out"),
    "background-audio": N_("recording in the background is not done by fieldkit: the question is left out"),
    "background-geopoint": N_("locations taken in the background are not recorded by fieldkit"),
    "start-geopoint": N_("the location where the form was started is not recorded: phones on the event Wi-Fi "
                         "cannot share it without a secure connection"),
}
# Declarations of attached files for pulldata() and instance(): no question.
DECLARATIONS = ("xml-external", "csv-external")


def resolve(kind: str | None) -> tuple[str | None, str | None]:
    """(fieldkit type, None) for a question fieldkit asks or fills; (None, why) for one
    it leaves out with a warning; (None, None) for a type it does not know."""
    if kind in NAMED:
        return NAMED[kind], None
    if kind in IGNORED:
        return None, IGNORED[kind]
    from pyxform.question_type_dictionary import QUESTION_TYPE_DICT
    spec = QUESTION_TYPE_DICT.get(kind or "")
    if spec is None:
        return None, None
    control, bind = spec.get("control") or {}, spec.get("bind") or {}
    tag, data = control.get("tag"), bind.get("type")
    if bind.get("jr:preload") == "property":
        return PROPERTIES.get(str(bind.get("jr:preloadParams")).removeprefix("uri:")), None
    if bind.get("jr:preload") == "timestamp":
        return bind.get("jr:preloadParams"), None  # start, end
    if bind.get("jr:preload") == "date":
        return "today", None
    if tag == "upload":
        found = UPLOADS.get(control.get("mediatype"))
        return (found, None) if found else (None, IGNORED["osm"])
    if tag == "select1":
        return "select_one", None
    if tag == "select":
        return "select_multiple", None
    if tag == "trigger":
        return "acknowledge", None
    if tag is None and "calculate" in kind:  # 'q calculate', 'add calculate prompt'
        return "calculate", None
    if tag == "input":
        return ("note" if bind.get("readonly") == "true()" else INPUTS.get(data)), None
    return None, None
