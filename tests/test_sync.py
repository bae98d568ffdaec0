"""Sync between two real fieldkits: a central running as a real `fieldkit serve`
process on a loopback port, and a laptop (its own SQLite file) driven through
the `fieldkit` commands (tests/syncworld.py). Faults come from a fault-injecting
proxy in front of the central (tests/faultproxy.py) or from killing the central's process.

After every fault: the central holds every submission exactly once and the
laptop knows which ones are synced."""
from __future__ import annotations

import gzip
import json
import re
import subprocess
import threading
import time
import uuid as uuidlib

import pytest
import requests

from conftest import FORMS, Participant
from faultproxy import FaultProxy
from fieldkit import create_app, store
from fieldkit.services.sync import to_wire
from fieldkit.store import sync as sync_store
from syncworld import (FIELDKIT, Central, Laptop, assert_exactly_once, console, counts, requests_seen, run_cli,
                       summary)


@pytest.fixture(scope="module")
def central(tmp_path_factory):
    server = Central(tmp_path_factory.mktemp("central") / "data")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def laptop(tmp_path):
    machine = Laptop(tmp_path / "laptop")
    yield machine
    machine.db.close()


@pytest.fixture
def proxy(central):
    faulty = FaultProxy(central.port)
    yield faulty
    faulty.stop()


def device_name() -> str:
    return "laptop-" + uuidlib.uuid4().hex[:8]


@pytest.fixture
def linked(central, laptop, proxy):
    """The laptop, registered on the central and linked to it through the proxy."""
    name = device_name()
    laptop.link(proxy.url, central.add_device(name))
    laptop.name = name
    return laptop


# --- the happy path and the console ------------------------------------------------------------

def test_sync_pushes_pulls_and_summarises(central, linked, proxy):
    made = linked.collect(30)
    result = linked.cli("sync")
    assert result.exit_code == 0, result.output
    assert summary(result).startswith("Sync complete: sent 30, new 30, duplicates 0, conflicts 0, forms pulled ")
    assert "Sending submissions" in result.output  # the progress bar (stderr)
    assert_exactly_once(central, linked, linked.name, made)
    assert store.forms.current_form(linked.db, "wellbeing") is not None  # the central's demo form, pulled
    again = linked.cli("sync")
    assert summary(again) == "Sync complete: sent 0, new 0, duplicates 0, conflicts 0, forms pulled 0"
    assert central.device(linked.name)["received"] == 30


# --- the named faults --------------------------------------------------------------------------

def test_central_killed_mid_batch_then_restarted(tmp_path, laptop):
    own = Central(tmp_path / "central")
    own.start()
    faulty = FaultProxy(own.port)
    restarting = threading.Thread(target=own.start)
    try:
        laptop.link(faulty.url, own.add_device("hall"))
        made = laptop.collect(450)  # three batches; the second is cut in half by the kill

        def kill_then_restart():
            own.kill()
            restarting.start()

        faulty.add("pass")
        faulty.add("kill", on_kill=kill_then_restart)
        result = laptop.cli("sync", "--retries", "8")
        restarting.join(timeout=30)
        assert result.exit_code == 0, result.output
        assert ("POST", "/api/v1/submissions", "kill") in faulty.log
        assert_exactly_once(own, laptop, "hall", made)
    finally:
        faulty.stop()
        restarting.join(timeout=30)
        own.stop()


@pytest.mark.parametrize("fault", ["cut", "drop"])
def test_connection_drops_mid_response(central, linked, proxy, fault):
    """The central committed the batch, but its answer is cut after a few bytes
    (or lost whole): not acknowledged, sent again, acknowledged as duplicates."""
    made = linked.collect(120)
    proxy.add(fault, after=25)
    result = linked.cli("sync")
    assert result.exit_code == 0, result.output
    assert summary(result).startswith("Sync complete: sent 120, new 0, duplicates 120, conflicts 0")
    assert_exactly_once(central, linked, linked.name, made)
    assert central.device(linked.name)["received"] == 120


