"""The sync API against its written protocol (sync/openapi.yaml), and the
central's guards: one transaction per batch, hashes checked, gzip bombs capped.
The end-to-end sync between two real fieldkits is in test_sync.py."""
from __future__ import annotations

import gzip
import json
import re
import uuid as uuidlib
from pathlib import Path

import pytest
import yaml

from fieldkit.errors import CATALOGUE
from fieldkit.store import devices, submissions, sync as sync_store
from fieldkit.sync.client import SyncError, acknowledgement, check_url
from syncworld import DEMO_VERSION

SPEC = yaml.safe_load((Path(__file__).resolve().parent.parent / "sync" / "openapi.yaml").read_text(encoding="utf-8"))
METHODS = {"get", "post", "put", "patch", "delete"}


def record(answers: dict | None = None, **changes) -> dict:
    answers = answers if answers is not None else {"consent": "yes", "comments": "Más reuniones"}
    rec = {"uuid": str(uuidlib.uuid4()), "form_id": "wellbeing", "form_version": DEMO_VERSION, "language": "es",
           "answers": answers, "started_at": "2025-06-01T10:00:00Z", "submitted_at": "2025-06-01T10:05:00Z",
           "device_id": "laptop", "content_hash": submissions.content_hash("wellbeing", DEMO_VERSION, answers)}
    rec.update(changes)
    return rec


@pytest.fixture
def device(db):
    return {"Authorization": f"Bearer {devices.add_device(db, 'hall')}"}


def push(client, headers, records=None, raw: bytes | None = None, **extra):
    body = raw if raw is not None else gzip.compress(json.dumps({"submissions": records}).encode())
    return client.post("/api/v1/submissions", data=body, headers=dict(
        headers, **{"Content-Type": "application/json", "Content-Encoding": "gzip"}, **extra))


# --- the app and the document agree -------------------------------------------------------------

def node_path(ref: str) -> list[str]:
    return ref.removeprefix("#/").split("/")


def deref(node: dict) -> dict:
    while "$ref" in node:
        target = SPEC
        for part in node_path(node["$ref"]):
            target = target[part]
        node = target
    return node


TYPES = {"object": dict, "array": list, "string": str, "integer": int, "number": (int, float), "boolean": bool,
         "null": type(None)}


def conforms(value, schema: dict) -> bool:
    """A small JSON Schema check: type, enum, const, required, properties, items."""
    schema = deref(schema)
    kinds = schema.get("type")
    if kinds is not None:
        kinds = kinds if isinstance(kinds, list) else [kinds]
        if not any(isinstance(value, TYPES[k]) and not (k in ("integer", "number") and isinstance(value, bool))
                   for k in kinds):
            return False
    if "enum" in schema and value not in schema["enum"] or "const" in schema and value != schema["const"]:
        return False
    if isinstance(value, dict):
        if any(k not in value for k in schema.get("required", [])):
            return False
        return all(conforms(value[k], sub) for k, sub in schema.get("properties", {}).items() if k in value)
    if isinstance(value, list) and "items" in schema:
        return all(conforms(item, schema["items"]) for item in value)
    return True


def test_every_api_route_is_documented_and_every_documented_route_exists(app):
    routes = {(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method.lower())
              for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, item in SPEC["paths"].items() for method in item if method in METHODS}
    assert routes == documented


def test_status_codes_and_bodies_match_the_spec(app, client, db, device):
    db_token = devices.add_device(db, "gone")
    devices.revoke_device(db, "gone")
    revoked = {"Authorization": f"Bearer {db_token}"}
    app.config["SYNC_MAX_BATCH"] = 2
    form = sync_store.published_versions(db)[0]
    version_path = f"/api/v1/forms/{form['form_id']}/versions/{form['version']}"
    calls = [
        ("/api/v1/device", "get", lambda: client.get("/api/v1/device", headers=device)),
        ("/api/v1/device", "get", lambda: client.get("/api/v1/device")),
        ("/api/v1/device", "get", lambda: client.get("/api/v1/device", headers=revoked)),
        ("/api/v1/submissions", "post", lambda: push(client, device, [record()])),
        ("/api/v1/submissions", "post", lambda: push(client, device, raw=b"not gzip")),
        ("/api/v1/submissions", "post", lambda: push(client, {}, [record()])),
        ("/api/v1/submissions", "post", lambda: push(client, device, [record(), record(), record()])),
        ("/api/v1/submissions", "post", lambda: client.post("/api/v1/submissions", data="x", headers=dict(
            device, **{"Content-Type": "text/plain"}))),
        ("/api/v1/forms", "get", lambda: client.get("/api/v1/forms", headers=device)),
        ("/api/v1/forms", "get", lambda: client.get("/api/v1/forms", headers=revoked)),
        ("/api/v1/forms/{form_id}/versions/{version}", "get", lambda: client.get(version_path, headers=device)),
        ("/api/v1/forms/{form_id}/versions/{version}", "get", lambda: client.get(version_path)),
        ("/api/v1/forms/{form_id}/versions/{version}", "get",
         lambda: client.get("/api/v1/forms/wellbeing/versions/no-such", headers=device)),
    ]
    seen: dict[tuple[str, str], set[str]] = {}
    for path, method, call in calls:
        response = call()
        status = str(response.status_code)
        documented = SPEC["paths"][path][method]["responses"]
        assert status in documented, (path, method, status)
        assert response.mimetype == "application/json"
        schema = deref(documented[status])["content"]["application/json"]["schema"]
        assert conforms(response.get_json(), schema), (path, method, status, response.get_json())
        if status == "401":
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
        seen.setdefault((path, method), set()).add(status)
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            if method in METHODS:  # every documented answer was produced (a 500 cannot be asked for)
                assert seen[(path, method)] == set(operation["responses"]) - {"500"}, (path, method)


