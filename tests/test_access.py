"""Who may reach what: every route in the URL map, as anonymous, facilitator
and coordinator. A view without an access declaration fails here."""
import pytest

from conftest import PASSWORD, csrf_of
from fieldkit import store
from fieldkit.services import collectors
from fieldkit.store import devices
from fieldkit.web.auth import LEVELS


@pytest.fixture
def world(app, db, add_form, participant):
    """One of everything a URL can name."""
    add_form("household.md")
    event = store.events.add_event(db, {"name": "Hall"}, ["household"])
    p = participant("household")
    p.start("en")
    p.answer({"consent": "no"})
    p.submit()
    uuid = next(iter(store.submissions.iter_submissions(db, "household")))["uuid"]
    device_token = devices.add_device(db, "laptop-1")
    collector_token = collectors.add(db, "tablet-1")
    return {"collector_token": "not-a-token", "real_collector_token": collector_token,"form_id": "household", "event_id": event["id"], "code": event["code"], "uuid": uuid,
            "token": "not-a-token", "filename": "fieldkit.css", "index": 0, "name": "fieldkit.css",
            "digest": "0" * 20, "fallback": "1" * 20, "check": "0" * 8,  # font subsets (web/fonts.py)
            "version": "1", "conflict_id": 1, "device_token": device_token}


def urls(app, world):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            values = {arg: world[arg] for arg in rule.arguments}
            yield rule.endpoint, method, app.url_map.bind("localhost").build(rule.endpoint, values)


def test_every_view_declares_who_may_use_it(app):
    undeclared = [name for name, view in app.view_functions.items() if getattr(view, "access", None) not in LEVELS]
    assert undeclared == []


def test_every_route_admits_exactly_its_audience(app, world, signed_in):
    clients = {"anonymous": app.test_client(), "facilitator": signed_in("facilitator"),
               "coordinator": signed_in("coordinator")}
    tokens = {who: csrf_of(client, "/console/login") for who, client in clients.items()}
    admitted = {"anonymous": {"public", "laptop"}, "facilitator": {"public", "laptop", "facilitator"},
               "coordinator": set(LEVELS) - {"device", "collector"}}
    checked = 0
    # Signing out, the quick exit and the kiosk (which forget the session) last.
    for endpoint, method, url in sorted(urls(app, world), key=lambda u: u[0] in ("auth.logout", "safety.neutral", "collect.kiosk")):
        level = app.view_functions[endpoint].access
        for who, client in clients.items():
            if method == "POST":
                response = client.post(url, data={"csrf_token": tokens[who]})
            else:
                response = client.get(url)
            allowed = level in admitted[who]
            status = response.status_code
            if allowed:
                # (a public sign-in form may answer 401 to wrong credentials)
                assert status != 403 and not (status == 401 and level != "public") \
                    and not (status == 303 and "/console/login?next=" in response.location), \
                    (who, method, url, status)
            elif level == "device":  # a console session is no device token
                assert status == 401, (who, method, url, status)
            elif level == "collector":  # nor a collector's token, which is in the URL
                assert status == 403, (who, method, url, status)
            else:
                assert status in (401, 403) or (status == 303 and "/console/login?next=" in response.location), \
                    (who, method, url, status)
            checked += 1
        if level == "device":
            response = app.test_client().open(url, method=method,
                                              headers={"Authorization": f"Bearer {world['device_token']}"})
            assert response.status_code not in (401, 403), ("device", method, url, response.status_code)
        if level == "collector":
            real = url.replace("/not-a-token/", f"/{world['real_collector_token']}/")
            response = app.test_client().open(real, method=method)
            assert response.status_code not in (401, 403), ("collector", method, real, response.status_code)
    assert checked > 40


def test_laptop_only_routes_refuse_other_addresses(app, db):
    token = None
    from fieldkit.services.accounts import new_setup_token
    token = new_setup_token(db)
    client = app.test_client()
    far = client.get(f"/console/setup/{token}", environ_base={"REMOTE_ADDR": "192.0.2.10"})
    assert far.status_code == 403
    near = client.get(f"/console/setup/{token}")
    assert near.status_code == 200


def test_facilitator_cannot_read_answers_or_export(world, signed_in):
    facilitator = signed_in("facilitator")
    for url in (f"/console/submissions/{world['uuid']}", "/console/forms/household/submissions",
                "/console/forms/household/results", "/console/forms/household/export?format=csv"):
        assert facilitator.get(url).status_code == 403, url
    assert facilitator.get(f"/console/events/{world['event_id']}/display").status_code == 200
    assert PASSWORD


def test_every_route_belongs_to_a_declared_part_of_fieldkit(app):
    """Hooks and error pages follow web/areas.py, by blueprint: a new blueprint must say
    which part it is, and the parts' URLs are what they should be."""
    from fieldkit.web import areas
    expected = {areas.PARTICIPANT: ("/f/", "/e/", "/recipes/", "/"), areas.CONSOLE: ("/console",),
                areas.API: ("/api/",), areas.ASSET: ("/a/", "/static/"), areas.OPENROSA: ("/collect/",)}
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.rpartition(".")[0] or None
        part = areas.ENDPOINTS.get(rule.endpoint) or areas.BLUEPRINTS.get(blueprint)
        assert part is not None, f"{rule.endpoint} ({rule.rule}) is in no part: add its blueprint to web/areas.py"
        assert rule.rule.startswith(expected[part]), (rule.endpoint, rule.rule, part)


def test_an_unknown_api_url_answers_json_and_an_unknown_page_html(client):
    api = client.get("/api/v1/nothing-here")
    assert api.status_code == 404 and api.get_json()["error"]["code"]
    page = client.get("/nothing-here")
    assert page.status_code == 404 and "<html" in page.get_data(as_text=True)
    console = client.get("/console/nothing-here")
    assert console.status_code == 404 and "<html" in console.get_data(as_text=True)
