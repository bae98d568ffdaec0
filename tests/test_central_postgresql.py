"""A central on PostgreSQL that two `fieldkit serve` processes share (issue 16's done-when):
laptops syncing to either process at the same moment land exactly once, a resend through the
other process is a duplicate, and exports, results and the console read from PostgreSQL."""
from __future__ import annotations

import csv
import io
import subprocess
import threading

import pytest

import engines
from syncworld import FIELDKIT, Central, Laptop, console

pytestmark = [pytest.mark.slow, engines.needs_postgresql]


@pytest.fixture
def two_processes(tmp_path):
    database = engines.new_postgresql_database()
    first, second = Central(tmp_path / "central", database), Central(tmp_path / "central", database)
    # started together: both migrate the empty database at once (an advisory lock lets one do it)
    starting = [threading.Thread(target=c.start) for c in (first, second)]
    for t in starting:
        t.start()
    for t in starting:
        t.join()
    yield first, second
    for c in (first, second):
        c.stop()


def sync(laptop: Laptop, results: dict) -> None:
    done = subprocess.run(FIELDKIT + ["sync", *laptop.options], capture_output=True, text=True, timeout=300)
    results[laptop.data.name] = done


def test_laptops_syncing_to_two_processes_at_once_land_exactly_once(two_processes, tmp_path):
    first, second = two_processes
    laptops, made = [], {}
    for i in range(6):
        laptop = Laptop(tmp_path / f"laptop-{i}")
        via = first if i % 2 else second
        laptop.link(via.url, first.add_device(f"laptop-{i}"))  # a device added through one is known to both
        made[laptop.data.name] = laptop.collect(250)
        laptops.append(laptop)
    results: dict = {}
    threads = [threading.Thread(target=sync, args=(laptop, results)) for laptop in laptops]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for name, done in results.items():
        assert done.returncode == 0, (name, done.stdout, done.stderr)
    db = first.db()
    try:
        total, distinct = db.execute("SELECT COUNT(*), COUNT(DISTINCT uuid) FROM submissions").fetchone()
        assert total == distinct == 6 * 250
        for i, laptop in enumerate(laptops):
            assert set(first.uuids_from(f"laptop-{i}")) == set(made[laptop.data.name])
            assert first.device(f"laptop-{i}")["received"] == 250
            assert all(state == "synced" for state in laptop.states().values())
    finally:
        db.close()

    # A laptop restored from a backup sends everything again, now through the other process: all duplicates.
    resent = laptops[0]  # it synced through the second process
    resent.db.execute("UPDATE submissions SET sync_state = NULL, synced_at = NULL")  # as a restore would leave it
    resent.link(first.url, second.add_device("laptop-0-again"))
    again = subprocess.run(FIELDKIT + ["sync", *resent.options], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "new 0, duplicates 250" in again.stdout
    db = first.db()
    try:
        assert db.execute("SELECT COUNT(*) FROM submissions").fetchone()[0] == 1500
    finally:
        db.close()

    # exports and the console read from PostgreSQL, through either process's database
    export = subprocess.run(FIELDKIT + ["export", "wellbeing", "--data", str(first.data), "--database", first.database],
                            capture_output=True, text=True, timeout=300)
    assert export.returncode == 0, export.stderr
    rows = list(csv.DictReader(io.StringIO(export.stdout)))
    assert len(rows) == 1500 and {r["comments"] for r in rows} >= {"número 0", "número 249"}
    page = console(second).get("/console/forms/wellbeing/submissions").get_data(as_text=True)
    assert "1,500" in page or "1500" in page
