"""The security suite: XSS, CSRF, traversal, injection, forged sessions, other
participants' drafts, rate limits, and a property-based fuzz of the participant
endpoints (never a 500, nothing stored when refused, accepted answers intact)."""

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import FORMS, Page, Participant, csrf_of, drafts_of, submissions_of, submit_household
from engines import stored_bytes
from fieldkit import create_app, store
from fieldkit.crypto import open_draft
from fieldkit.forms import engine
from fieldkit.services import export
from fieldkit.services.forms import import_form
from fieldkit.store.util import token_hash

PAYLOADS = ['<script>alert("x")</script>', '<img src=x onerror=alert(1)>', '"><svg onload=alert(1)>',
            "javascript:alert(1)", "{{ 7*7 }}", "</textarea><script>alert(1)</script>"]
SQL = ["' OR '1'='1", "'; DROP TABLE submissions; --", '" OR ""="', "1; DELETE FROM forms"]

HOSTILE_FORM = """| survey |
| | type | name | label::English (en) | hint::English (en) | constraint | constraint_message::English (en) |
| | select_one yn | pick | Pick <script>alert("label")</script> | Hint <img src=x onerror=alert(2)> | | |
| | integer | n | Number <b>bold</b> | | . < 5 | Too big <script>alert("msg")</script> |
| | note | shown | You picked ${pick} | | | |
| choices |
| | list_name | name | label::English (en) |
| | yn | a | Choice <script>alert("choice")</script> |
| | yn | b | Plain |
| settings |
| | form_title | form_id |
| | Title <script>alert("title")</script> | hostile |
"""


def assert_escaped(html: str):
    for raw in ("<script>alert", "<img src=x", "<svg onload", "<b>bold</b>"):
        assert raw not in html, raw


def test_markup_in_form_labels_is_shown_as_text(db, client, signed_in):
    import_form(db, HOSTILE_FORM.encode(), "hostile.md")
    p = Participant(client, "hostile")
    pages = [p.open("en"), p.choose_language("en")]
    p.consent("yes")
    pages.append(p.current())
    response = p.post({"pick": "a"})
    pages.append(p.current())
    pages.append(Page(p.post({"n": "9"}).get_data(as_text=True)))  # the form's own constraint message
    for page in pages:
        assert_escaped(page.html)
    assert "&lt;script&gt;alert(&#34;msg&#34;)&lt;/script&gt;" in pages[-1].html
    coordinator = signed_in("coordinator")
    for path in ("/console/", "/console/forms/hostile", "/console/forms/hostile/preview",
                 "/console/forms/hostile/results"):
        assert_escaped(coordinator.get(path).get_data(as_text=True))
    assert response.status_code in (200, 303)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_markup_in_answers_is_escaped_everywhere_and_literal_in_exports(payload, add_form, participant,
                                                                         signed_in, db):
    add_form("household.md")
    p = participant("household")
    submit_household(p, payload)
    coordinator = signed_in("coordinator")
    uuid = submissions_of(db, "household")[0]["uuid"]
    for path in ("/console/forms/household/submissions", f"/console/submissions/{uuid}",
                 "/console/forms/household/results"):
        html = coordinator.get(path).get_data(as_text=True)
        assert payload not in html or payload in ("javascript:alert(1)", "{{ 7*7 }}"), path
        assert "49" not in html.split("{{ 7*7 }}")[0][-3:]  # templates never evaluate answers
    csv_text = "".join(export.export_csv(db, "household"))
    assert payload in csv_text or payload.replace('"', '""') in csv_text  # the analyst gets the exact text


def test_select_values_with_markup_are_refused(add_form, participant, db):
    add_form("household.md")
    p = participant("household")
    p.start("en")
    response = p.post({"consent": PAYLOADS[0]})
    assert response.status_code == 422
    assert drafts_of(db)[0]["answers"].get("consent", "") == ""


def test_every_console_and_participant_post_needs_a_csrf_token(app, add_form, signed_in, participant):
    add_form("household.md")
    coordinator = signed_in("coordinator")
    store_event = coordinator.post("/console/events", data={
        "name": "Hall", "forms": ["household"], "csrf_token": csrf_of(coordinator, "/console/events")})
    assert store_event.status_code == 303
    checked = 0
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if "POST" not in rule.methods or getattr(view, "access", None) in ("device", "collector"):
            continue  # device views authenticate with a bearer token, collectors with one in the URL: no cookie
        values = {arg: {"form_id": "household", "event_id": 1, "index": 0, "token": "x",
                        "uuid": "x", "code": "x", "filename": "x"}.get(arg, "x") for arg in rule.arguments}
        url = app.url_map.bind("localhost").build(rule.endpoint, values)
        response = coordinator.post(url, data={"anything": "1"})
        assert response.status_code == 400, (url, response.status_code)
        assert 'data-error-code="session_expired"' in response.get_data(as_text=True)
        checked += 1
    assert checked >= 10


