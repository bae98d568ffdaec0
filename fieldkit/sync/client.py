"""The laptop's side of the sync protocol (sync/openapi.yaml): HTTP, retries,
and what counts as an answer. No database and no Flask here.

An answer counts only when it is a 2xx with a JSON object of the expected
shape: a captive portal's 200 HTML page, a proxy's error page, a redirect to a
wifi sign-in or a body cut short are failures to retry, never acknowledgements."""
from __future__ import annotations

import gzip
import ipaddress
import json
import random
import time
from collections.abc import Callable
from urllib.parse import quote, urlsplit

import requests

from .. import __version__
from ..messages import Message, N_

# unknown_form: the central has no such form version, so it did not store the answer: kept here, unsynced.
OUTCOMES = ("created", "duplicate", "conflict", "unknown_form")
RETRY_STATUSES = (408, 425, 429)  # and every 5xx


class SyncError(Exception):
    """A failure to report to the person; message is translatable."""

    def __init__(self, message: Message):
        super().__init__(message.render())
        self.message = message


class AuthError(SyncError):
    """401: the token is unknown or revoked. Retrying cannot help."""


class CertificateError(SyncError):
    """The central's TLS certificate did not verify. Retrying cannot help."""


class Transient(Exception):
    """This attempt failed in a way another attempt may not (a reason in English, for logs)."""


class TooLarge(Exception):
    """413: the batch must be split."""


