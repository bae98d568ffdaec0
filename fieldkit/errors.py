"""The error catalogue: stable codes, HTTP status, translatable messages.

One handler (web/errors.py) shows these as a page for people and as JSON for
machines. Codes never change meaning; add new ones at the end.

Each code also has a problem number, as ODK Central numbers its problems: the HTTP
status, a dot, and its place among that status's codes (404.2). People can read it
out over the phone ("error four-oh-four point two"); it is on the error page and in
the JSON. A number is never given to another code.
"""
from __future__ import annotations

from .messages import Message, N_

CATALOGUE: dict[str, tuple[int, str]] = {
    "bad_request": (400, N_("The answers sent could not be used. Please go back and try again.")),
    "bad_encoding": (400, N_("The answers sent could not be read. Please try again.")),
    "session_expired": (400, N_("This page has expired. Please open the survey link again.")),
    "not_found": (404, N_("There is nothing at this address.")),
    "form_not_found": (404, N_("There is no survey at this address. Please check the link or QR code.")),
    "method_not_allowed": (405, N_("This address cannot be used that way.")),
    "draft_missing": (410, N_("Your answers in progress could not be found, or they expired. Please start again.")),
    "too_large": (413, N_("What was sent is too large.")),
    "unsupported_media": (415, N_("The answers sent could not be read. Please try again.")),
    "signed_out": (401, N_("Please sign in again.")),
    "forbidden": (403, N_("You do not have access to this page.")),
    "form_closed": (410, N_("This survey is closed. Thank you for your interest.")),
    "answers_encrypted": (422, N_("These answers are encrypted. Choose the form's private key file to export them.")),
    "wrong_key": (422, N_("This private key does not open these answers.")),
    "bad_public_key": (422, N_("This is not a public key fieldkit can use: paste the whole key that the "
                               "command fieldkit keys new printed (RSA, in base64).")),
    "rate_limited": (429, N_("Too many requests from this phone. Please wait a minute, then try again.")),
    "server_error": (500, N_("Something went wrong on the survey laptop. Your earlier answers are saved. Please try again.")),
    # sync API (web/api.py): a laptop talking to its central
    "device_unauthorized": (401, N_("This device's token is missing or unknown here. "
                                    "Ask the central's coordinator for a token, then link again.")),
    "device_revoked": (401, N_("This device's token was revoked on the central. "
                               "Ask the central's coordinator for a new token, then link again.")),
    "bad_batch": (400, N_("The batch of submissions could not be used.")),
    # OpenRosa (web/openrosa.py): ODK Collect and ODK Web Forms talking to this laptop
    "collector_unauthorized": (403, N_("This server URL is not known here. Ask the coordinator for a new one.")),
    "collector_revoked": (403, N_("This server URL was turned off. Ask the coordinator for a new one.")),
    "bad_submission": (400, N_("This submission could not be used.")),
    "form_version_unknown": (404, N_("This laptop does not have that version of the form.")),
    "submission_encrypted": (422, N_("This submission is encrypted, but this laptop's copy of the form is not. "
                                     "Get the form again in ODK Collect.")),
}


PROBLEMS: dict[str, str] = {
    "bad_request": "400.1", "bad_encoding": "400.2", "session_expired": "400.3", "bad_batch": "400.4",
    "bad_submission": "400.5",
    "signed_out": "401.1", "device_unauthorized": "401.2", "device_revoked": "401.3",
    "forbidden": "403.1", "collector_unauthorized": "403.2", "collector_revoked": "403.3",
    "not_found": "404.1", "form_not_found": "404.2", "form_version_unknown": "404.3",
    "method_not_allowed": "405.1",
    "draft_missing": "410.1", "form_closed": "410.2",
    "too_large": "413.1",
    "unsupported_media": "415.1",
    "answers_encrypted": "422.1", "wrong_key": "422.2", "bad_public_key": "422.3",
    "submission_encrypted": "422.4",
    "rate_limited": "429.1",
    "server_error": "500.1",
}


class FieldkitError(Exception):
    def __init__(self, code: str, message: Message | None = None, status: int | None = None):
        default_status, text = CATALOGUE[code]
        self.code = code
        self.problem = PROBLEMS[code]
        self.status = status or default_status
        self.message = message or Message(text)
        super().__init__(f"{code}: {self.message.text}")