@pytest.mark.parametrize("path", [
    "/static/../fieldkit.db", "/static/..%2ffieldkit.db", "/static/%2e%2e/%2e%2e/etc/passwd",
    "/static/..\\..\\fieldkit.db", "/static//etc/passwd", "/static/fieldkit.css/..%2f..%2f__init__.py",
])
def test_static_files_cannot_reach_outside(client, path):
    response = client.get(path, follow_redirects=True)  # werkzeug merges // with a redirect
    assert response.status_code in (400, 404)
    body = response.get_data()
    assert b"SQLite format" not in body and b"root:" not in body and b"create_app" not in body


@pytest.mark.parametrize("text", SQL)
def test_sql_strings_are_data(text, add_form, participant, signed_in, db, client):
    add_form("household.md")
    p = participant("household")
    submit_household(p, text)
    [sub] = submissions_of(db, "household")
    assert sub["answers"]["other_income"] == text
    assert db.count("forms") == 2  # demo + household, nothing dropped
    assert client.get(f"/f/{text}").status_code == 404
    coordinator = signed_in("coordinator")
    assert coordinator.get(f"/console/forms/household/submissions?event={text}").status_code == 400
    assert coordinator.get(f"/console/forms/{text}/submissions").status_code == 404
    assert Participant(client, "household").client.post(
        "/console/login", data={"username": text, "password": text,
                                "csrf_token": csrf_of(client, "/console/login")}).status_code == 401


def test_a_forged_console_session_is_not_signed_in(app):
    from flask.sessions import SecureCookieSessionInterface

    other = create_app({"DATA_DIR": app.config["DATA_DIR"].parent / "other", "RATELIMIT_ENABLED": False})
    other.secret_key = "not-the-real-key"
    serializer = SecureCookieSessionInterface().get_signing_serializer(other)
    import time
    forged = serializer.dumps({"user": "admin", "auth_at": time.time(), "seen_at": time.time()})
    client = app.test_client()
    client.set_cookie("session", forged)
    response = client.get("/console/")
    assert response.status_code == 303 and "/console/login" in response.location


def test_one_participant_cannot_reach_anothers_draft(add_form, app, db):
    add_form("household.md")
    alice = Participant(app.test_client(), "household")
    alice.start("en")
    alice.answer({"consent": "yes"})
    bob = Participant(app.test_client(), "household")
    assert bob.client.get("/f/household/q").status_code == 410
    bob.start("en")
    assert bob.current().hidden_fields["_screen"] == "0"  # his own, fresh draft
    raw = stored_bytes(app.config["DATABASE"])
    for token in [alice.client.get_cookie("session").value]:
        assert token.encode() not in raw
    rows = drafts_of(db)
    assert len(rows) == 2 and all(len(r["token_hash"]) == 64 for r in rows)  # only hashes are kept


def test_rate_limits_answer_429_in_the_participants_language(tmp_path):
    app = create_app({"DATA_DIR": tmp_path, "SUBMIT_RATE_LIMIT": "3 per minute"})
    client = app.test_client()
    csrf = csrf_of(client, "/f/wellbeing")
    statuses = [client.post("/f/wellbeing/submit", data={"_uuid": "x", "csrf_token": csrf},
                             headers={"Accept-Language": "es"}).status_code for _ in range(5)]
    assert statuses[:3] == [410, 410, 410] and statuses[3:] == [429, 429]
    other_client = app.test_client()  # the same address: the limit is per client address
    other_csrf = csrf_of(other_client, "/f/wellbeing")
    assert other_client.post("/f/wellbeing/submit", data={"_uuid": "x", "csrf_token": other_csrf}).status_code == 429


def test_sign_in_is_rate_limited_per_client(tmp_path):
    app = create_app({"DATA_DIR": tmp_path, "SIGNIN_RATE_LIMIT": "4 per minute"})
    client = app.test_client()
    csrf = csrf_of(client, "/console/login")
    statuses = [client.post("/console/login", data={"username": f"u{i}", "password": "p", "csrf_token": csrf}
                            ).status_code for i in range(6)]
    assert statuses == [401, 401, 401, 401, 429, 429]


# --- property-based fuzz of the participant endpoints ------------------------------------------

FUZZ_APP = {}


def own_draft(db, client) -> list[dict]:
    """The stored draft of the participant behind client (none before consent)."""
    with client.session_transaction() as session:
        token = (session.get("drafts") or {}).get("household")
    if not token:
        return []
    return list(db.query("SELECT answers, position FROM drafts WHERE token_hash = ?", [token_hash(token)]))


def fuzz_app(tmp_path_factory):
    if "app" not in FUZZ_APP:
        app = create_app({"DATA_DIR": tmp_path_factory.mktemp("fuzz"), "RATELIMIT_ENABLED": False,
                          "LOAD_DEMO": False, "WTF_CSRF_ENABLED": False})
        database = store.connect(app.config["DATABASE"])
        import_form(database, (FORMS / "household.md").read_bytes(), "household.md")
        FUZZ_APP.update(app=app, db=database)
    return FUZZ_APP["app"], FUZZ_APP["db"]