def is_local(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, allow_http: bool = False) -> str:
    """The central's base URL, refusing plain http except to this machine:
    over http anyone on the venue's wifi could read the answers and the token."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SyncError(Message(N_("%(url)s is not a web address (https://...)."), {"url": url}))
    if parts.scheme == "http" and not allow_http and not is_local(parts.hostname):
        raise SyncError(Message(N_("%(url)s is plain http: answers and the token would cross the network "
                                   "unencrypted. Use https, or allow it explicitly with --allow-http."),
                                {"url": url}))
    return url.strip().rstrip("/")


class Remote:
    """A server this laptop sends answers to: one requests session (TLS always verified) and
    the retry loop every request goes through. Central (fieldkit's own sync API) and
    sync/openrosa.py's OpenRosaServer (ODK Central, KoboToolbox) are its two kinds."""

    def __init__(self, url: str, *, ca_bundle: str | None = None, allow_http: bool = False,
                 retries: int = 6, backoff: float = 0.5, max_backoff: float = 30.0,
                 timeout: tuple[float, float] = (10.0, 60.0), before_attempt: Callable[[], None] | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.url = check_url(url, allow_http)
        self.retries, self.backoff, self.max_backoff, self.timeout = retries, backoff, max_backoff, timeout
        self.before_attempt, self.sleep = before_attempt, sleep
        self.http = requests.Session()
        self.http.verify = ca_bundle or True  # never False: a custom CA bundle is the way for private CAs
        self.http.headers.update({"User-Agent": f"fieldkit/{__version__}"})

    def retry(self, attempt: Callable[[], object]):
        """attempt() until it returns, with exponential backoff (and jitter) after each
        Transient failure; a SyncError after the last try."""
        reason = ""
        for tried in range(self.retries + 1):
            if tried:
                delay = min(self.max_backoff, self.backoff * 2 ** (tried - 1))
                self.sleep(delay * random.uniform(0.5, 1.0))  # jitter: laptops back online together spread out
            if self.before_attempt:
                self.before_attempt()
            try:
                return attempt()
            except Transient as error:
                reason = str(error)
        raise SyncError(Message(N_("Could not sync with %(url)s after %(tries)s tries. Last problem: %(reason)s"),
                                {"url": self.url, "tries": self.retries + 1, "reason": reason}))

    def request(self, method: str, url: str, **kwargs) -> requests.Response:
        """One HTTP request; a connection that fails is Transient, a certificate that does not verify is not."""
        try:
            # verify passed here too: requests would otherwise let REQUESTS_CA_BUNDLE override --ca-bundle
            return self.http.request(method, url, verify=self.http.verify, timeout=self.timeout,
                                     allow_redirects=False, **kwargs)
        except requests.exceptions.SSLError as error:
            raise CertificateError(Message(N_("The central's certificate could not be verified (%(reason)s). "
                                       "For a private certificate authority, use --ca-bundle FILE."),
                                    {"reason": type(error).__name__})) from None
        except requests.RequestException as error:  # refused, reset, timed out, body cut short
            raise Transient(f"{type(error).__name__}: {error}") from None

    def close(self) -> None:
        self.http.close()


class Central(Remote):
    """One central, reached with one device token."""

    def __init__(self, url: str, token: str, **options):
        super().__init__(url, **options)
        self.api = self.url + "/api/v1"
        self.batch_size = 200  # lowered for good when the central answers 413
        self.http.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/json"})

    # --- the endpoints ---------------------------------------------------------------------

    def hello(self) -> dict:
        answer = self.call("GET", "/device", check=lambda a: isinstance(a.get("device"), str)
                           and isinstance(a.get("max_batch"), int) and a["max_batch"] > 0)
        self.batch_size = min(self.batch_size, answer["max_batch"])
        return answer

    def push(self, records: list[dict], on_ack: Callable[[dict[str, str]], None]) -> None:
        """Send wire records; on_ack(uuid -> outcome) runs after each acknowledged
        (sub-)batch, so what was acknowledged is kept even if a later half fails."""
        uuids = [r["uuid"] for r in records]
        try:
            answer = self.call("POST", "/submissions", {"submissions": records},
                               check=lambda a: acknowledgement(a, uuids) is not None)
        except TooLarge:
            if len(records) == 1:
                raise SyncError(Message(N_("The central refuses submission %(uuid)s as too large."),
                                        {"uuid": uuids[0]})) from None
            half = len(records) // 2
            self.batch_size = max(1, min(self.batch_size, half))
            self.push(records[:half], on_ack)
            self.push(records[half:], on_ack)
            return
        on_ack(acknowledgement(answer, uuids))

    def list_forms(self) -> list[dict]:
        keys = ("form_id", "version", "sha256", "source_name")
        answer = self.call("GET", "/forms", check=lambda a: isinstance(a.get("forms"), list) and all(
            isinstance(f, dict) and all(isinstance(f.get(k), str) for k in keys) for f in a["forms"]))
        return answer["forms"]

    def download(self, form_id: str, version: str) -> dict:
        path = f"/forms/{quote(form_id, safe='')}/versions/{quote(version, safe='')}"
        return self.call("GET", path, check=lambda a: isinstance(a.get("source"), str)
                         and isinstance(a.get("source_name"), str))

    # --- transport ---------------------------------------------------------------------------

    def call(self, method: str, path: str, payload: dict | None = None,
             check: Callable[[dict], bool] = lambda a: True) -> dict:
        """One request, retried with exponential backoff on connection errors,
        timeouts, 5xx and answers that are not the central's JSON."""
        body = None
        if payload is not None:  # gzip: a batch of answers shrinks several times over
            body = gzip.compress(json.dumps(payload, ensure_ascii=False).encode("utf-8"), compresslevel=6)
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"} if body is not None else {}
        return self.retry(lambda: self._answer(self.request(method, self.api + path, data=body, headers=headers),
                                               check))

    def _answer(self, response: requests.Response, check) -> dict:
        status = response.status_code
        answer = parse_json(response)
        error = (answer or {}).get("error")
        error = error if isinstance(error, dict) else {}
        if 200 <= status < 300:
            if answer is None or not check(answer):
                raise Transient(f"HTTP {status} but not the central's answer "
                                f"({response.headers.get('Content-Type', 'no type')}): a wifi sign-in page?")
            return answer
        if status == 401:
            raise AuthError(Message(
                N_("The central has revoked this laptop's token. Ask its coordinator for a new one "
                   "(fieldkit devices add), then run: fieldkit link URL --token TOKEN") if error.get("code") == "device_revoked"
                else N_("The central does not accept this laptop's token. Ask its coordinator for a new one "
                        "(fieldkit devices add), then run: fieldkit link URL --token TOKEN")))
        if status == 413:
            raise TooLarge()
        if 300 <= status < 400:
            raise Transient(f"HTTP {status} redirect to {response.headers.get('Location', '?')}: a wifi sign-in page?")
        if status >= 500 or status in RETRY_STATUSES:
            raise Transient(f"HTTP {status}")
        detail = error.get("message") or response.reason
        raise SyncError(Message(N_("The central refused the request (HTTP %(status)s): %(detail)s"),
                                {"status": status, "detail": detail}))


def parse_json(response: requests.Response) -> dict | None:
    """The body as a JSON object, or None when it is anything else."""
    if response.headers.get("Content-Type", "").split(";")[0].strip().lower() != "application/json":
        return None
    try:
        answer = json.loads(response.content.decode("utf-8"))
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None


def acknowledgement(answer: dict, uuids: list[str]) -> dict[str, str] | None:
    """uuid -> outcome when the answer acknowledges exactly the batch sent, else None."""
    results = answer.get("results")
    if not isinstance(results, list) or len(results) != len(uuids):
        return None
    outcomes = {}
    for item in results:
        if not isinstance(item, dict) or item.get("outcome") not in OUTCOMES:
            return None
        outcomes[item.get("uuid")] = item["outcome"]
    return outcomes if set(outcomes) == set(uuids) else None
