"""The laptop delivering to an OpenRosa server (issue 17): `fieldkit link URL --openrosa`, then
`fieldkit sync`. There is no ODK Central or KoboToolbox to run here, so a second fieldkit plays
the server, through its own OpenRosa endpoints (a collector's URL, as an ODK Central app user's
URL is), behind the fault-injecting proxy of the sync tests: killed mid-POST, dropped answers,
500s, a captive portal's 200 HTML, resends. Exactly once by instanceID, every time."""
from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from click.testing import CliRunner

from faultproxy import FaultProxy
from fieldkit.cli import main
from fieldkit import store
from syncworld import DEMO_VERSION, Central, Laptop, counts, run_cli

DEMO = Path(__file__).resolve().parent.parent / "fieldkit" / "demo" / "wellbeing.md"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A second fieldkit as the team's OpenRosa server, and a collector's URL on it."""
    upstream = Central(tmp_path_factory.mktemp("openrosa") / "data")
    upstream.start()
    added = upstream.cli("collectors", "add", "laptop", "--no-qr", "--server", upstream.url)
    assert added.exit_code == 0, added.output
    upstream.token = added.output.strip().splitlines()[-1].rsplit("/", 1)[1]
    yield upstream
    upstream.stop()


@pytest.fixture
def proxy(server):
    faulty = FaultProxy(server.port)
    yield faulty
    faulty.stop()


@pytest.fixture
def laptop(tmp_path, server, proxy):
    machine = Laptop(tmp_path / "laptop")
    assert machine.cli("forms", "add", str(DEMO)).exit_code == 0  # the same form as the server's
    machine.url = f"{proxy.url}/collect/{server.token}"
    result = machine.cli("link", machine.url, "--openrosa")
    assert result.exit_code == 0, result.output
    machine.link_output = result.output
    yield machine
    machine.db.close()


def held(server, uuids) -> list[str]:
    db = server.db()
    try:
        wanted = set(uuids)
        return [r["uuid"] for r in db.query("SELECT uuid FROM submissions") if r["uuid"] in wanted]
    finally:
        db.close()


def assert_delivered_once(server, laptop, uuids):
    found = held(server, uuids)
    assert sorted(found) == sorted(uuids)  # each once: uuid is the primary key, and none missing
    assert all(laptop.states()[u] == "synced" for u in uuids)


def test_link_says_which_forms_the_server_has_at_the_same_version(laptop):
    assert "Linked to the OpenRosa server" in laptop.link_output
    assert f"wellbeing version {DEMO_VERSION}: on the server" in laptop.link_output
    assert laptop.cli("link", "http://127.0.0.1:9/nothing", "--openrosa").exit_code == 0  # offline: kept, said so


def test_answers_are_delivered_as_instance_xml_once(server, laptop, proxy):
    made = laptop.collect(12)
    result = laptop.cli("sync")
    assert result.exit_code == 0, result.output
    assert counts(result)["sent"] == 12
    assert_delivered_once(server, laptop, made)
    db = server.db()
    try:
        one = store.submissions.get_submission(db, made[3])
    finally:
        db.close()
    assert one["answers"]["comments"] == "número 3" and one["answers"]["household_size"] == "4"
    again = laptop.cli("sync")  # nothing left: nothing sent again
    assert again.exit_code == 0 and counts(again)["sent"] == 0
    assert ("HEAD", f"/collect/{server.token}/submission") in [(m, p) for m, p, _ in proxy.log]


def test_a_resend_after_a_lost_answer_is_acknowledged_without_a_second_submission(server, laptop, proxy):
    made = laptop.collect(3)
    proxy.add("drop", path=f"/collect/{server.token}/submission")  # stored upstream; the answer lost
    result = laptop.cli("sync", "--retries", "3")
    assert result.exit_code == 0, result.output
    assert_delivered_once(server, laptop, made)


@pytest.mark.parametrize("fault", ["500", "html", "cut"])
def test_a_failed_or_false_acknowledgement_is_retried_and_never_counted(server, laptop, proxy, fault):
    """A captive portal's 200 HTML page is not an OpenRosa response: nothing is marked sent on it."""
    made = laptop.collect(4)
    proxy.add(fault, path=f"/collect/{server.token}/submission", times=2)
    result = laptop.cli("sync", "--retries", "4")
    assert result.exit_code == 0, result.output
    assert_delivered_once(server, laptop, made)
    assert (f"/collect/{server.token}/submission", fault) in [(p, w) for _, p, w in proxy.log]