names = st.sampled_from(["consent", "people", "children", "income", "rent_share", "other_income", "visit_date",
                         "adults", "summary", "zzz", "_screen", "_action"])
values = st.one_of(st.sampled_from(["yes", "no", "work", "other", "benefits", "3", "0", "-1", "2.5", "1e9",
                                    "2024-02-30", "2024-01-01", "", " ", "OK", "\x00", "ሰላም", "9" * 40]),
                   st.text(max_size=30))
# An honest path through the form with hostile posts slipped in between its
# steps, so that most runs reach Submit and the stored answers can be checked.
HONEST = [{"consent": ["yes"]}, {"people": ["4"], "children": ["2"]}, {"income": ["work"], "rent_share": ["0,5"]},
          {"visit_date": ["2024-01-01"]}, {}]
hostile = st.dictionaries(names, st.lists(values, min_size=1, max_size=3), max_size=5)
posts = st.lists(st.lists(hostile, max_size=2), min_size=len(HONEST), max_size=len(HONEST)).map(
    lambda gaps: [post for gap, step in zip(gaps, HONEST) for post in gap + [step]])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=posts, submit=st.booleans())
def test_fuzzed_participant_posts(tmp_path_factory, sequence, submit):
    app, db = fuzz_app(tmp_path_factory)
    client = app.test_client()
    client.post("/f/household/start", data={"lang": "en"})
    client.post("/f/household/consent", data={"consent": "yes"})
    before = store.submissions.count_submissions(db, "household")
    for fields in sequence:
        draft_before = own_draft(db, client)
        current = Page(client.get("/f/household/q").get_data(as_text=True)).hidden_fields.get("_screen", "0")
        response = client.post("/f/household/q", data={"_screen": [current], **fields})
        assert response.status_code != 500 and response.status_code < 500
        if response.status_code in (400, 413, 415):
            draft_after = own_draft(db, client)
            assert draft_after == draft_before  # refused whole: nothing stored
    if submit:
        page = Page(client.get("/f/household/q").get_data(as_text=True))
        uuid = page.hidden_fields.get("_uuid")
        if uuid:
            with client.session_transaction() as session:
                token = session["drafts"]["household"]
            stored_draft = own_draft(db, client)[0]["answers"]
            draft = open_draft(token, stored_draft)
            response = client.post("/f/household/submit", data={"_uuid": uuid})
            assert response.status_code == 303
            if response.location.endswith("/q"):
                # Screens were skipped by posting another screen's number: Submit
                # sends the participant back to what is missing, and stores nothing.
                assert store.submissions.get_submission(db, uuid) is None
                return
            stored = store.submissions.get_submission(db, uuid)
            form = store.forms.current_form(db, "household")
            assert stored["answers"] == engine.final_answers(form, draft)  # intact, as accepted
            assert store.submissions.count_submissions(db, "household") == before + 1
            # and it reads back through the export, byte for byte
            assert any(uuid in chunk for chunk in export.export_csv(db, "household"))
            FUZZ_APP["submitted"] = FUZZ_APP.get("submitted", 0) + 1


def test_the_fuzz_reached_submit(tmp_path_factory):
    """The property above is only worth something if runs really submitted."""
    if "app" not in FUZZ_APP:
        pytest.skip("runs after test_fuzzed_participant_posts")
    assert FUZZ_APP.get("submitted", 0) >= 3


def test_behind_a_trusted_proxy_the_clients_address_is_the_forwarded_one(tmp_path):
    from fieldkit.services.accounts import new_setup_token
    app = create_app({"DATA_DIR": tmp_path, "TRUSTED_PROXIES": 1, "SIGNIN_RATE_LIMIT": "2 per minute"})
    database = store.connect(app.config["DATABASE"])
    token = new_setup_token(database)
    client = app.test_client()
    # The proxy itself is on 127.0.0.1; the client behind it is not.
    far = client.get(f"/console/setup/{token}", headers={"X-Forwarded-For": "198.51.100.7"})
    assert far.status_code == 403
    # even a forwarded 127.0.0.1 came through a proxy: only this machine itself, directly, opens the link
    assert client.get(f"/console/setup/{token}", headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 403
    assert client.get(f"/console/setup/{token}").status_code == 200
    csrf = csrf_of(client, "/console/login")
    tries = [client.post("/console/login", data={"username": "a", "password": "b", "csrf_token": csrf},
                         headers={"X-Forwarded-For": who}).status_code
             for who in ("198.51.100.7", "198.51.100.7", "198.51.100.7", "203.0.113.9")]
    assert tries == [401, 401, 429, 401]  # counted per client, not all as the proxy
