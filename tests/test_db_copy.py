"""`fieldkit db copy`: a central's whole database moved to another engine, checked, never half done."""
from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

import engines
from conftest import submit_household
from fieldkit import store
from fieldkit.cli import main
from fieldkit.store import copy as store_copy
from fieldkit.store.db import url_for

both = pytest.mark.parametrize("engine_url", engines.database_urls(), indirect=True)


def filled(app, participant, db, add_form) -> None:
    """A central with a bit of everything: forms with media, answers with a photo, an event,
    devices, accounts, an activity log."""
    add_form("household.md")
    for text in ("uno", "dos", "tres"):
        submit_household(participant("household"), text, lang="es")
    store.events.add_event(db, {"name": "Hall"}, ["household"])
    store.devices.add_device(db, "laptop-1")
    store.users.add_user(db, "ana", "a long enough password", "coordinator")
    store.attachments.add_received(db, store.submissions.iter_submissions(db, "household").__next__()["uuid"], [
        {"name": "p.jpg", "question": "photo", "content_type": "image/jpeg", "data": b"\xff\xd8" + bytes(range(256)) * 40,
         "sha256": "x"}])


@both
def test_a_central_is_copied_whole_and_checked(app, db, participant, add_form, engine_url):
    filled(app, participant, db, add_form)
    source = app.config["DATABASE"]
    result = CliRunner().invoke(main, ["db", "copy", "--from", source, "--to", engine_url])
    assert result.exit_code == 0, result.output
    assert "Copied and checked" in result.output and "3 submissions" in result.output
    target = store.connect(engine_url)
    try:
        for table in store_copy.TABLES:
            if table != "audit":  # the target's log has one entry more: the copy itself
                columns = db.columns(table)
                assert store_copy.table_digest(target, table, columns) == store_copy.table_digest(db, table, columns)
        assert [s["answers"] for s in store.submissions.iter_submissions(target, "household")] == \
            [s["answers"] for s in store.submissions.iter_submissions(db, "household")]
        assert store.meta.secret_key(target) == store.meta.secret_key(db)  # sessions and drafts carry on
        # ids go on after the copied ones
        event = store.events.add_event(target, {"name": "Park"}, ["household"])
        assert event["id"] > max(e["id"] for e in store.events.list_events(db))
        assert [e["action"] for e in store.audit.recent(target)][0] == "database.copied"
    finally:
        target.close()


@both
def test_a_target_that_holds_data_is_refused_and_left_alone(app, db, engine_url):
    target = store.connect(engine_url, migrate=True)
    try:
        store.devices.add_device(target, "already-here")
    finally:
        target.close()
    result = CliRunner().invoke(main, ["db", "copy", "--from", app.config["DATABASE"], "--to", engine_url])
    assert result.exit_code == 1 and "already holds data" in result.output and "Nothing was copied" in result.output
    target = store.connect(engine_url)
    try:
        assert [d["name"] for d in store.devices.list_devices(target)] == ["already-here"]
        assert store.forms.count_forms(target) == 0
    finally:
        target.close()


def test_copying_a_database_onto_itself_is_refused(app):
    result = CliRunner().invoke(main, ["db", "copy", "--from", app.config["DATABASE"], "--to", app.config["DATABASE"]])
    assert result.exit_code == 1 and "the same database" in result.output


@both
def test_a_copy_whose_check_fails_keeps_nothing(app, db, participant, add_form, engine_url, monkeypatch):
    filled(app, participant, db, add_form)
    real = store_copy.table_digest
    calls = {"n": 0}

    def corrupted(database, table, columns):
        """Each table is hashed on the source, then on the target: the target's submissions differ."""
        count, digest = real(database, table, columns)
        calls["n"] += 1
        return (count, "0" * 64) if table == "submissions" and calls["n"] % 2 == 0 else (count, digest)
    monkeypatch.setattr(store_copy, "table_digest", corrupted)
    result = CliRunner().invoke(main, ["db", "copy", "--from", app.config["DATABASE"], "--to", engine_url])
    assert result.exit_code == 1 and "contents differ" in result.output
    target = store.connect(engine_url)
    try:
        assert store_copy.is_empty(target)
    finally:
        target.close()


@pytest.mark.slow
@engines.needs_postgresql
def test_a_copy_killed_half_way_leaves_the_target_empty(tmp_path):
    """A real interruption: the copying process is killed while it writes; the target holds
    nothing of it (the copy is one transaction), and a second copy then succeeds."""
    source = url_for(tmp_path)
    db = store.connect(source, migrate=True)
    try:
        with store.write(db):
            for i in range(40_000):
                store.submissions.add_submission(db, {
                    "uuid": f"u-{i:06d}", "form_id": "wellbeing", "form_version": "1", "language": "en",
                    "answers": {"comments": "x" * 200, "n": i}, "submitted_at": "2026-01-01T10:00:00Z"})
    finally:
        db.close()
    target = engines.new_postgresql_database()
    copying = subprocess.Popen([sys.executable, "-m", "fieldkit", "db", "copy", "--from", source, "--to", target],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = ""
    while "submissions" not in line:  # it has begun writing submissions
        line = copying.stderr.readline()
        assert line or copying.poll() is None, "the copy ended before it could be interrupted"
    copying.send_signal(signal.SIGKILL)
    copying.wait(10)
    time.sleep(0.5)  # the server notices the dropped connection and rolls its transaction back
    db = store.connect(target)
    try:
        assert store_copy.is_empty(db)
    finally:
        db.close()
    again = subprocess.run([sys.executable, "-m", "fieldkit", "db", "copy", "--from", source, "--to", target],
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    db = store.connect(target)
    try:
        assert store.submissions.count_submissions(db) == 40_000
    finally:
        db.close()
