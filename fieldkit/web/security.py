"""Headers and limits that every response carries."""
from urllib.parse import parse_qsl

import logging

from flask import current_app, g, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect, csrf_meta_tag, generate_csrf
from itsdangerous import URLSafeTimedSerializer

from ..errors import FieldkitError
from ..forms.media import MAX_UPLOAD_BYTES
from . import areas

csrf = CSRFProtect()

HEADERS = {
    # No third party can be reached from a page, and no inline script or style runs.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def add_headers(response):
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if areas.area() != areas.ASSET:
        # Nothing a participant answered stays in the phone's cache.
        response.headers["Cache-Control"] = "no-store"
    return response


def check_body():
    """Before anything reads a POST (CSRF protection reads the form): apply the
    participant limit, a page of answers, or room for one file on a screen that posts
    one (multipart); and refuse bytes that are not UTF-8 (werkzeug would quietly turn
    them into U+FFFD)."""
    if request.method != "POST":
        return
    if areas.area() == areas.OPENROSA:  # an interview and its photos; Collect splits what is larger
        from .openrosa import max_body
        request.max_content_length = max_body()
    if areas.area() == areas.PARTICIPANT:
        files = request.mimetype == "multipart/form-data" and request.path.endswith("/q")
        request.max_content_length = MAX_UPLOAD_BYTES + 256 * 1024 if files else current_app.config["COLLECT_MAX_BODY"]
    if request.mimetype == "application/x-www-form-urlencoded":
        raw = request.get_data(cache=True)  # form parsing reuses the cached bytes
        try:
            parse_qsl(raw.decode("utf-8"), keep_blank_values=True, errors="strict", max_num_fields=500)
        except (UnicodeDecodeError, ValueError):
            raise FieldkitError("bad_encoding") from None


def rate_limits(app):
    """Per-client limits on participant posts and sign-in (Flask-Limiter, in memory).

    One Limiter per app, so that two apps (a test's, a laptop's and its central's)
    never share counters. The limiter's own log line names the client's address,
    so it is kept quiet: no participant address is ever logged."""
    logging.getLogger("flask-limiter").setLevel(logging.ERROR)
    if str(app.config.get("RATELIMIT_STORAGE_URI", "")).startswith("fieldkit-shared://"):
        import importlib  # defining its storage class registers the scheme: serve's workers share counters
        importlib.import_module(".shared_limits", __package__)
    limiter = Limiter(get_remote_address, app=app, headers_enabled=False)
    app.extensions["fieldkit_limiter"] = limiter

    def configured(name):
        return lambda: app.config[name]

    from . import collect
    limiter.limit(configured("COLLECT_RATE_LIMIT"), methods=["POST"])(collect.bp)
    # A route limit acts through the wrapper it returns, so the wrapper replaces
    # the registered view (functools.wraps keeps its access declaration).
    for endpoint, name in (("collect.submit", "SUBMIT_RATE_LIMIT"), ("auth.login", "SIGNIN_RATE_LIMIT")):
        app.view_functions[endpoint] = limiter.limit(configured(name), methods=["POST"])(app.view_functions[endpoint])


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, unchanged, with the signing serializer
    made once per secret key instead of on every request (Flask builds a new
    one, serialising a test value to see whether it makes text, each time)."""

    def get_cookie_secure(self, app):
        """Secure when the request came over HTTPS (a central behind its proxy), as well
        as when the configuration says so."""
        return super().get_cookie_secure(app) or request.is_secure

    def get_signing_serializer(self, app):
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        made = self.__dict__.get("made")
        if made is None or made[0] != keys:
            made = self.made = (keys, super().get_signing_serializer(app))
        return made[1]


MAX_SIGNED = 10_000


def csrf_token() -> str:
    """Flask-WTF's generate_csrf(), the same token in the same session key,
    signed once per session token rather than once per page.

    The signed token carries the time it was signed, which validate_csrf checks
    only under WTF_CSRF_TIME_LIMIT; fieldkit has none (a participant may take an
    hour), so a token signed for this session's raw token earlier is exactly as
    valid as a new one. With a time limit, or before the session has a token,
    Flask-WTF signs as it always did."""
    config = current_app.config
    name = config.get("WTF_CSRF_FIELD_NAME") or "csrf_token"
    token = g.get(name)
    if token is not None:
        return token
    raw = session.get(name)
    if config.get("WTF_CSRF_TIME_LIMIT") is not None or not isinstance(raw, str):
        return generate_csrf()
    secret = config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key
    store = current_app.extensions.get("fieldkit_csrf")
    if store is None or store[0] != secret:
        store = current_app.extensions["fieldkit_csrf"] = (
            secret, URLSafeTimedSerializer(secret, salt="wtf-csrf-token"), {})
    _secret, serializer, signed = store
    token = signed.get(raw)
    if token is None:
        if len(signed) >= MAX_SIGNED:  # a bounded memory: forget them all, they are re-signed when needed
            signed.clear()
        token = signed[raw] = serializer.dumps(raw)
    setattr(g, name, token)
    return token


def init_app(app):
    app.session_interface = SessionInterface()
    app.before_request(check_body)  # registered first, so it runs before CSRF reads the form
    csrf.init_app(app)
    # Templates call csrf_token(): Flask-WTF's global and context processor, pointed at the cached one.
    app.jinja_env.globals["csrf_token"] = csrf_token
    processors = app.template_context_processors[None]
    for i, processor in enumerate(processors):
        if getattr(processor, "__module__", "") == "flask_wtf.csrf":
            processors[i] = lambda: {"csrf_token": csrf_token, "csrf_meta_tag": csrf_meta_tag}
    app.after_request(add_headers)