def test_documented_error_codes_are_in_the_catalogue():
    codes = SPEC["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
    assert set(codes) <= set(CATALOGUE)


# --- the central's guards ----------------------------------------------------------------------

def test_a_batch_is_stored_whole_or_not_at_all(client, db, device):
    good, bad = record(), record(content_hash="0" * 64)
    response = push(client, device, [good, bad])
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "bad_batch"
    assert bad["uuid"] in response.get_json()["error"]["message"]
    assert not submissions.has_submission(db, good["uuid"])


def test_outcomes_created_duplicate_conflict(client, db, device):
    first = record()
    twin = dict(first)
    other = record({"consent": "no"}, uuid=first["uuid"])
    answers = [push(client, device, batch).get_json()["results"] for batch in ([first], [twin], [other], [other])]
    assert [a[0]["outcome"] for a in answers] == ["created", "duplicate", "conflict", "conflict"]
    assert submissions.get_submission(db, first["uuid"])["answers"] == first["answers"]
    assert [c["uuid"] for c in sync_store.list_conflicts(db)] == [first["uuid"]]  # kept once, not per resend
    hall = devices.get_device(db, "hall")
    assert (hall["received"], hall["duplicates"], hall["conflicts"]) == (1, 1, 1)
    assert submissions.get_submission(db, first["uuid"])["device_name"] == "hall"


def test_gzip_bombs_and_damaged_bodies_are_refused(app, client, device):
    app.config["SYNC_MAX_BATCH_BYTES"] = 1024 * 1024
    bomb = gzip.compress(b" " * (50 * 1024 * 1024))  # 50 MB of spaces in ~50 KB
    assert len(bomb) < 100 * 1024
    assert push(client, device, raw=bomb).status_code == 413
    cut = gzip.compress(json.dumps({"submissions": [record()]}).encode())[:-12]
    assert push(client, device, raw=cut).get_json()["error"]["code"] == "bad_batch"
    twice = record()
    assert push(client, device, [twice, twice]).status_code == 400


def test_the_client_accepts_only_a_complete_acknowledgement():
    ok = {"results": [{"uuid": "a", "outcome": "created"}, {"uuid": "b", "outcome": "duplicate"}]}
    assert acknowledgement(ok, ["a", "b"]) == {"a": "created", "b": "duplicate"}
    assert acknowledgement(ok, ["a", "b", "c"]) is None  # one missing
    assert acknowledgement({"results": [{"uuid": "a", "outcome": "maybe"}]}, ["a"]) is None
    assert acknowledgement({"ok": True}, ["a"]) is None


@pytest.mark.parametrize("url,allowed", [
    ("https://central.example.org", True), ("http://127.0.0.1:8080", True), ("http://localhost:8080/", True),
    ("http://[::1]:8080", True), ("http://central.example.org", False), ("http://192.0.2.7", False),
    ("ftp://central.example.org", False), ("central.example.org", False)])
def test_plain_http_only_to_this_machine(url, allowed):
    if allowed:
        assert check_url(url) == url.rstrip("/")
    else:
        with pytest.raises(SyncError):
            check_url(url)
    assert check_url("http://central.example.org", allow_http=True)


def test_an_answer_to_a_form_version_the_central_lacks_is_not_acknowledged_as_kept(client, db, device):
    known, unknown, other_form = record(), record(form_version="999"), record(form_id="nowhere")
    unknown["content_hash"] = submissions.content_hash("wellbeing", "999", unknown["answers"])
    other_form["content_hash"] = submissions.content_hash("nowhere", DEMO_VERSION, other_form["answers"])
    results = push(client, device, [known, unknown, other_form]).get_json()["results"]
    assert [r["outcome"] for r in results] == ["created", "unknown_form", "unknown_form"]
    assert submissions.has_submission(db, known["uuid"])
    assert not submissions.has_submission(db, unknown["uuid"]) and not submissions.has_submission(db, other_form["uuid"])


def test_every_error_code_has_its_own_problem_number_of_its_status():
    from fieldkit.errors import PROBLEMS
    assert set(PROBLEMS) == set(CATALOGUE)
    assert len(set(PROBLEMS.values())) == len(PROBLEMS)
    for code, number in PROBLEMS.items():
        status, _, place = number.partition(".")
        assert int(status) == CATALOGUE[code][0] and place.isdigit() and int(place) >= 1, code


def test_an_error_names_its_problem_number_in_json_and_on_the_page(client):
    api = client.post("/api/v1/submissions", data=b"{}", headers={"Content-Type": "application/json"})
    assert api.status_code == 401 and api.get_json()["error"]["problem"] == "401.2"
    page = client.get("/f/no-such-survey")
    assert page.status_code == 404 and "404.2" in page.get_data(as_text=True)