def test_central_answers_500_then_recovers(central, linked, proxy):
    made = linked.collect(250)
    proxy.add("500", times=2)
    result = linked.cli("sync")
    assert result.exit_code == 0, result.output
    assert [what for _m, _p, what in proxy.log if what == "500"] == ["500", "500"]
    assert summary(result).startswith("Sync complete: sent 250, new 250, duplicates 0")
    assert_exactly_once(central, linked, linked.name, made)


def test_central_answers_200_with_an_html_page(central, linked, proxy):
    """A captive portal's 200 HTML page is no acknowledgement: nothing is marked
    synced on it. Once the real central answers, everything goes through once."""
    made = linked.collect(40)
    proxy.add("html", times=None)
    failed = linked.cli("sync", "--retries", "1")
    assert failed.exit_code == 1
    assert "wifi sign-in page" in failed.output and "40 not yet acknowledged" in summary(failed)
    assert set(linked.states().values()) == {None} and central.uuids_from(linked.name) == []
    proxy.clear()
    proxy.add("html")
    result = linked.cli("sync")
    assert result.exit_code == 0, result.output
    assert_exactly_once(central, linked, linked.name, made)


def test_same_batch_sent_twice(central, linked, proxy):
    made = linked.collect(10)
    records = [to_wire(store.submissions.get_submission(linked.db, u)) for u in made]
    token = sync_store.get_link(linked.db)["token"]
    body = gzip.compress(json.dumps({"submissions": records}).encode())
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Content-Encoding": "gzip"}
    answers = [requests.post(central.url + "/api/v1/submissions", data=body, headers=headers, timeout=30).json()
               for _ in range(2)]
    assert {r["outcome"] for r in answers[0]["results"]} == {"created"}
    assert {r["outcome"] for r in answers[1]["results"]} == {"duplicate"}
    # The laptop never heard those answers: its sync sends the batch a third time.
    result = linked.cli("sync")
    assert summary(result).startswith("Sync complete: sent 10, new 0, duplicates 10, conflicts 0")
    assert_exactly_once(central, linked, linked.name, made)
    device = central.device(linked.name)
    assert (device["received"], device["duplicates"], device["conflicts"]) == (10, 20, 0)


def test_uuid_conflict_keeps_both_and_is_shown_for_review(central, linked, proxy):
    made = linked.collect(5)
    clash = made[2]
    db = central.db()
    theirs = dict(store.submissions.get_submission(linked.db, clash), answers={"consent": "no"})
    store.submissions.add_submission(db, {k: theirs[k] for k in ("uuid", "form_id", "form_version", "language",
                                                                 "answers", "submitted_at")})
    result = linked.cli("sync", "--purge")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Sync complete")
    assert {k: counts(result)[k] for k in ("sent", "new", "duplicates", "conflicts", "purged")} == \
        {"sent": 5, "new": 4, "duplicates": 0, "conflicts": 1, "purged": 4}
    assert store.submissions.get_submission(db, clash)["answers"] == {"consent": "no"}  # never overwritten
    [kept] = [c for c in sync_store.list_conflicts(db) if c["uuid"] == clash]
    assert kept["device_name"] == linked.name
    assert linked.states() == {clash: "conflict"}  # kept on the laptop too, not purged
    assert summary(linked.cli("sync")).startswith("Sync complete: sent 0,")  # and not sent again
    db.close()
    # Shown for review: on the central, and on the laptop.
    page = console(central).get(f"/console/sync/conflicts/{kept['id']}").get_data(as_text=True)
    assert clash in page and "número 2" in page and linked.name in page
    assert clash in console(linked).get("/console/sync/").get_data(as_text=True)


