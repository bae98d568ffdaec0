"""ODK Collect accounts (issue 17): the use cases the command line and the console share,
each in the activity log, and the settings Collect reads from a QR code.

A collector is what ODK Central calls an app user: Collect is given a server URL with an
unguessable token in its path, http://<laptop>:8080/collect/<token>, and speaks OpenRosa
under it (web/openrosa.py). Revoking the collector refuses that URL from then on."""
from __future__ import annotations

import base64
import json
import re
import zlib

from ..store import audit, collectors as collector_store
from ..store.collectors import CollectorExists

__all__ = ["CollectorExists", "add", "revoke", "server_url", "settings_code", "valid_name"]

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,39}")


def valid_name(name: str) -> bool:
    return bool(NAME.fullmatch(name)) and name == name.strip()


def add(db, name: str, actor: str | None = None, via: str = "command line") -> str:
    """A new collector; its token, shown once (only a hash is kept)."""
    token = collector_store.add_collector(db, name)
    audit.record(db, actor, "collector.added", collector=name, via=via)
    return token


def revoke(db, name: str, actor: str | None = None, via: str = "command line") -> bool:
    if not collector_store.revoke_collector(db, name):
        return False
    audit.record(db, actor, "collector.revoked", collector=name, via=via)
    return True


def server_url(base: str, token: str) -> str:
    """What Collect is given as its server: OpenRosa's formList and submission are under it."""
    return f"{base.rstrip('/')}/collect/{token}"


def settings_code(url: str, name: str) -> str:
    """The text of ODK Collect's configuration QR code (Collect: Projects, Add project, scan):
    base64 of zlib of the settings JSON (https://docs.getodk.org/collect-import-export/).
    Its forms follow this fieldkit's exactly, finished interviews are sent as soon as the
    wifi allows, and deleted from the tablet once sent: an interview about violence at home
    should not stay on a shared tablet."""
    settings = {
        "general": {"server_url": url, "form_update_mode": "match_exactly", "autosend": "wifi_only",
                    "delete_send": True},
        "admin": {},
        "project": {"name": f"fieldkit: {name}", "icon": "F", "color": "#1f5f8b"},
    }
    packed = zlib.compress(json.dumps(settings, ensure_ascii=False).encode("utf-8"))
    return base64.b64encode(packed).decode("ascii")
