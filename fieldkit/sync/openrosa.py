"""The laptop delivering its submissions to an OpenRosa server (issue 17): ODK Central (an app
user's URL, .../v1/key/<token>/projects/<id>) or KoboToolbox (https://kc.kobotoolbox.org/<user>,
with the account's password), as ODK Collect would: instance XML and its files, POSTed to
<url>/submission. No database and no Flask here; the runner (sync/runner.py) decides what to send.

What counts as an acknowledgement is as strict as fieldkit's own sync (sync/client.py): a 2xx
with an OpenRosa response document. A captive portal's 200 HTML page, a redirect to a wifi
sign-in, or a body cut short are failures to retry, never a submission delivered."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import requests
from requests.auth import HTTPBasicAuth, HTTPDigestAuth

from ..messages import Message, N_
from .client import RETRY_STATUSES, AuthError, Remote, SyncError, Transient

RESPONSE = "{http://openrosa.org/http/response}"
FORM_LIST = "{http://openrosa.org/xforms/xformsList}"
DEFAULT_MAX_BODY = 10 * 1024 * 1024  # what Collect assumes of a server that does not say


Part = tuple[str, str, bytes]  # a file: its name, content type and bytes


class OpenRosaServer(Remote):
    """An OpenRosa server, with an account's name and password where it needs one (Digest or
    Basic, as its challenge asks: KoboToolbox takes either; an ODK Central app user's URL
    needs none)."""

    def __init__(self, url: str, username: str | None = None, password: str | None = None, **options):
        super().__init__(url, **options)
        self.username, self.password = username, password
        self.max_body = DEFAULT_MAX_BODY
        self.http.headers.update({"X-OpenRosa-Version": "1.0"})

    # --- the endpoints ---------------------------------------------------------------------

    def hello(self) -> int:
        """HEAD submission, as Collect asks first: the largest body the server takes."""
        def attempt():
            response = self._send("HEAD", "/submission")
            if response.status_code not in (200, 204) or "X-OpenRosa-Version" not in response.headers:
                self._refuse(response, "HEAD submission")
            taken = response.headers.get("X-OpenRosa-Accept-Content-Length", "")
            return int(taken) if taken.isdigit() and int(taken) > 0 else DEFAULT_MAX_BODY
        self.max_body = self.retry(attempt)
        return self.max_body

    def form_versions(self) -> dict[str, str]:
        """formID -> version of the forms the server lists for this account."""
        def attempt():
            response = self._send("GET", "/formList")
            if response.status_code != 200:
                self._refuse(response, "GET formList")
            try:
                root = ET.fromstring(response.content)
            except ET.ParseError:
                raise Transient("formList is not XML: a wifi sign-in page?") from None
            if root.tag != f"{FORM_LIST}xforms":
                raise Transient(f"formList is not an OpenRosa form list ({root.tag})")
            return {x.findtext(f"{FORM_LIST}formID") or "": x.findtext(f"{FORM_LIST}version") or ""
                    for x in root.findall(f"{FORM_LIST}xform")}
        return self.retry(attempt)

    def submit(self, xml: bytes, files: list[Part]) -> str:
        """Deliver one submission: 'created', or 'conflict' (the server holds another submission
        under this instanceID: ODK Central's 409). Files are spread over several POSTs when
        they do not fit in one, each with the whole XML, as Collect does."""
        outcome = "created"
        chunks = self._chunks(xml, files)
        for i, chunk in enumerate(chunks):
            outcome = self.retry(lambda chunk=chunk, last=i == len(chunks) - 1: self._post(xml, chunk, last))
            if outcome == "conflict":
                break
        return outcome

    # --- transport ---------------------------------------------------------------------------

    def _chunks(self, xml: bytes, files: list[Part]) -> list[list[Part]]:
        room = self.max_body - len(xml) - 64 * 1024  # the multipart framing, generously
        chunks: list[list[Part]] = [[]]
        size = 0
        for part in files:
            if chunks[-1] and size + len(part[2]) > room:
                chunks.append([])
                size = 0
            chunks[-1].append(part)
            size += len(part[2])
        return chunks

    def _post(self, xml: bytes, parts: list[Part], last: bool) -> str:
        files = [("xml_submission_file", ("submission.xml", xml, "text/xml"))]
        files += [(name, (name, data, content_type)) for name, content_type, data in parts]
        data = {} if last else {"*isIncomplete*": "yes"}
        response = self._send("POST", "/submission", files=files, data=data)
        if response.status_code == 409:
            return "conflict"
        if 200 <= response.status_code < 300:
            if not is_openrosa_response(response):
                raise Transient(f"HTTP {response.status_code} but not an OpenRosa response "
                                f"({response.headers.get('Content-Type', 'no type')}): a wifi sign-in page?")
            return "created"
        self._refuse(response, "POST submission")
        return "created"  # not reached

    def _send(self, method: str, path: str, **kwargs) -> requests.Response:
        response = self.request(method, self.url + path, auth=self.http.auth, **kwargs)
        if response.status_code == 401 and self.username and self.http.auth is None:
            challenge = response.headers.get("WWW-Authenticate", "").lower()
            self.http.auth = (HTTPDigestAuth if challenge.startswith("digest") else HTTPBasicAuth)(
                self.username, self.password or "")
            response = self.request(method, self.url + path, auth=self.http.auth, **kwargs)
        return response

    def _refuse(self, response: requests.Response, what: str) -> None:
        status = response.status_code
        if status in (401, 403):
            raise AuthError(Message(N_("The server at %(url)s does not accept these credentials (HTTP %(status)s). "
                                       "Check the account, or the app user's URL, then run fieldkit link again."),
                                    {"url": self.url, "status": status}))
        if 300 <= status < 400:
            raise Transient(f"HTTP {status} redirect to {response.headers.get('Location', '?')}: a wifi sign-in page?")
        if status >= 500 or status in RETRY_STATUSES:
            raise Transient(f"HTTP {status} to {what}")
        if 200 <= status < 300:
            raise Transient(f"HTTP {status} to {what} but not an OpenRosa server: a wifi sign-in page?")
        raise SyncError(Message(N_("The server refused the submission (HTTP %(status)s): %(detail)s"),
                                {"status": status, "detail": response_message(response) or response.reason}))


def is_openrosa_response(response: requests.Response) -> bool:
    try:
        root = ET.fromstring(response.content)
    except ET.ParseError:
        return False
    return root.tag == f"{RESPONSE}OpenRosaResponse"


def response_message(response: requests.Response) -> str:
    try:
        root = ET.fromstring(response.content)
    except ET.ParseError:
        return ""
    return (root.findtext(f"{RESPONSE}message") or "").strip()[:300]


def describe(url: str) -> str:
    """The server, without the secret in its path: an ODK Central app user's /key/<token>/, or
    a fieldkit collector's /collect/<token>."""
    parts = urlsplit(url)
    path = re.sub(r"/(key|collect)/[^/]+", r"/\1/…", parts.path)
    return f"{parts.scheme}://{parts.netloc}{path}"
