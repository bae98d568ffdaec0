"""Sign-in, sessions and who may reach what.

Every view declares its audience with one of the decorators below; a test
walks the URL map and fails on any view without a declaration, so a new route
cannot be added without deciding who may reach it.
"""
from __future__ import annotations

import functools
import secrets
import time

from flask import Blueprint, g, redirect, render_template, request, session, url_for
from flask_babel import gettext

from ..errors import FieldkitError
from ..services import accounts
from ..store import audit, collectors, devices, meta, users
from ..store.util import token_hash as _hash
from . import areas
from .db import get_db

bp = Blueprint("auth", __name__, url_prefix="/console")

LEVELS = ("public", "laptop", "facilitator", "coordinator", "device", "collector")
IDLE_SECONDS = 60 * 60
MAX_SECONDS = 12 * 60 * 60
LOOPBACK = ("127.0.0.1", "::1")


def access(level: str):
    """Declare and enforce who may use a view: public, laptop (this machine only),
    facilitator (or coordinator), coordinator, device (a laptop syncing with its
    central, by bearer token; a console session does not count), collector (ODK Collect,
    by the token in its server URL: web/openrosa.py)."""
    if level not in LEVELS:
        raise ValueError(level)

    def decorate(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            # this machine itself: a loopback client that came through no proxy
            if level == "laptop" and (request.remote_addr not in LOOPBACK or "X-Forwarded-For" in request.headers):
                raise FieldkitError("forbidden")
            if level == "device":
                g.device = current_device()
            if level == "collector":
                g.collector = current_collector()
            if level in ("facilitator", "coordinator"):
                user = current_user()
                if user is None:
                    if request.method == "GET":
                        return redirect(url_for("auth.login", next=request.full_path), code=303)
                    raise FieldkitError("signed_out")
                if level == "coordinator" and user["role"] != "coordinator":
                    raise FieldkitError("forbidden")
            return view(*args, **kwargs)

        wrapped.access = level
        return wrapped
    return decorate


def current_user() -> dict | None:
    """The signed-in console user, read fresh from the database on each request,
    so that a deleted account or a changed role takes effect at once."""
    if "user" in g:
        return g.user
    g.user = None
    name = session.get("user")
    now = time.time()
    if name and now - session.get("auth_at", 0) < MAX_SECONDS and now - session.get("seen_at", 0) < IDLE_SECONDS:
        row = users.get_user(get_db(), name)
        # the account's current key: signing out, a new password, a new account of the same name change it
        if row and row["session_key"] and secrets.compare_digest(row["session_key"], str(session.get("key", ""))):
            g.user = {"username": row["username"], "role": row["role"]}
            session["seen_at"] = now
    if g.user is None and name:
        for key in ("user", "auth_at", "seen_at", "key"):
            session.pop(key, None)
    return g.user


def current_device() -> dict:
    """The registered device whose token the request carries, or a 401."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    device = devices.device_for_token(get_db(), token.strip()) if scheme.lower() == "bearer" and token else None
    if device is None:
        raise FieldkitError("device_unauthorized")
    if device["revoked_at"]:
        raise FieldkitError("device_revoked")
    return device


def current_collector() -> dict:
    """The collector whose token is in the URL (web/openrosa.py keeps it in g), or a 403."""
    token = g.get("collector_token") or ""
    collector = collectors.collector_for_token(get_db(), token) if token else None
    if collector is None:
        raise FieldkitError("collector_unauthorized")
    if collector["revoked_at"]:
        raise FieldkitError("collector_revoked")
    return collector


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/console") and not target.startswith("//"):
        return target
    return url_for("console.home")


def _sign_in(user: dict) -> None:
    session.clear()  # a new session on sign-in: no fixation
    now = time.time()
    key = user.get("session_key") or users.get_user(get_db(), user["username"])["session_key"]
    session.update(user=user["username"], auth_at=now, seen_at=now, key=key)


@bp.route("/setup/<token>", methods=["GET", "POST"])
@access("laptop")
def setup(token):
    db = get_db()
    stored = meta.get(db, "setup_token")
    if users.count_users(db) or not stored or not secrets.compare_digest(stored, _hash(token)):
        raise FieldkitError("not_found")
    error = None
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        error = account_problem(username, password, request.form.get("confirm", ""))
        if error is None:
            accounts.add_user(db, username, password, "coordinator", actor=username, via="setup link")
            meta.delete(db, "setup_token")
            _sign_in({"username": username})
            return redirect(url_for("console.home"), code=303)
    return render_template("console/setup.html", error=error), 422 if error else 200


def account_problem(username: str, password: str, confirm: str) -> str | None:
    if not (1 <= len(username) <= 40) or not username.replace("-", "").replace("_", "").replace(".", "").isalnum():
        return gettext("Choose a user name of letters and numbers (up to 40).")
    if len(password) < 10:
        return gettext("Choose a password of at least 10 characters.")
    if password != confirm:
        return gettext("The two passwords are not the same.")
    return None


@bp.route("/login", methods=["GET", "POST"])
@access("public")
def login():
    error = None
    status = 200
    if request.method == "POST":
        outcome, user = users.authenticate(get_db(), request.form.get("username", "").strip(),
                                           request.form.get("password", ""))
        if outcome == "ok":
            _sign_in(user)
            audit.record(get_db(), user["username"], "user.signed_in")
            return redirect(_safe_next(request.args.get("next")), code=303)
        status = 429 if outcome == "locked" else 401
        error = (gettext("Too many failed attempts. Please wait 15 minutes and try again.") if outcome == "locked"
                 else gettext("The user name or password is not right."))
    return render_template("console/login.html", error=error), status


@bp.post("/logout")
@access("public")
def logout():
    user = current_user()
    if user is not None:  # every copy of this session's cookie ends with it
        users.end_sessions(get_db(), user["username"])
        audit.record(get_db(), user["username"], "user.signed_out")
    session.clear()
    return redirect(url_for("auth.login"), code=303)


def init_app(app):
    app.register_blueprint(bp)

    @app.context_processor
    def inject_user():
        return {"user": current_user() if areas.is_console() else None}