def test_a_portal_that_never_lets_go_leaves_everything_unsent(server, laptop, proxy):
    made = laptop.collect(2)
    proxy.add("html", path=f"/collect/{server.token}/", times=None)
    result = laptop.cli("sync", "--retries", "2")
    assert result.exit_code == 1
    assert all(laptop.states()[u] is None for u in made) and held(server, made) == []
    purged = laptop.cli("sync", "--retries", "0", "--purge")
    assert purged.exit_code == 1 and all(laptop.states()[u] is None for u in made)  # --purge never drops the unsent


def test_server_killed_mid_post_then_restarted(tmp_path):
    own = Central(tmp_path / "upstream")
    own.start()
    token = own.cli("collectors", "add", "laptop", "--no-qr").output.strip().splitlines()[-1].rsplit("/", 1)[1]
    faulty = FaultProxy(own.port)
    laptop = Laptop(tmp_path / "laptop")
    assert laptop.cli("forms", "add", str(DEMO)).exit_code == 0
    restarting = threading.Thread(target=own.start)
    try:
        assert laptop.cli("link", f"{faulty.url}/collect/{token}", "--openrosa").exit_code == 0
        made = laptop.collect(6)

        def kill_then_restart():
            own.kill()
            restarting.start()

        faulty.add("pass", path=f"/collect/{token}/submission", times=2)
        faulty.add("kill", path=f"/collect/{token}/submission", on_kill=kill_then_restart)
        result = laptop.cli("sync", "--retries", "8")
        restarting.join(timeout=30)
        assert result.exit_code == 0, result.output
        assert ("POST", f"/collect/{token}/submission", "kill") in faulty.log
        assert_delivered_once(own, laptop, made)
    finally:
        faulty.stop()
        restarting.join(timeout=30)
        own.stop()
        laptop.db.close()


def test_purge_after_delivery_deletes_only_what_the_server_acknowledged(server, laptop, proxy):
    made = laptop.collect(3)
    result = laptop.cli("sync", "--purge")
    assert result.exit_code == 0, result.output
    assert sorted(held(server, made)) == sorted(made)
    assert not set(made) & set(laptop.states())  # the confirmed copies are gone from the laptop


def test_answers_to_a_form_version_the_server_lacks_stay_here_said_why(server, laptop):
    made = laptop.collect(2, version="1999")
    result = laptop.cli("sync")
    assert result.exit_code == 1
    assert "same form_id and version" in result.output and "1999" in result.output
    assert all(laptop.states()[u] is None for u in made) and held(server, made) == []


def test_encrypted_answers_stay_here_said_why(server, laptop):
    from fieldkit import crypto
    from fieldkit.services import forms as form_service
    _private, public = crypto.new_key_pair(2048)
    form_service.set_public_key(laptop.db, "wellbeing", public)
    sealed = laptop.collect(1)
    db = laptop.db
    with store.db.write(db):  # sealed as the participant's pages seal them
        for uuid in sealed:
            answers = store.submissions.get_submission(db, uuid)["answers"]
            db.execute("UPDATE submissions SET answers = ? WHERE uuid = ?", [json.dumps(crypto.seal(public, answers)), uuid])
    result = laptop.cli("sync")
    assert result.exit_code == 1 and "encrypted" in result.output
    assert held(server, sealed) == []


