"""Which part of fieldkit a request is for, by the blueprint (and, for the events
blueprint's one participant page, the endpoint) that answers it, never by its URL:
the hooks and the error pages of each part (the participant's pages, the console,
the sync API, OpenRosa for ODK Collect, the assets) are chosen here, in one place.

A URL no route answers has no blueprint: it is judged by the first step of its path
alone (an unknown /api/... wants JSON), the one place where a path decides."""
from __future__ import annotations

from flask import request

PARTICIPANT, CONSOLE, API, ASSET, OPENROSA = "participant", "console", "api", "asset", "openrosa"

BLUEPRINTS = {
    "collect": PARTICIPANT, "safety": PARTICIPANT,
    "console": CONSOLE, "results": CONSOLE, "sync_console": CONSOLE, "auth": CONSOLE, "events": CONSOLE,
    "collectors": CONSOLE,
    "api": API,
    "openrosa": OPENROSA,
    "assets": ASSET, "fonts": ASSET, "media": ASSET,
}
ENDPOINTS = {"events.participant_entry": PARTICIPANT, "static": ASSET}  # exceptions to their blueprint's part
UNROUTED = {"api": API, "console": CONSOLE, "a": ASSET, "static": ASSET, "collect": OPENROSA}  # first path step of a URL no route has


def area() -> str:
    if request.endpoint in ENDPOINTS:
        return ENDPOINTS[request.endpoint]
    if request.blueprint in BLUEPRINTS:
        return BLUEPRINTS[request.blueprint]
    first = request.path.strip("/").split("/", 1)[0]
    return UNROUTED.get(first, PARTICIPANT)


def is_console() -> bool:
    return area() == CONSOLE


def is_participant() -> bool:
    return area() == PARTICIPANT
