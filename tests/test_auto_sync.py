"""Sync by itself (issue 15): a linked laptop's `fieldkit serve` delivers its answers
as soon as its central answers, with no one running `fieldkit sync`; a captive portal
is not the central; a manual sync beside it sends nothing twice. The central is a real
`fieldkit serve` process (tests/syncworld.py), the laptop another one."""
from __future__ import annotations

import subprocess
import time
import uuid as uuidlib

import pytest

from faultproxy import FaultProxy
from fieldkit.store import sync as sync_store
from fieldkit.sync import auto, runner
from syncworld import FIELDKIT, Central, Laptop, assert_exactly_once
from test_serve import free_port, stop, wait_for

INTERVAL = 2  # seconds: short, so a test sees two intervals


class Serving:
    """The laptop's own `fieldkit serve`, syncing by itself every INTERVAL seconds."""

    def __init__(self, laptop: Laptop, *extra: str):
        self.port = free_port()
        self.log = laptop.data.parent / f"serve-{self.port}.log"
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                FIELDKIT + ["serve", "--host", "127.0.0.1", "--port", str(self.port), *laptop.options,
                            "--no-qr", "--sync-every", str(INTERVAL), *extra],
                stdout=out, stderr=subprocess.STDOUT, text=True)
        wait_for(f"http://127.0.0.1:{self.port}/f/wellbeing", self.process)

    def said(self) -> str:
        """What the laptop's terminal shows so far."""
        return self.log.read_text(encoding="utf-8")

    def stop(self) -> str:
        stop(self.process)
        return self.said()