def test_a_conflict_upstream_is_kept_apart_not_resent(server, laptop, proxy):
    """The same instanceID with other content upstream: fieldkit's server keeps it for review
    (202); ODK Central answers 409. Either way the laptop's copy is not sent again."""
    made = laptop.collect(1)
    other = Laptop(laptop.data.parent / "other")
    assert other.cli("forms", "add", str(DEMO)).exit_code == 0
    try:
        assert other.cli("link", laptop.url, "--openrosa").exit_code == 0
        with store.db.write(other.db):
            store.submissions.add_submission(other.db, {
                "uuid": made[0], "form_id": "wellbeing", "form_version": DEMO_VERSION, "language": "en",
                "answers": {"consent": "yes", "comments": "another"}, "submitted_at": "2025-06-02T10:00:00Z"})
        assert other.cli("sync").exit_code == 0
        result = laptop.cli("sync")
        assert result.exit_code == 0, result.output
        assert laptop.states()[made[0]] in ("synced", "conflict")
        again = laptop.cli("sync")
        assert counts(again)["sent"] == 0
    finally:
        other.db.close()


def test_wrong_credentials_are_said_plainly(server, tmp_path, proxy):
    machine = Laptop(tmp_path / "wrong")
    try:
        result = machine.cli("link", f"{proxy.url}/collect/not-a-token", "--openrosa")
        assert result.exit_code != 0 and "does not accept" in result.output
    finally:
        machine.db.close()
    assert run_cli("link", "http://192.0.2.1/collect/x", "--openrosa", "--data", str(tmp_path / "x")).exit_code != 0


def test_the_console_shows_the_server_without_its_secret_nor_the_password(laptop, server, tmp_path):
    from fieldkit import create_app
    from conftest import PASSWORD, sign_in
    app = create_app({"DATA_DIR": laptop.data, "DATABASE_URL": laptop.database, "TESTING": True})
    store.users.add_user(laptop.db, "coordinator", PASSWORD, "coordinator")
    link = store.sync.get_link(laptop.db)
    link["password"] = "secret-password-123"
    store.sync.set_link(laptop.db, link)
    client = app.test_client()
    assert sign_in(client, "coordinator").status_code == 303
    page = client.get("/console/sync/").get_data(as_text=True)
    assert "/collect/…" in page and server.token not in page and "secret-password-123" not in page
    audit = " ".join(str(e) for e in store.audit.recent(laptop.db))
    assert server.token not in audit


# --- KoboToolbox's accounts: a stand-in, since KoboToolbox itself cannot run here --------------

