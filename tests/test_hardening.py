"""Issue 13: tried as an attacker and as an unlucky participant would, against a real
`fieldkit serve` on loopback where the defect lived in the server's stack.

- A form author's regex cannot freeze the laptop: regex() is bounded in time and lets
  other participants' requests run meanwhile.
- Real-sized photos upload (the limit applied before CSRF reads the body was 64 KB)."""
import contextlib
import functools
import gzip
import io
import json
import logging
import os
import re
import subprocess
import threading
import time
import zipfile
from pathlib import Path

import pytest
import requests

from engines import instance_url
from fieldkit.forms import engine, expr, functions
from fieldkit.forms.media import MAX_UPLOAD_BYTES
from fieldkit.forms.xlsform import load_xlsform
from syncworld import FIELDKIT, Central, Laptop, run_cli
from test_serve import free_port, stop, wait_for

FORMS = Path(__file__).parent / "forms"


def evil_xlsx() -> bytes:
    """A constraint whose pattern backtracks without end on 'aaa...a!' (an .xlsx: the
    pattern's | would split a markdown table)."""
    import openpyxl
    book = openpyxl.Workbook()
    survey = book.active
    survey.title = "survey"
    for row in (["type", "name", "label", "constraint", "constraint_message"],
                ["text", "code", "Your code", "regex(., '^(a|a)*$')", "Only the letter a"],
                ["text", "more", "More", None, None]):
        survey.append(row)
    book.create_sheet("settings").append(["form_id"])
    book["settings"].append(["evil"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# ------------------------------------------------------------------ 1. ReDoS

def test_a_backtracking_regex_fails_its_constraint_with_the_forms_message_and_is_logged_once(caplog):
    form = load_xlsform(evil_xlsx(), "evil.xlsx")
    q = form.questions["code"]
    attack = "a" * 40 + "!"
    with caplog.at_level(logging.WARNING, logger="fieldkit.forms"):
        message = engine.check_answer(form, q, engine.evaluate(form, {"code": attack}))
        again = engine.check_answer(form, q, engine.evaluate(form, {"code": attack + "a!"}))
    assert message is not None and message.text == "Only the letter a" and again is not None
    told = [r for r in caplog.records if "backtracks" in r.getMessage()]
    assert len(told) == 1 and attack not in told[0].getMessage()  # once, and never the answer
    assert engine.check_answer(form, q, engine.evaluate(form, {"code": "aaaa"})) is None  # a fair answer still passes


def test_a_timed_out_regex_is_not_run_again_on_the_same_answer(monkeypatch):
    tree = expr.parse("regex(., '^(a|a)*$')")  # parse() compiles the literal pattern once itself
    calls = []
    real = functions._java_regex

    def counting(pattern):
        calls.append(pattern)
        return real(pattern)
    monkeypatch.setattr(functions, "_java_regex", counting)
    ctx = expr.Context(values=lambda n: "", current="a" * 45 + "!")
    assert expr.evaluate(tree, ctx) is False and expr.evaluate(tree, ctx) is False
    assert len(calls) == 1


@contextlib.contextmanager
def serving(data: Path, first_page: str = "/f/wellbeing", **settings):
    """A real `fieldkit serve` on a free loopback port, with FIELDKIT_<name> settings."""
    port = free_port()
    env = dict(os.environ, **{f"FIELDKIT_{k.upper()}": str(v) for k, v in settings.items()})
    process = subprocess.Popen(FIELDKIT + ["serve", "--host", "127.0.0.1", "--port", str(port), "--data", str(data),
                                           "--no-qr"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env=env)
    try:
        wait_for(f"http://127.0.0.1:{port}{first_page}", process)
        yield f"http://127.0.0.1:{port}", port
    finally:
        stop(process)


@pytest.fixture
def laptop_server(tmp_path):
    data = tmp_path / "laptop"
    (tmp_path / "evil.xlsx").write_bytes(evil_xlsx())
    demo = Path(__file__).resolve().parent.parent / "fieldkit" / "demo" / "wellbeing.md"
    for path in (tmp_path / "evil.xlsx", FORMS / "t_files.md", demo):
        done = subprocess.run(FIELDKIT + ["forms", "add", str(path), "--data", str(data)], capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
    # the phones of these tests all come from 127.0.0.1: per-address limits are for a crowd of one
    with serving(data, "/f/evil", submit_rate_limit="1000 per minute", collect_rate_limit="10000 per minute") as (base, _):
        yield base, data


def hidden(html: str) -> dict:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def begin(base: str, form: str, lang: str = "en") -> requests.Session:
    http = requests.Session()
    page = http.get(f"{base}/f/{form}")
    http.post(f"{base}/f/{form}/start", data={"lang": lang, "csrf_token": hidden(page.text)["csrf_token"]})
    consent = http.get(f"{base}/f/{form}/consent")
    assert http.post(f"{base}/f/{form}/consent", data={"consent": "yes", **hidden(consent.text)}).ok
    return http


def test_other_participants_pages_answer_while_one_answer_backtracks(laptop_server):
    base, _ = laptop_server
    attacker, other = begin(base, "evil"), begin(base, "evil")
    screen = hidden(attacker.get(f"{base}/f/evil/q").text)
    done = {}

    def attack():
        done["status"] = attacker.post(f"{base}/f/evil/q", data=dict(screen, _action="next", code="a" * 60 + "!"),
                                       allow_redirects=False, timeout=60).status_code
    thread = threading.Thread(target=attack)
    thread.start()
    answered_meanwhile = 0
    while thread.is_alive() and answered_meanwhile < 50:
        if other.get(f"{base}/f/evil/q", timeout=30).status_code == 200:
            answered_meanwhile += 1
    thread.join(timeout=60)
    assert done["status"] == 422  # the constraint failed, with its message
    assert answered_meanwhile >= 1  # while it was worked out, the other phone's pages came back


# ------------------------------------------------------------------ 2. real-sized uploads

def photo(size: int) -> bytes:
    return b"\xff\xd8\xff\xe0" + os.urandom(size - 4)  # a JPEG by its first bytes


def post_files(http, base, files=None, **fields):
    screen = hidden(http.get(f"{base}/f/t_files/q").text)
    return http.post(f"{base}/f/t_files/q", data=dict(screen, _action="next", **fields), files=files,
                     allow_redirects=False, timeout=120)


def test_real_sized_photos_upload_submit_export_and_sync(laptop_server, tmp_path):
    base, data = laptop_server
    http = begin(base, "t_files", "es")
    one_mb, big = photo(1024 * 1024), photo(MAX_UPLOAD_BYTES - 100 * 1024)  # 1 MB and 9.9 MB
    assert post_files(http, base, {"photo": ("one.jpg", one_mb, "image/jpeg")}).status_code == 303
    http.post(f"{base}/f/t_files/q", data=dict(hidden(http.get(f"{base}/f/t_files/q").text), _action="back"))
    too_big = post_files(http, base, {"photo": ("huge.jpg", photo(MAX_UPLOAD_BYTES + 1), "image/jpeg")})
    assert too_big.status_code == 422 and "10 MB" in too_big.text and 'lang="es"' in too_big.text
    assert post_files(http, base, {"photo": ("big.jpg", big, "image/jpeg")}).status_code == 303
    for _ in range(3):
        assert post_files(http, base).status_code == 303
    page = http.get(f"{base}/f/t_files/q").text
    while "_uuid" not in hidden(page):  # the room repeat's list page: go on
        response = http.post(f"{base}/f/t_files/q", data=dict(hidden(page), _action="next"), allow_redirects=False)
        assert response.status_code in (303, 422)
        page = http.get(f"{base}/f/t_files/q").text
    assert http.post(f"{base}/f/t_files/submit", data=hidden(page), allow_redirects=False).status_code == 303
    out = tmp_path / "files.zip"
    result = run_cli("export", "t_files", "--format", "zip", "--out", str(out), "--data", str(data))
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as archive:
        kept = [archive.read(n) for n in archive.namelist() if n.startswith("media/")]
    assert kept == [big]
    # and a central receives it whole, over real HTTP
    central = Central(tmp_path / "central")
    central.start()
    try:
        central.cli("forms", "add", str(FORMS / "t_files.md"))
        laptop = Laptop(data, instance_url(data))  # the database the laptop's serve used
        laptop.link(central.url, central.add_device("hall"))
        synced = laptop.cli("sync")
        assert synced.exit_code == 0, synced.output
        db = central.db()
        try:
            [row] = list(db.query("SELECT data FROM attachments"))
        finally:
            db.close()
        assert bytes(row["data"]) == big
    finally:
        central.stop()


# ------------------------------------------------------------------ 3. Submit, tapped several times at once

def at_review(base: str) -> tuple[requests.Session, dict]:
    """A phone that answered the demo and stands on its review page."""
    http = begin(base, "wellbeing")
    for _ in range(40):
        page = http.get(f"{base}/f/wellbeing/q").text
        fields = hidden(page)
        if "_uuid" in fields:
            return http, fields
        choice = re.search(r'type="radio" id="[^"]+" name="([^"]+)" value="([^"]+)"', page)
        data = dict(fields, _action="next", **({choice.group(1): choice.group(2)} if choice else {}))
        http.post(f"{base}/f/wellbeing/q", data=data, allow_redirects=False)
    raise AssertionError("never reached the review page")


def test_submit_sent_four_times_at_once_from_six_phones_thanks_every_time(laptop_server):
    base, data = laptop_server
    phones = [at_review(base) for _ in range(6)]
    outcomes = []

    def tap(http, fields):
        clone = requests.Session()  # the same cookie on four connections, as a browser resends
        clone.cookies.update(http.cookies)
        response = clone.post(f"{base}/f/wellbeing/submit", data=fields, allow_redirects=False, timeout=60)
        outcomes.append((response.status_code, response.headers.get("Location", "")))
    threads = [threading.Thread(target=tap, args=phone) for phone in phones for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert len(outcomes) == 24
    assert [o for o in outcomes if o[0] != 303 or not o[1].endswith("/f/wellbeing/done")] == []
    from fieldkit import store
    db = store.connect(instance_url(data))
    try:
        assert db.execute("SELECT COUNT(*), COUNT(DISTINCT uuid) FROM submissions").fetchone() == (6, 6)
        assert {p[1]["_uuid"] for p in phones} == {r[0] for r in db.execute("SELECT uuid FROM submissions")}
    finally:
        db.close()


def test_a_resend_after_the_laptop_restarted_is_thanked(laptop_server):
    base, _ = laptop_server
    http, fields = at_review(base)
    cookies = dict(http.cookies)
    assert http.post(f"{base}/f/wellbeing/submit", data=fields, allow_redirects=False).status_code == 303
    again = requests.post(f"{base}/f/wellbeing/submit", data=fields, cookies=cookies, allow_redirects=False)
    assert again.status_code == 303 and again.headers["Location"].endswith("/done")  # the old cookie, sent again
    stranger = begin(base, "wellbeing")  # someone else's phone posting that uuid learns nothing: start again
    forged = stranger.post(f"{base}/f/wellbeing/submit", data=dict(fields, csrf_token=hidden(
        stranger.get(f"{base}/f/wellbeing/q").text).get("csrf_token", "")), allow_redirects=False)
    assert forged.status_code in (400, 410)


# ------------------------------------------------------------------ 4, 10. console sessions and sign-in

from conftest import PASSWORD, sign_in  # noqa: E402
from fieldkit import store as fk_store  # noqa: E402


def copied(app, client):
    """Another browser holding a copy of this one's session cookie."""
    thief = app.test_client()
    cookie = client.get_cookie("session")
    thief.set_cookie("session", cookie.value)
    return thief


def test_signing_out_ends_every_copy_of_the_session(app, db, signed_in):
    client = signed_in("coordinator")
    thief = copied(app, client)
    assert thief.get("/console/").status_code == 200
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/console/").get_data(as_text=True)).group(1)
    assert client.post("/console/logout", data={"csrf_token": csrf}).status_code == 303
    assert thief.get("/console/").status_code == 303  # to the sign-in page
    assert thief.get("/console/forms/wellbeing/submissions").status_code == 303


@pytest.mark.parametrize("change", ["password", "removed", "removed and added again"])
def test_a_password_change_or_removal_ends_the_accounts_sessions(app, db, signed_in, change):
    client = signed_in("coordinator", "amina")
    assert client.get("/console/").status_code == 200
    if change == "password":
        fk_store.users.set_password(db, "amina", "another-long-password")
    else:
        fk_store.users.delete_user(db, "amina")
        if change == "removed and added again":
            fk_store.users.add_user(db, "amina", PASSWORD, "facilitator")
    assert client.get("/console/").status_code == 303


def test_the_session_cookie_is_secure_over_https(app):
    response = app.test_client().get("/console/login", base_url="https://central.example")
    cookie = next((h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")), "")
    assert "Secure" in cookie
    plain = app.test_client().get("/console/login")
    assert all("Secure" not in h for h in plain.headers.getlist("Set-Cookie"))


def test_an_unknown_name_locks_out_just_as_a_real_account_does(app, db):
    fk_store.users.add_user(db, "amina", PASSWORD, "coordinator")
    app.config["RATELIMIT_ENABLED"] = False

    def attempts(name):
        client = app.test_client()
        return [sign_in(client, name, "wrong-password").status_code for _ in range(7)]
    assert attempts("amina") == attempts("nobody-here")
    assert attempts("nobody-here")[-1] == 429


# ------------------------------------------------------------------ 8. malformed sync bodies

@pytest.mark.parametrize("body", [
    b"[" * 200_000 + b"]" * 200_000,  # past Python's stack: a RecursionError, once a 500
    json.dumps({"submissions": [{"answers": functools.reduce(lambda inner, _: {"a": inner}, range(40), {})}]}).encode(),
    b'{"submissions": [' + b'{"a": ' * 500 + b"1" + b"}" * 500 + b"]}",
])
def test_a_deeply_nested_sync_body_is_a_400_with_its_code(client, db, body):
    from fieldkit.store import devices
    token = devices.add_device(db, "hall")
    response = client.post("/api/v1/submissions", data=gzip.compress(body), headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "bad_batch"


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_a_sync_body_with_python_only_json_is_a_400_and_stores_nothing(client, db, constant):
    """Python's json reads NaN and Infinity, JSON has no such thing, and PostgreSQL's jsonb
    refuses them: a batch holding one is refused whole, before anything is stored."""
    from fieldkit.store import devices
    token = devices.add_device(db, "hall")
    body = (b'{"submissions": [{"uuid": "u-1", "form_id": "wellbeing", "form_version": "1", '
            b'"submitted_at": "2026-01-01T10:00:00Z", "answers": {"age": ' + constant + b'}}]}')
    response = client.post("/api/v1/submissions", data=body, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "bad_batch"
    assert fk_store.submissions.count_filtered(db, "wellbeing") == 0


# ------------------------------------------------------------------ 9. zip bombs

def zip_bomb(sheet_bytes: int) -> bytes:
    """A real XLSForm whose sheet is padded with a huge run of the same XML: tiny packed."""
    import openpyxl
    book = openpyxl.Workbook()
    book.active.title = "survey"
    book.active.append(["type", "name", "label"])
    book.active.append(["text", "a", "A"])
    plain = io.BytesIO()
    book.save(plain)
    out = io.BytesIO()
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            content = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = content.replace(b"</sheetData>", b"<row>" + b"<c/>" * (sheet_bytes // 4) + b"</row></sheetData>")
            dst.writestr(item, content, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return out.getvalue()


def test_a_zip_bomb_xlsx_is_refused_before_it_is_read(db, monkeypatch):
    from fieldkit.forms import xlsform
    from fieldkit.services import forms as form_service
    bomb = zip_bomb(200 * 1024 * 1024)
    assert len(bomb) < 1024 * 1024  # a small upload

    def never(*args, **kwargs):
        raise AssertionError("a zip bomb must not reach the spreadsheet reader")
    monkeypatch.setattr("pyxform.xls2json_backends.get_xlsform", never)
    before = db.count("forms")
    with pytest.raises(xlsform.FormImportError) as caught:
        form_service.import_form(db, bomb, "bomb.xlsx")
    assert "unpacks to far more" in caught.value.problems[0].render()
    assert db.count("forms") == before


def test_the_console_refuses_a_zip_bomb_in_the_coordinators_language(signed_in):
    client = signed_in("coordinator")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/console/").get_data(as_text=True)).group(1)
    response = client.post("/console/forms", data={"csrf_token": csrf, "xlsform": (io.BytesIO(zip_bomb(60 * 1024 * 1024)),
                                                                                 "bomb.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and "bomb.xlsx" in response.get_data(as_text=True)


# ------------------------------------------------------------------ 6. behind a reverse proxy

@pytest.fixture
def proxied_server(tmp_path):
    with serving(tmp_path / "central", trusted_proxies=1, signin_rate_limit="10 per minute") as (base, _):
        yield base


def sign_ins(base: str, forwarded_for) -> list[int]:
    statuses = []
    for n in range(12):
        http = requests.Session()
        headers = {"X-Forwarded-For": forwarded_for(n)}
        page = http.get(f"{base}/console/login", headers=headers)
        statuses.append(http.post(f"{base}/console/login", headers=headers, data={
            "username": f"someone-{n}", "password": "not-it", "csrf_token": hidden(page.text)["csrf_token"]}).status_code)
    return statuses


def test_trusted_proxies_works_through_the_real_server(proxied_server):
    base = proxied_server
    # twelve people behind the central's proxy: each is a client of their own, none hits the per-client limit
    assert 429 not in sign_ins(base, lambda n: f"198.51.100.{n + 1}")
    # one client trying twelve times is limited (the limit is 10 a minute)
    assert sign_ins(base, lambda n: "203.0.113.7")[-1] == 429


@pytest.mark.parametrize("server", ["granian", "waitress"])
def test_the_rate_limit_counts_one_device_across_serves_worker_processes(tmp_path, server):
    """--workers 2: each sign-in on a new connection, so the kernel spreads them over both
    processes; the device is still held to 10 a minute, counted once (web/shared_limits)."""
    with serving(tmp_path / "laptop", signin_rate_limit="10 per minute", workers=2, server=server) as (base, _):
        statuses = sign_ins(base, lambda n: "ignored-without-a-proxy")
    assert 429 not in statuses[:10] and statuses[10:] == [429, 429]


def test_the_laptop_only_setup_link_needs_a_client_that_came_through_no_proxy(proxied_server):
    base = proxied_server
    setup = requests.get(f"{base}/console/setup/whatever", headers={"X-Forwarded-For": "127.0.0.1"})
    assert setup.status_code == 403  # even a forwarded 127.0.0.1 is not this machine
    assert requests.get(f"{base}/console/setup/whatever").status_code == 404  # this machine: a wrong token


# ------------------------------------------------------------------ 7. connection exhaustion

@pytest.fixture(params=["granian", "waitress"])
def capped_server(request, tmp_path):
    with serving(tmp_path / "laptop", max_connections_per_client=20, header_seconds=3,
                 server=request.param) as (_, port):
        yield port, request.param


def test_one_device_holding_many_half_sent_connections_cannot_lock_out_the_others(capped_server):
    """waitress has 1,000 connections for everyone: past its share (MAX_CONNECTIONS_PER_CLIENT) a
    device's connections are closed at once. granian has no such pool to exhaust (a connection is
    no thread and no slot) and no per-client count: each half-sent connection is closed when its
    headers are HEADER_SECONDS late."""
    import socket
    port, server = capped_server
    held = []
    try:
        for _ in range(300):  # one device (127.0.0.2), each connection a request that never finishes
            s = socket.socket()
            s.bind(("127.0.0.2", 0))
            s.settimeout(5)
            try:
                s.connect(("127.0.0.1", port))
                s.sendall(b"GET /f/wellbeing HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            except OSError:
                s.close()
                continue
            held.append(s)
        # the gathering's other phones are still served, at once
        for _ in range(5):
            assert requests.get(f"http://127.0.0.1:{port}/f/wellbeing", timeout=10).status_code == 200
        if server == "granian":
            time.sleep(3 + 2)  # the header deadline, and a margin
        closed = 0
        for s in held:  # the device's connections past its share (all of them, on granian) were closed
            try:
                s.settimeout(0.2)
                if s.recv(1) == b"":
                    closed += 1
            except socket.timeout:
                pass
            except OSError:
                closed += 1
        assert closed >= len(held) - (20 if server == "waitress" else 0)
    finally:
        for s in held:
            s.close()


def test_phones_that_go_away_mid_upload_do_not_hold_the_laptops_threads(capped_server):
    """A phone that walks out of the wifi while sending a photo stops sending and never closes
    its connection. Twenty of them, more than serve's threads, each half-way through a body it
    declared: the others are still served at once. Bodies are read before a thread takes the
    request: by waitress's main loop, and on granian by web/rsgi.Bridge (granian's own WSGI
    interface hands the request to a thread first, which then waits on the body for ever:
    granian issue #728)."""
    import socket
    port, _server = capped_server
    held = []
    try:
        for n in range(20):  # twenty phones, each its own address
            s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(f"127.0.0.{n + 10}", 0))
            s.sendall(b"POST /f/wellbeing/q HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                      b"Content-Length: 300000\r\n\r\n--b\r\n" + b"x" * 20_000)
            held.append(s)
        time.sleep(0.5)
        for _ in range(5):
            assert requests.get(f"http://127.0.0.1:{port}/f/wellbeing", timeout=5).status_code == 200
    finally:
        for s in held:
            s.close()


@pytest.mark.slow
def test_a_request_whose_headers_trickle_in_is_closed(tmp_path):
    import socket
    with serving(tmp_path / "laptop", header_seconds=1) as (_, port):
        s = socket.create_connection(("127.0.0.1", port), timeout=1)
        s.sendall(b"GET /f/wellbeing HTTP/1.1\r\n")
        closed = False
        for _ in range(30):  # one header byte a second keeps waitress's idle timer from ever firing
            try:
                s.sendall(b"X")
                if s.recv(1) == b"":
                    closed = True
                    break
            except socket.timeout:
                continue
            except OSError:
                closed = True
                break
        s.close()
        assert closed


# ------------------------------------------------------------------ 11. a form's key replaced

def test_answers_sealed_before_and_after_a_key_change_export_with_both_keys(tmp_path, participant, db, client):
    from click.testing import CliRunner

    from conftest import submit_household
    from fieldkit import crypto
    from fieldkit.cli import main
    from fieldkit.services.forms import import_form
    from test_encryption import encrypted_household
    old_pem, old_public = crypto.new_key_pair(bits=2048)
    new_pem, new_public = crypto.new_key_pair(bits=2048)
    import_form(db, encrypted_household(old_public), "household.md")
    submit_household(participant("household"), "before the change")
    fk_store.forms.set_public_key(db, "household", new_public)  # the console's "replace the key"
    submit_household(participant("household", client_=client.application.test_client()), "after the change")
    keys = {}
    for name, pem in (("old", old_pem), ("new", new_pem)):
        keys[name] = tmp_path / f"{name}.pem"
        keys[name].write_bytes(pem)
    data = ["--data", str(Path(client.application.config["DATA_DIR"]))]
    out = tmp_path / "answers.csv"
    for given in (["old"], ["new"]):  # one key alone: refused before a byte is written, saying what is needed
        result = CliRunner().invoke(main, ["export", "household", "--out", str(out), *data,
                                           *sum((["--key", str(keys[k])] for k in given), [])])
        assert result.exit_code != 0 and not out.exists(), result.output
        wanted = crypto.fingerprint(crypto.load_private_key((new_pem if given == ["old"] else old_pem)))
        assert f"1 answer(s) need the key {wanted}" in result.output
    result = CliRunner().invoke(main, ["decrypt", "household", "--key", str(keys["old"]), "--key", str(keys["new"]),
                                       "--out", str(out), *data])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8-sig")
    assert "before the change" in text and "after the change" in text


def test_the_console_names_how_many_answers_need_another_key(participant, db, client, signed_in):
    from conftest import submit_household
    from fieldkit import crypto
    from fieldkit.services.forms import import_form
    from test_encryption import encrypted_household
    old_pem, old_public = crypto.new_key_pair(bits=2048)
    _new_pem, new_public = crypto.new_key_pair(bits=2048)
    import_form(db, encrypted_household(old_public), "household.md")
    submit_household(participant("household"), "before")
    fk_store.forms.set_public_key(db, "household", new_public)
    submit_household(participant("household", client_=client.application.test_client()), "after")
    coordinator = signed_in("coordinator")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"',
                     coordinator.get("/console/forms/household").get_data(as_text=True)).group(1)
    response = coordinator.post("/console/forms/household/export", data={
        "csrf_token": csrf, "format": "csv", "key": [(io.BytesIO(old_pem), "old.pem")]},
        content_type="multipart/form-data")
    assert response.status_code == 422 and "1 answers need a private key" in response.get_data(as_text=True)


def test_answers_sealed_before_keys_were_named_open_with_whichever_key_fits():
    from fieldkit import crypto
    pems = [crypto.new_key_pair(bits=2048) for _ in range(2)]
    sealed = crypto.seal(pems[1][1], {"q": "older"})
    del sealed[crypto.MARK]["kid"]  # as answers sealed before this change were
    keys = [crypto.load_private_key(pem) for pem, _ in pems]
    assert crypto.Keyring(keys).unseal(sealed) == {"q": "older"}
    assert not crypto.Keyring(keys[:1]).opens(sealed)