def test_revoked_token_stops_with_a_clear_message(central, linked, proxy):
    first = linked.collect(3)
    assert linked.cli("sync").exit_code == 0
    assert central.cli("devices", "revoke", linked.name).exit_code == 0
    later = linked.collect(4)
    proxy.log.clear()
    result = linked.cli("sync")
    assert result.exit_code == 1
    assert "revoked" in result.output and "fieldkit link" in result.output
    assert requests_seen(proxy) == [("GET", "/api/v1/device")]  # no retries on a 401: one request, then stop
    assert all(linked.states()[u] is None for u in later)
    assert set(central.uuids_from(linked.name)) == set(first)
    # A new token, linked again: the rest goes through, once.
    linked.link(proxy.url, central.add_device(linked.name + "-new"))
    assert linked.cli("sync").exit_code == 0
    assert_exactly_once(central, linked, linked.name + "-new", later)
    assert set(central.uuids_from(linked.name)) == set(first)


def test_form_version_published_after_laptop_collected_on_an_older_one(central, linked, proxy, tmp_path):
    assert central.cli("forms", "add", str(FORMS / "household.md")).exit_code == 0
    assert linked.cli("sync").exit_code == 0  # pulls household version 1
    app = create_app({"DATA_DIR": linked.data, "DATABASE_URL": linked.database, "TESTING": True})
    participant = Participant(app.test_client(), "household")
    participant.start("en")
    participant.answer({"consent": "no"})
    participant.submit()
    [made] = [u for u, state in linked.states().items() if state is None]
    newer = tmp_path / "household.md"
    newer.write_text((FORMS / "household.md").read_text(encoding="utf-8")
                     .replace("| Household check | household | 1 |", "| Household check | household | 2 |"),
                     encoding="utf-8")
    assert central.cli("forms", "add", str(newer)).exit_code == 0
    result = linked.cli("sync")
    assert result.exit_code == 0, result.output
    assert "forms pulled 1" in summary(result)
    assert_exactly_once(central, linked, linked.name, [made])
    db = central.db()
    assert store.submissions.get_submission(db, made)["form_version"] == "1"  # kept on its own version
    db.close()
    assert store.forms.current_form(linked.db, "household").version == "2"  # new answers use the new one
    page = console(central).get("/console/forms/household/submissions").get_data(as_text=True)
    assert f"<td>1</td><td>{linked.name}</td>" in page  # its form version and its device


def test_a_batch_too_large_is_split(central, linked, proxy):
    made = linked.collect(230)
    proxy.add("too_large", times=None, limit=60)
    result = linked.cli("sync")
    assert result.exit_code == 0, result.output
    outcomes = [what for method, _p, what in proxy.log if method == "POST" and what in ("too_large", 200)]
    assert outcomes[0] == "too_large" and outcomes.count(200) >= 4
    assert_exactly_once(central, linked, linked.name, made)


# --- one sync at a time, purge, transport security ------------------------------------------------

def test_a_second_sync_at_the_same_time_does_not_double_send(central, linked, proxy):
    made = linked.collect(600)
    proxy.add("delay", times=None, seconds=0.3)
    command = FIELDKIT + ["sync", *linked.options]
    both = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=60) for p in both]
    assert sorted(p.returncode for p in both) in ([0, 0], [0, 3]), outputs
    assert central.device(linked.name)["duplicates"] == 0
    assert_exactly_once(central, linked, linked.name, made)


def test_a_held_lease_refuses_and_a_stale_one_is_taken_over(central, linked, proxy):
    made = linked.collect(5)
    assert sync_store.take_lease(linked.db, "another-sync", 60)
    busy = linked.cli("sync")
    assert busy.exit_code == 3 and "Another sync is running" in busy.output
    assert central.uuids_from(linked.name) == []
    assert sync_store.take_lease(linked.db, "another-sync", -1)  # as if its holder died long ago: expired
    assert linked.cli("sync").exit_code == 0
    assert_exactly_once(central, linked, linked.name, made)