class KoboAuth:
    """A stand-in for KoboToolbox's OpenRosa endpoints as far as their accounts go (a mock: the
    real server cannot run here): every request must carry the account's name and password,
    by HTTP Basic or by Digest (RFC 7616, MD5, qop=auth), as the challenge asks. What passes is
    relayed to a real fieldkit's OpenRosa endpoints, so the rest of the exchange is real."""

    def __init__(self, target: str, scheme: str, username="amina", password="kobo-pass-1"):
        import hashlib
        import http.server
        import secrets
        import threading as threads

        import requests

        owner = self
        self.seen: list[str] = []
        nonce = secrets.token_hex(16)

        def md5(text: str) -> str:
            return hashlib.md5(text.encode()).hexdigest()

        def authorised(handler) -> bool:
            header = handler.headers.get("Authorization", "")
            if scheme == "basic":
                import base64
                return header == "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
            if not header.startswith("Digest "):
                return False
            fields = dict(part.strip().split("=", 1) for part in header[7:].split(","))
            fields = {k: v.strip('"') for k, v in fields.items()}
            expected = md5(":".join([md5(f"{username}:kobo:{password}"), nonce, fields.get("nc", ""),
                                     fields.get("cnonce", ""), "auth", md5(f"{handler.command}:{fields.get('uri', '')}")]))
            return fields.get("username") == username and fields.get("nonce") == nonce and fields.get("response") == expected

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_one(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if not authorised(self):
                    owner.seen.append("challenged")
                    self.send_response(401)
                    challenge = ('Basic realm="kobo"' if scheme == "basic"
                                 else f'Digest realm="kobo", nonce="{nonce}", qop="auth", algorithm=MD5')
                    self.send_header("WWW-Authenticate", challenge)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                owner.seen.append(f"{self.command} {self.path}")
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "authorization",
                                                                                    "content-length", "connection")}
                answer = requests.request(self.command, target + self.path, data=body, headers=headers, timeout=30)
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in ("content-length", "connection", "transfer-encoding", "content-encoding"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(answer.content)

            do_GET = do_POST = do_HEAD = handle_one

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threads.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("scheme", ["basic", "digest"])
def test_a_kobotoolbox_account_by_basic_or_digest(server, tmp_path, scheme):
    kobo = KoboAuth(server.url, scheme)
    machine = Laptop(tmp_path / "laptop")
    try:
        assert machine.cli("forms", "add", str(DEMO)).exit_code == 0
        url = f"{kobo.url}/collect/{server.token}"
        result = CliRunner().invoke(main, ["link", url, "--openrosa", "--username", "amina", "--password-stdin",
                                           *machine.options], input="not-the-password\n")
        assert result.exit_code != 0 and "does not accept these credentials" in result.output
        result = CliRunner().invoke(main, ["link", url, "--openrosa", "--username", "amina", "--password-stdin",
                                           *machine.options], input="kobo-pass-1\n")
        assert result.exit_code == 0, result.output
        made = machine.collect(3)
        synced = machine.cli("sync")
        assert synced.exit_code == 0, synced.output
        assert_delivered_once(server, machine, made)
        assert "challenged" in kobo.seen and any(s.startswith("POST ") for s in kobo.seen)
    finally:
        kobo.stop()
        machine.db.close()


def test_odk_encrypted_interviews_go_on_encrypted_and_open_there_with_the_key(tmp_path):
    """What ODK Collect encrypted itself reaches the team's server as it came (the laptop never
    could read it), and opens there with the private key: the same as Collect sending it there."""
    import uuid as uuidlib

    from fieldkit.forms import engine, instance
    from fieldkit.services import export, forms as form_service, openrosa as openrosa_service
    from test_odk_encryption import FORMS, collect_encrypts
    from fieldkit import crypto
    private_pem, public = crypto.new_key_pair(2048)
    source = (FORMS / "household.md").read_text().replace(
        "|  | form_title | form_id | version | default_language |\n|  | Household check | household | 1 | Español (es) |",
        f"|  | form_title | form_id | version | default_language | public_key |\n"
        f"|  | Household check | household | 1 | Español (es) | {public} |")
    (tmp_path / "household.md").write_text(source)
    upstream = Central(tmp_path / "upstream")
    assert upstream.cli("forms", "add", str(tmp_path / "household.md")).exit_code == 0
    upstream.start()
    token = upstream.cli("collectors", "add", "laptop", "--no-qr").output.strip().splitlines()[-1].rsplit("/", 1)[1]
    laptop = Laptop(tmp_path / "laptop")
    try:
        assert laptop.cli("forms", "add", str(tmp_path / "household.md")).exit_code == 0
        form = store.forms.current_form(laptop.db, "household")
        uuid = str(uuidlib.uuid4())
        final = engine.final_answers(form, {"consent": "yes", "people": "2", "income": "work"})
        xml = instance.to_xml(form, form_service.xform(laptop.db, "household", form.version)[0], final, uuid)
        envelope, files = collect_encrypts(public, xml, f"uuid:{uuid}", {"1700000000001.jpg": b"\xff\xd8" * 5000})
        got = openrosa_service.receive(laptop.db, "tablet", envelope,
                                       {name: ("application/octet-stream", data) for name, data in files.items()},
                                       "laptop")
        assert got.outcome == "created"
        assert laptop.cli("link", f"{upstream.url}/collect/{token}", "--openrosa").exit_code == 0
        result = laptop.cli("sync")
        assert result.exit_code == 0, result.output
        assert laptop.states()[uuid] == "synced"
        db = upstream.db()
        try:
            stored = store.submissions.get_submission(db, uuid)
            assert stored["answers"][crypto.MARK]["scheme"] == "odk"  # still encrypted there
            private = crypto.load_private_key(private_pem)
            [row] = [r for r in export.readable(db, "household", private) if r["uuid"] == uuid]
            assert row["answers"] == final
            assert [data for _name, data in export.attached(db, "household", private)] == [b"\xff\xd8" * 5000]
        finally:
            db.close()
    finally:
        upstream.stop()
        laptop.db.close()