def until(check, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def laptop(tmp_path):
    machine = Laptop(tmp_path / "laptop")
    yield machine
    machine.db.close()


@pytest.mark.slow
def test_answers_reach_a_central_that_comes_up_later_by_themselves(tmp_path, laptop):
    central = Central(tmp_path / "central")
    name = "hall-" + uuidlib.uuid4().hex[:6]
    laptop.link(central.url, central.add_device(name))  # the central is down: the link is kept
    serving = Serving(laptop)
    try:
        made = laptop.collect(25)
        time.sleep(INTERVAL + 1)  # at least one attempt fails: nothing is there to answer
        assert central.uuids_from(name) == [] and set(laptop.states().values()) == {None}
        central.start()
        assert until(lambda: set(central.uuids_from(name)) == set(made), seconds=4 * INTERVAL + 20)
        assert until(lambda: set(laptop.states().values()) == {"synced"})
        assert_exactly_once(central, laptop, name, made)
        assert central.device(name)["duplicates"] == 0
        assert until(lambda: "Synced by itself: Sync complete: sent 25" in serving.said())  # once the run is over
    finally:
        output = serving.stop()
        central.stop()
    assert "Sync by itself failed" in output  # while the central was down: a line, not silence
    status = sync_store.get_status(laptop.db)
    assert status["by"] == "auto" and sync_store.get_last_success(laptop.db)["at"]


@pytest.mark.slow
def test_a_captive_portal_is_not_the_central_and_the_laptop_tries_again(tmp_path, laptop):
    central = Central(tmp_path / "central")
    central.start()
    proxy = FaultProxy(central.port)
    name = "park-" + uuidlib.uuid4().hex[:6]
    try:
        laptop.link(proxy.url, central.add_device(name))
        made = laptop.collect(10)
        proxy.add("html", path="/api/v1", times=None)  # a hotel's sign-in page answers everything
        serving = Serving(laptop)
        try:
            assert until(lambda: sum(1 for m, p, _ in proxy.log if p.startswith("/api/v1/device")) >= 2 * (auto.RETRIES + 1))
            assert set(laptop.states().values()) == {None} and central.uuids_from(name) == []
            def failed_on_the_portal() -> bool:  # between attempts (one may be running now)
                status = sync_store.get_status(laptop.db) or {}
                return status.get("state") == "failed" and "wifi sign-in page" in status["message"]["params"]["reason"]
            assert until(failed_on_the_portal)
            proxy.clear()  # the real central answers again
            assert until(lambda: set(laptop.states().values()) == {"synced"}, seconds=4 * INTERVAL + 20)
            assert until(lambda: "Synced by itself" in serving.said())
        finally:
            output = serving.stop()
        assert_exactly_once(central, laptop, name, made)
        assert output.count("Sync by itself failed") >= 2  # a line for each failed attempt
    finally:
        proxy.stop()
        central.stop()


@pytest.mark.slow
def test_a_manual_sync_during_one_by_itself_sends_nothing_twice(tmp_path, laptop):
    central = Central(tmp_path / "central")
    central.start()
    proxy = FaultProxy(central.port)
    name = "centre-" + uuidlib.uuid4().hex[:6]
    try:
        laptop.link(proxy.url, central.add_device(name))
        made = laptop.collect(600)
        proxy.add("delay", path="/api/v1/submissions", times=None, seconds=0.3)
        serving = Serving(laptop)
        try:
            assert until(lambda: any(p.startswith("/api/v1/submissions") for _m, p, _ in proxy.log))
            manual = subprocess.run(FIELDKIT + ["sync", *laptop.options], capture_output=True, text=True,
                                    timeout=120)
            assert manual.returncode in (0, 3), manual.stdout + manual.stderr
            assert until(lambda: set(laptop.states().values()) == {"synced"}, seconds=60)
        finally:
            serving.stop()
        assert central.device(name)["duplicates"] == 0
        assert_exactly_once(central, laptop, name, made)
    finally:
        proxy.stop()
        central.stop()


@pytest.mark.slow
def test_sync_watch_is_the_same_loop_in_the_foreground_with_a_line_per_attempt(tmp_path, laptop):
    central = Central(tmp_path / "central")
    central.start()
    name = "office-" + uuidlib.uuid4().hex[:6]
    log = tmp_path / "watch.log"
    try:
        laptop.link(central.url, central.add_device(name))
        made = laptop.collect(5)
        with log.open("w") as out:
            watching = subprocess.Popen(FIELDKIT + ["sync", "--watch", "--every", "10", *laptop.options],
                                        stdout=out, stderr=subprocess.STDOUT, text=True)
        try:
            assert until(lambda: "Sync: Sync complete: sent 0" in log.read_text(), seconds=40)  # the idle one, too
        finally:
            stop(watching)
        text = log.read_text()
        assert "Synced by itself: Sync complete: sent 5" in text and text.index("sent 5") < text.index("sent 0")
        assert_exactly_once(central, laptop, name, made)
    finally:
        central.stop()


# --- the loop itself, without servers ----------------------------------------------------------

def test_not_linked_or_by_hand_only_means_no_attempt(laptop):
    loop = auto.AutoSync(str(laptop.data / "fieldkit.db"))
    assert loop.attempt().why_not == "not linked"
    sync_store.set_link(laptop.db, {"url": "http://127.0.0.1:9", "token": "t", "device": "d"})
    sync_store.set_auto(laptop.db, True, [])
    assert loop.attempt() == auto.Attempt(False, why_not="by hand only")


def test_forms_set_to_sync_by_hand_stay_behind_in_a_sync_by_itself(laptop):
    laptop.collect(3)
    laptop.collect(2, form_id="private")
    sync_store.set_auto(laptop.db, False, ["private"])
    skip = frozenset(sync_store.get_auto(laptop.db)["forms_by_hand"])
    assert {r["form_id"] for r in sync_store.unsynced(laptop.db, 100, skip_forms=skip)} == {"wellbeing"}
    assert sync_store.count_unsynced(laptop.db, skip) == 3 and sync_store.count_unsynced(laptop.db) == 5


def test_after_failures_it_waits_longer_up_to_the_interval():
    loop = auto.AutoSync("unused.db", interval=300)
    failed = auto.Attempt(True, runner.Result(ok=False))
    waits = []
    for failures in range(1, 6):
        loop.failures = failures
        waits.append(loop.wait_after(failed))
    assert waits == [30, 60, 120, 240, 300]
    assert loop.wait_after(auto.Attempt(True, runner.Result(ok=True))) == 300


def test_only_syncs_that_did_something_or_failed_are_said():
    assert auto.Attempt(True, runner.Result(ok=True)).line() is None  # idle
    assert auto.Attempt(False, why_not="not linked").line() is None
    assert "sent 3" in auto.Attempt(True, runner.Result(ok=True, sent=3, created=3)).line()
    assert auto.Attempt(True, runner.Result(ok=False)).line().startswith("Sync by itself failed")


def test_a_new_network_means_a_try_at_once():
    """A laptop that joins a wifi tries then, not at the end of its interval."""
    seen = iter(["", "", "192.168.1.5"] + ["192.168.1.5"] * 100)
    tries = []
    loop = auto.AutoSync("unused.db", interval=3600, fingerprint=lambda: next(seen))

    def attempt(progress=None):
        tries.append(time.monotonic())
        if len(tries) == 2:
            loop.stop()
        return auto.Attempt(False, why_not="not linked")

    loop.attempt = attempt
    auto.NETWORK_CHECK, saved = 0.05, auto.NETWORK_CHECK
    try:
        began = time.monotonic()
        loop.loop()
    finally:
        auto.NETWORK_CHECK = saved
    assert len(tries) == 2 and tries[1] - began < 5  # not an hour later


# --- the console -----------------------------------------------------------------------------

def test_the_sync_page_says_how_and_when_this_laptop_syncs_and_takes_by_hand_settings(signed_in, db, app):
    from conftest import csrf_of
    from fieldkit.store import audit
    sync_store.set_link(db, {"url": "https://central.example.org", "token": "t", "device": "hall"})
    sync_store.put_status(db, {"state": "failed", "started_at": "2026-12-02T10:00:00Z", "finished_at":
                               "2026-12-02T10:00:05Z", "by": "auto", "message": {
                                   "text": "Could not sync with %(url)s after %(tries)s tries. Last problem: %(reason)s",
                                   "params": {"url": "https://central.example.org", "tries": 3, "reason": "HTTP 200 "
                                              "but not the central's answer (text/html): a wifi sign-in page?"}},
                               "problems": []})
    sync_store.put_last_success(db, {"at": "2026-12-01T18:00:00Z", "sent": 4, "by": "auto"})
    app.config["SYNC_EVERY"] = 300
    client = signed_in("coordinator")
    page = client.get("/console/sync/").get_data(as_text=True)
    assert "2026-12-02T10:00:05Z" in page and "by itself" in page and "2026-12-01T18:00:00Z" in page
    assert "a wifi sign-in page?" in page and "Every 5 minutes" in page
    home = client.get("/console/").get_data(as_text=True)
    assert "a wifi sign-in page?" in home and "2026-12-01T18:00:00Z" in home
    token = csrf_of(client, "/console/sync/")
    assert client.post("/console/sync/auto", data={"csrf_token": token, "forms_by_hand": ["wellbeing"]}).status_code == 303
    assert sync_store.get_auto(db) == {"by_hand": False, "forms_by_hand": ["wellbeing"]}
    assert "Except the answers to: wellbeing." in client.get("/console/sync/").get_data(as_text=True)
    assert client.post("/console/sync/auto", data={"csrf_token": token, "by_hand": "1"}).status_code == 303
    assert "this laptop syncs only by hand" in client.get("/console/sync/").get_data(as_text=True)
    assert [e["action"] for e in audit.recent(db) if e["action"] == "sync.by_hand"] == ["sync.by_hand"] * 2


@pytest.mark.parametrize("data", [{"forms_by_hand": ["no-such-form"]}, {"by_hand": "yes"}])
def test_a_by_hand_setting_for_what_is_not_there_is_refused_whole(signed_in, db, data):
    from conftest import csrf_of
    client = signed_in("coordinator")
    response = client.post("/console/sync/auto", data=dict(data, csrf_token=csrf_of(client, "/console/sync/")))
    assert response.status_code == 400 and sync_store.get_auto(db) == {"by_hand": False, "forms_by_hand": []}


def test_only_a_coordinator_sets_what_syncs_by_hand(signed_in):
    from conftest import csrf_of
    facilitator = signed_in("facilitator")
    assert facilitator.post("/console/sync/auto", data={"csrf_token": csrf_of(facilitator, "/console/")}).status_code == 403
