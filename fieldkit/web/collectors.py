"""The console's ODK Collect accounts (issue 17): the collectors, a new one's settings QR code
(shown once: only a hash of its token is kept, as ODK Central shows an app user's code once),
and revoking one. The same use cases as `fieldkit collectors` (services/collectors.py)."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext
from markupsafe import Markup

from ..services import collectors as collector_service, poster
from ..store import collectors as collector_store
from .auth import access, current_user
from .db import get_db
from .events import public_url

bp = Blueprint("collectors", __name__, url_prefix="/console/collectors")


def page(status: int = 200, **shown):
    return render_template("console/collectors.html", collectors=collector_store.list_collectors(get_db()),
                           **shown), status


@bp.get("/")
@access("coordinator")
def index():
    return page()


@bp.post("/")
@access("coordinator")
def add():
    name = request.form.get("name", "").strip()
    if not collector_service.valid_name(name):
        return page(422, error=gettext("Choose a name of letters, numbers, spaces, '.', '-' or '_' (up to 40)."),
                    name=name)
    try:
        token = collector_service.add(get_db(), name, actor=current_user()["username"], via="console")
    except collector_service.CollectorExists:
        return page(422, error=gettext("There is already a collector called %(name)s.", name=name), name=name)
    url = collector_service.server_url(public_url(), token)
    code = poster.svg(collector_service.settings_code(url, name),
                      gettext("QR code of ODK Collect's settings for %(name)s", name=name))
    return page(added={"name": name, "url": url, "qr": Markup(code)})


@bp.post("/<name>/revoke")
@access("coordinator")
def revoke(name):
    if not collector_service.revoke(get_db(), name, actor=current_user()["username"], via="console"):
        return page(404, error=gettext("There is no active collector called %(name)s.", name=name))
    return page(revoked=name)
