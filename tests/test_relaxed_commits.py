"""Answers in progress commit without waiting for the disk; submissions always wait (issue 18).

A draft write is a relaxed transaction (store/db.write(durable=False)): on SQLite it commits
with synchronous=NORMAL and a thread fsyncs the WAL within RELAXED_SECONDS; on PostgreSQL it
commits with synchronous_commit off. Either way it is whole or absent, and the connection is
durable again for the next transaction."""
from __future__ import annotations

import os
import threading
import time

import pytest

from engines import database_urls
from fieldkit import store
from fieldkit.store import db as store_db, drafts, submissions

both = pytest.mark.parametrize("engine_url", database_urls(), indirect=True)


def durability(db) -> str:
    if db.dialect == "sqlite":
        return {0: "off", 1: "normal", 2: "full", 3: "extra"}[db.execute("PRAGMA synchronous").fetchone()[0]]
    return db.one("SELECT current_setting('synchronous_commit') AS s")["s"]


@both
def test_a_relaxed_write_is_committed_whole_and_the_connection_is_durable_again(engine_url):
    db = store.connect(engine_url, migrate=True)
    other = store.connect(engine_url)
    try:
        if db.dialect == "postgresql":
            db.execute("SET synchronous_commit TO on")  # the tests' cluster runs with it off
        before = durability(db)
        assert before in ("full", "on")
        with store.write(db, durable=False):
            assert durability(db) in ("normal", "off")
        token, _row = drafts.new_draft(db, "wellbeing", "1", "en", {"age_band": "age_16_24"}, 0)
        drafts.save_draft(db, token, {"age_band": "age_25_34"}, 1, "en")
        assert drafts.get_draft(other, token)["answers"] == {"age_band": "age_25_34"}  # committed, seen elsewhere
        assert durability(db) == before and not db.in_transaction
    finally:
        db.close()
        other.close()


@both
def test_a_relaxed_write_that_fails_leaves_nothing_and_a_durable_connection(engine_url):
    db = store.connect(engine_url, migrate=True)
    try:
        with pytest.raises(RuntimeError):
            with store.write(db, durable=False):
                submissions.add_submission(db, {"uuid": "r-1", "form_id": "f", "form_version": "1",
                                                "language": "en", "answers": {}, "device_id": "laptop",
                                                "started_at": "2026-01-01T10:00:00Z",
                                                "submitted_at": "2026-01-01T10:05:00Z"})
                raise RuntimeError("the phone went away")
        assert not submissions.has_submission(db, "r-1") and not db.in_transaction
        assert db.dialect != "sqlite" or durability(db) == "full"
    finally:
        db.close()


def statements(db) -> list[str]:
    seen: list[str] = []
    db.conn.set_trace_callback(seen.append)
    return seen


def test_drafts_are_relaxed_and_submissions_and_quick_exit_are_not(tmp_path):
    db = store.connect(store_db.url_for(tmp_path), migrate=True)
    try:
        seen = statements(db)
        token, _row = drafts.new_draft(db, "wellbeing", "1", "en", {}, 0)
        drafts.save_draft(db, token, {"household_size": "3"}, 1, "en")
        assert seen.count("PRAGMA synchronous=NORMAL") == 2  # each draft write relaxed ...
        assert seen[-1] == "PRAGMA synchronous=FULL"  # ... and the connection durable again after
        seen.clear()
        drafts.delete_draft(db, token)  # quick exit: the answers must be gone for good
        submissions.add_submission(db, {"uuid": "s-1", "form_id": "wellbeing", "form_version": "1",
                                        "language": "en", "answers": {"household_size": "3"},
                                        "device_id": "laptop", "started_at": "2026-01-01T10:00:00Z",
                                        "submitted_at": "2026-01-01T10:05:00Z"})
        assert "PRAGMA synchronous=NORMAL" not in seen and any(s.startswith("INSERT") for s in seen)
    finally:
        db.close()


def test_a_relaxed_commit_reaches_the_disk_within_the_interval(tmp_path, monkeypatch):
    """The WAL is fsynced after a relaxed commit (the real fsync, recorded on its way)."""
    db = store.connect(store_db.url_for(tmp_path), migrate=True)
    wal = tmp_path / "fieldkit.db-wal"
    synced = threading.Event()
    real = os.fsync

    def fsync(fd):
        if os.fstat(fd).st_ino == wal.stat().st_ino:
            synced.set()
        return real(fd)
    monkeypatch.setattr(store_db.os, "fsync", fsync)
    try:
        began = time.monotonic()
        drafts.new_draft(db, "wellbeing", "1", "en", {}, 0)
        assert synced.wait(10 * store_db.RELAXED_SECONDS + 5)
        assert time.monotonic() - began >= store_db.RELAXED_SECONDS * 0.9  # one flush for the interval's commits
    finally:
        db.close()