def test_purge_deletes_only_what_the_central_confirmed(central, linked, proxy):
    confirmed = linked.collect(10)
    assert linked.cli("sync").exit_code == 0
    unconfirmed = linked.collect(5)
    proxy.add("500", times=None)
    result = linked.cli("sync", "--purge", "--retries", "0")
    assert result.exit_code == 1
    assert set(linked.states()) == set(unconfirmed)  # the 10 confirmed copies are gone, the 5 others stay
    assert set(central.uuids_from(linked.name)) == set(confirmed)


def test_plain_http_is_refused_except_to_this_machine(laptop):
    refused = laptop.cli("link", "http://central.example.org", "--token", "x")
    assert refused.exit_code == 1 and "--allow-http" in refused.output
    assert sync_store.get_link(laptop.db) is None


def test_tls_is_verified_and_a_custom_ca_bundle_works(central, laptop, tmp_path):
    import ssl
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    made = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                           "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key),
                           "-out", str(cert)], capture_output=True, timeout=60)
    if made.returncode:
        pytest.skip("openssl cannot make a test certificate here")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    tls = FaultProxy(central.port, tls=context)
    try:
        token = central.add_device(name := device_name())
        untrusted = laptop.cli("link", tls.url, "--token", token)
        assert untrusted.exit_code == 1 and "--ca-bundle" in untrusted.output
        laptop.link(tls.url, token, "--ca-bundle", str(cert))
        uuids = laptop.collect(3)
        assert laptop.cli("sync").exit_code == 0
        assert_exactly_once(central, laptop, name, uuids)
    finally:
        tls.stop()


# --- the console, the device list, backup, and a big run ------------------------------------------

def test_console_sync_now_runs_in_the_background_with_progress(central, linked, proxy):
    made = linked.collect(50)
    client = console(linked)
    sync_store.put_status(linked.db, {"state": "running", "stage": "push", "done": 200, "total": 1000,
                                      "started_at": "2025-01-01T00:00:00Z"})
    assert sync_store.take_lease(linked.db, "a-sync-elsewhere", 60)
    page = client.get("/console/sync/status").get_data(as_text=True)
    assert 'http-equiv="refresh"' in page and '<progress max="1000" value="200">' in page
    sync_store.release_lease(linked.db, "a-sync-elsewhere")
    page = client.get("/console/sync/").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    started = client.post("/console/sync/run", data={"csrf_token": token})
    assert started.status_code == 303 and started.location.endswith("/console/sync/status")
    deadline = time.monotonic() + 30
    while 'http-equiv="refresh"' in (page := client.get("/console/sync/status").get_data(as_text=True)):
        assert time.monotonic() < deadline, "the background sync did not finish"
        time.sleep(0.1)
    assert "Sync complete" in page
    assert_exactly_once(central, linked, linked.name, made)
    central_page = console(central).get("/console/sync/").get_data(as_text=True)
    assert linked.name in central_page


def test_devices_list_and_backup_while_serving(central, linked, proxy, tmp_path):
    linked.collect(7)
    assert linked.cli("sync").exit_code == 0
    listing = central.cli("devices", "list")
    assert linked.name in listing.output and "received 7" in listing.output
    target = tmp_path / "backup.db"
    result = central.cli("backup", str(target))
    if central.database.startswith("postgresql://"):
        assert result.exit_code == 1 and "pg_dump" in result.output and not target.exists()
        return
    assert result.exit_code == 0, result.output
    copy = store.connect(target)
    assert set(central.uuids_from(linked.name)) <= {r["uuid"] for r in copy.query("SELECT uuid FROM submissions")}
    copy.close()
    assert central.cli("backup", str(target)).exit_code == 1  # no silent overwrite


def test_five_thousand_submissions(central, laptop, capsys):
    name = device_name()
    laptop.link(central.url, central.add_device(name))
    made = laptop.collect(5000)
    started = time.monotonic()
    result = laptop.cli("sync")
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert summary(result).startswith("Sync complete: sent 5000, new 5000, duplicates 0")
    assert_exactly_once(central, laptop, name, made)
    with capsys.disabled():
        print(f"\n5,000 submissions synced in {elapsed:.1f} s")


