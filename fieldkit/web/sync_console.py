"""The console's sync pages: this laptop's link and Sync now button (with a
progress page that works without JavaScript), and, on a central, its devices
and the conflicts they sent for review."""
from __future__ import annotations

import datetime as dt
import json
import threading

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext

from .. import store
from ..errors import FieldkitError
from ..messages import Message
from ..services import sync as sync_service
from ..store import devices as device_store, forms as form_store, submissions, sync as sync_store
from ..store.util import utcnow
from .auth import access, current_user
from .db import get_db
from .i18n import page_lang

bp = Blueprint("sync_console", __name__, url_prefix="/console/sync")
REFRESH_SECONDS = 2
START_GRACE = dt.timedelta(seconds=60)  # a sync asked for but not started by then has failed


@bp.get("/")
@access("coordinator")
def index():
    db = get_db()
    link = sync_store.get_link(db)
    if link:  # never the password, nor the secret in an ODK Central app user's URL
        from ..sync.openrosa import describe  # here, not at the top: requests is a tenth of the server's start-up
        link = {"url": describe(link["url"]), "device": link.get("device")}
    forms = [{"form_id": f["form_id"], "title": f["title"].get(page_lang()) or next(iter(f["title"].values()), f["form_id"])}
             for f in form_store.list_forms(db)]
    return render_template("console/sync.html", link=link, counts=sync_store.count_by_state(db),
                           status=view_status(db), local_conflicts=sync_store.local_conflicts(db),
                           devices=device_store.list_devices(db), conflicts=sync_store.list_conflicts(db),
                           auto=sync_store.get_auto(db), last_success=sync_store.get_last_success(db),
                           sync_every=current_app.config.get("SYNC_EVERY", 0), sync_forms=forms)


@bp.post("/auto")
@access("coordinator")
def set_auto():
    """Which answers a sync by itself leaves to a sync by hand: the whole laptop's, or a form's."""
    db = get_db()
    known = {f["form_id"] for f in form_store.list_forms(db)}
    chosen = request.form.getlist("forms_by_hand")
    if set(chosen) - known or request.form.get("by_hand") not in (None, "1"):
        raise FieldkitError("bad_request")
    sync_service.set_by_hand(db, request.form.get("by_hand") == "1", chosen, actor=current_user()["username"])
    return redirect(url_for(".index"), code=303)


@bp.post("/run")
@access("coordinator")
def run():
    """Sync now: the sync runs in a thread; the browser is sent to a page that
    refreshes itself until it is done (no JavaScript needed)."""
    db = get_db()
    if sync_store.get_link(db) is None:
        return redirect(url_for(".index"), code=303)
    if not sync_store.lease_held(db):
        sync_store.put_status(db, {"state": "starting", "started_at": utcnow(), "done": 0, "total": 0})
        threading.Thread(target=sync_in_background, name="fieldkit-sync", daemon=True,
                         args=(current_app.config["DATABASE"], current_user()["username"])).start()
    return redirect(url_for(".status"), code=303)


def sync_in_background(database: str, username: str) -> None:
    from ..sync import runner  # here, not at the top: requests is a tenth of the server's start-up
    result = runner.run(database, user=username)
    db = store.connect(database)
    try:
        status = sync_store.get_status(db) or {}
        if status.get("state") == "starting":  # the runner stopped before it began (busy, not linked)
            sync_store.put_status(db, dict(status, state="failed", finished_at=utcnow(),
                                           message=result.message, problems=[]))
    finally:
        db.close()


@bp.get("/status")
@access("coordinator")
def status():
    db = get_db()
    current = view_status(db)
    running = bool(current and current["state"] in ("starting", "running"))
    return render_template("console/sync_status.html", status=current, running=running,
                           refresh=REFRESH_SECONDS if running else None)


def view_status(db) -> dict | None:
    """The last sync's status for a page: messages translated, and a 'running'
    that no live sync holds shown as interrupted (the server stopped meanwhile)."""
    status = sync_store.get_status(db)
    if status is None:
        return None
    status = dict(status)
    if status["state"] in ("starting", "running") and not sync_store.lease_held(db):
        started = dt.datetime.fromisoformat(status["started_at"].replace("Z", "+00:00"))
        if status["state"] == "running" or dt.datetime.now(dt.timezone.utc) - started > START_GRACE:
            status["state"] = "interrupted"
    found = ([status["message"]] if status.get("message") else []) + status.get("problems", [])
    status["messages"] = [Message(m["text"], m["params"]).render(gettext) for m in found]
    return status


@bp.get("/conflicts/<int:conflict_id>")
@access("coordinator")
def conflict(conflict_id):
    """What a device sent under a uuid this central already held with other content."""
    db = get_db()
    received = sync_store.get_conflict(db, conflict_id)
    if received is None:
        abort(404)
    kept = submissions.get_submission(db, received["uuid"])
    record = received["record"]
    form = form_store.form_version(db, record["form_id"], record["form_version"])
    names = [n for n, q in form.questions.items() if q.type != "note" and q.repeat is None] if form else []
    for answers in (record["answers"], (kept or {}).get("answers", {})):
        names += [n for n in answers if n not in names]

    def shown(value) -> str:  # a repeat's instances as JSON, side by side
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

    rows = [(n, shown((kept or {}).get("answers", {}).get(n, "")), shown(record["answers"].get(n, ""))) for n in names]
    return render_template("console/sync_conflict.html", received=received, record=record, kept=kept, rows=rows)
