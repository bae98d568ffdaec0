"""Two real fieldkits for the sync tests: a central as a real `fieldkit serve`
process on a loopback port (restartable on the same port, to be killed
mid-batch), and a laptop with its own SQLite file, driven by its commands. With
FIELDKIT_TEST_ENGINE=postgresql the central runs on PostgreSQL (tests/engines.py)."""
from __future__ import annotations

import json
import subprocess
import sys
import uuid as uuidlib
from pathlib import Path

from click.testing import CliRunner

from conftest import PASSWORD, sign_in
import engines
from faultproxy import FaultProxy
from fieldkit import create_app, store
from fieldkit.cli import main
from fieldkit.config import prepare_data_dir
from fieldkit.store import devices
from fieldkit.store.db import url_for, write
from test_serve import free_port, stop, wait_for

FIELDKIT = [sys.executable, "-m", "fieldkit"]
# The bundled demo's version: every central has it, so answers to it are ones a central can keep.
DEMO_VERSION = json.loads((Path(__file__).resolve().parent.parent / "fieldkit" / "demo" / "wellbeing.model.json")
                          .read_text(encoding="utf-8"))["version"]


class Central:
    """A real `fieldkit serve` on 127.0.0.1, restartable on the same port."""

    def __init__(self, data: Path, database: str | None = None):
        self.data, self.port = data, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None
        self.log = data.parent / f"{data.name}-{self.port}.log"
        # its own database, named to each of its commands (or one it shares with another process):
        # a central may outlive the test that made it (a PostgreSQL one is dropped at the session's end)
        self.database = database or (
            engines.new_postgresql_database() if engines.ENGINE == "postgresql" else url_for(data))

    def start(self) -> None:
        with self.log.open("a") as log:
            self.process = subprocess.Popen(FIELDKIT + ["serve", "--host", "127.0.0.1", "--port", str(self.port),
                                                        "--data", str(self.data), "--database", self.database,
                                                        "--no-qr"],
                                            stdout=log, stderr=subprocess.STDOUT, text=True)
        wait_for(self.url + "/f/wellbeing", self.process)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            stop(self.process)

    def db(self):
        return store.connect(self.database)

    def cli(self, *args: str):
        return run_cli(*args, "--data", str(self.data), "--database", self.database)

    def add_device(self, name: str) -> str:
        result = self.cli("devices", "add", name)
        assert result.exit_code == 0, result.output
        return result.output.splitlines()[-1]  # the token, alone on the last line

    def uuids_from(self, device: str) -> list[str]:
        db = self.db()
        try:
            return [r["uuid"] for r in db.query("SELECT uuid FROM submissions WHERE device_name = ?", [device])]
        finally:
            db.close()

    def device(self, name: str) -> dict:
        db = self.db()
        try:
            return devices.get_device(db, name)
        finally:
            db.close()


class Laptop:
    """A second fieldkit: its own data directory, driven by its commands."""

    def __init__(self, data: Path, database: str | None = None):
        self.data = prepare_data_dir(data)
        # SQLite, as in the field, whatever engine the central runs on (unless told otherwise)
        self.database = database or url_for(self.data)
        self.db = store.connect(self.database, migrate=True)
        self.options = ["--data", str(self.data), "--database", self.database]  # for its commands

    def cli(self, *args: str):
        return run_cli(*args, *self.options)

    def link(self, url: str, token: str, *extra: str) -> None:
        result = self.cli("link", url, "--token", token, *extra)
        assert result.exit_code == 0, result.output

    def collect(self, n: int, form_id: str = "wellbeing", version: str = DEMO_VERSION) -> list[str]:
        """n submissions, committed as the participant flow commits them (one transaction here, for speed)."""
        made = []
        with write(self.db):
            for i in range(n):
                made.append(str(uuidlib.uuid4()))
                store.submissions.add_submission(self.db, {
                    "uuid": made[-1], "form_id": form_id, "form_version": version, "language": "es",
                    "answers": {"consent": "yes", "household_size": str(i % 9 + 1), "comments": f"número {i}"},
                    "started_at": "2025-06-01T10:00:00Z", "submitted_at": f"2025-06-01T10:{i % 60:02d}:00Z",
                    "device_id": "laptop"})
        return made

    def states(self) -> dict[str, str | None]:
        return {r["uuid"]: r["sync_state"] for r in self.db.query("SELECT uuid, sync_state FROM submissions")}


def run_cli(*args: str):
    return CliRunner().invoke(main, list(args))


def summary(result) -> str:
    return result.stdout.strip().splitlines()[-1]


def counts(result) -> dict[str, int]:
    """The summary line's numbers: {'sent': 3, 'new': 3, 'duplicates': 0, ...}"""
    line = summary(result).split(": ", 1)[1].split(";")[0]
    return {name: int(number) for name, number in (part.rsplit(" ", 1) for part in line.split(", "))}


def requests_seen(proxy: FaultProxy) -> list[tuple[str, str]]:
    """(method, path) of each request the proxy received (its log also holds the central's statuses)."""
    return [(method, path) for method, path, what in proxy.log if isinstance(what, str)]


def assert_exactly_once(central: Central, laptop: Laptop, device: str, uuids: list[str]) -> None:
    """The central holds each of uuids once, from this device; the laptop marks each synced."""
    held = central.uuids_from(device)
    assert len(held) == len(set(held)) and set(held) == set(uuids)
    states = laptop.states()
    assert all(states[u] == "synced" for u in uuids)


def console(central: Central):
    """A coordinator signed in to the central's console."""
    app = create_app({"DATA_DIR": central.data, "DATABASE_URL": central.database, "TESTING": True})
    db = store.connect(app.config["DATABASE"])
    if store.users.get_user(db, "coordinator") is None:
        store.users.add_user(db, "coordinator", PASSWORD, "coordinator")
    db.close()
    client = app.test_client()
    assert sign_in(client, "coordinator").status_code == 303
    return client