def test_events_travel_by_code_so_the_central_compares_gatherings(central, linked, proxy):
    event = store.events.add_event(linked.db, {"name": "Saturday at the hall", "site": "Fresno"}, ["wellbeing"])
    made = linked.collect(4)
    linked.db.execute("UPDATE submissions SET event_id = ? WHERE uuid IN (?, ?)", [event["id"], made[0], made[1]])
    result = linked.cli("sync")
    assert result.exit_code == 0, result.output
    db = central.db()
    try:
        there = store.events.event_by_code(db, event["code"])
        assert there["name"] == "Saturday at the hall" and there["site"] == "Fresno" and "wellbeing" in there["forms"]
        held = {r["uuid"]: r["event_id"] for r in db.query(
            "SELECT uuid, event_id FROM submissions WHERE uuid IN (?, ?, ?, ?)", made)}
        assert held[made[0]] == held[made[1]] == there["id"] and held[made[2]] is None
        assert store.submissions.count_filtered(db, "wellbeing", event_id=there["id"]) == 2
    finally:
        db.close()
    assert_exactly_once(central, linked, linked.name, made)


def test_media_come_with_a_pulled_form_and_photos_go_back_with_answers(central, linked, proxy):
    """Issue 8 through two real fieldkits: a form with images, audio and a CSV of
    choices, added on the central, is pulled with its files; a photo a participant
    attaches on the laptop reaches the central with its submission, byte for byte."""
    import io
    media = sorted(str(p) for p in (FORMS / "prompts").iterdir())
    assert central.cli("forms", "add", str(FORMS / "prompts.md"), *media).exit_code == 0
    assert central.cli("forms", "add", str(FORMS / "t_files.md")).exit_code == 0
    result = linked.cli("sync")
    assert result.exit_code == 0, result.output
    pulled = store.forms.current_form(linked.db, "prompts")
    assert pulled is not None and [c.name for c in pulled.choices["districts.csv"]] == ["hill", "river", "harbour"]
    app = create_app({"DATA_DIR": linked.data, "DATABASE_URL": linked.database, "TESTING": True})
    client = app.test_client()
    p = Participant(client, "prompts")
    page = p.start("so")
    audio = re.search(r'<audio [^>]*src="([^"]+)"', page.html).group(1)
    assert client.get(audio).data == (FORMS / "prompts" / "question_so.wav").read_bytes()
    photo = (FORMS / "prompts" / "house.png").read_bytes()
    p = Participant(app.test_client(), "t_files")
    p.start("en")
    p.answer({"photo": (io.BytesIO(photo), "street.png")})
    for _ in range(4):
        p.answer({})
    assert p.submit().status_code == 303
    [made] = [u for u, state in linked.states().items() if state is None]
    result = linked.cli("sync")
    assert result.exit_code == 0, result.output
    assert_exactly_once(central, linked, linked.name, [made])
    db = central.db()
    try:
        sub = store.submissions.get_submission(db, made)
        stored = store.attachments.get(db, made, sub["answers"]["photo"])
        assert stored["data"] == photo and stored["sealed"] is None
    finally:
        db.close()


def test_answers_to_a_form_the_central_lacks_stay_unsynced_and_are_never_purged(central, linked):
    kept_here = linked.collect(3, form_id="wellbeing", version="not-on-the-central")
    fine = linked.collect(2)
    result = linked.cli("sync", "--purge")
    assert result.exit_code != 0
    assert "no form wellbeing version not-on-the-central" in result.output and "3 answers" in result.output
    states = linked.states()
    assert all(states[u] is None for u in kept_here)  # still here, still unsynced
    assert set(central.uuids_from(linked.name)) >= set(fine) and not set(central.uuids_from(linked.name)) & set(kept_here)
