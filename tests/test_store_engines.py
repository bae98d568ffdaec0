"""One store contract, two engines: the same functions on SQLite and on PostgreSQL, the
same schema, and what several processes at once must not break (issue 16)."""
from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from engines import database_urls
from fieldkit import store
from fieldkit.store import devices, events, meta, submissions, sync as sync_store, users
from fieldkit.store.db import DatabaseUnavailable, shown, sqlite_path, url_for

both = pytest.mark.parametrize("engine_url", database_urls(), indirect=True)


def record(uuid: str, text: str = "sí") -> dict:
    return {"uuid": uuid, "form_id": "wellbeing", "form_version": "1", "language": "es",
            "answers": {"comments": text, "household_size": "3"}, "started_at": "2026-01-01T10:00:00Z",
            "submitted_at": "2026-01-01T10:05:00Z", "device_id": "laptop"}


def columns(db) -> dict[str, set[str]]:
    if db.dialect == "sqlite":
        tables = [r["name"] for r in db.query("SELECT name FROM sqlite_master WHERE type = 'table' "
                                              "AND name NOT LIKE 'sqlite_%' AND name != '_sqlite_migrations'")]
        return {t: {r["name"] for r in db.query(f"PRAGMA table_info({t})")} for t in tables}
    found: dict[str, set[str]] = {}
    for row in db.query("SELECT table_name, column_name FROM information_schema.columns "
                        "WHERE table_schema = current_schema() AND table_name != 'fieldkit_migrations'"):
        found.setdefault(row["table_name"], set()).add(row["column_name"])
    return found


@both
def test_a_new_database_is_migrated_and_migrating_again_changes_nothing(engine_url):
    db = store.connect(engine_url, migrate=True)
    try:
        before = columns(db)
        assert {"submissions", "forms", "drafts", "devices", "conflicts", "meta", "audit"} <= set(before)
    finally:
        db.close()
    store.connect(engine_url, migrate=True).close()
    db = store.connect(engine_url)
    try:
        assert columns(db) == before
    finally:
        db.close()


def test_both_engines_have_the_same_tables_and_columns(tmp_path):
    """The PostgreSQL schema is written apart from SQLite's migrations: this holds them together."""
    import engines
    if not engines.SERVER:
        pytest.skip(engines.SKIP_REASON)
    lite = store.connect(url_for(tmp_path), migrate=True)
    url = engines.new_postgresql_database()
    try:
        pg = store.connect(url, migrate=True)
        try:
            assert columns(pg) == columns(lite)
        finally:
            pg.close()
    finally:
        lite.close()
        engines.drop_postgresql_database(url)


@both
def test_a_submission_is_created_then_a_duplicate_then_a_conflict(engine_url):
    db = store.connect(engine_url, migrate=True)
    try:
        assert submissions.add_submission(db, record("u-1")) == "created"
        assert submissions.add_submission(db, record("u-1")) == "duplicate"
        assert submissions.add_submission(db, record("u-1", "other")) == "conflict"
        assert submissions.count_submissions(db) == 1
        kept = submissions.get_submission(db, "u-1")
        assert kept["answers"]["comments"] == "sí" and kept["sync_state"] is None
    finally:
        db.close()


@both
def test_a_write_that_fails_leaves_nothing_behind(engine_url):
    db = store.connect(engine_url, migrate=True)
    try:
        with pytest.raises(RuntimeError):
            with store.write(db):
                submissions.add_submission(db, record("u-2"))
                raise RuntimeError("power cut")
        assert not submissions.has_submission(db, "u-2") and not db.in_transaction
        # a savepoint inside a transaction is undone alone
        with store.write(db):
            submissions.add_submission(db, record("u-3"))
            with pytest.raises(RuntimeError):
                with store.write(db):
                    submissions.add_submission(db, record("u-4"))
                    raise RuntimeError("refused")
        assert submissions.has_submission(db, "u-3") and not submissions.has_submission(db, "u-4")
    finally:
        db.close()


@both
def test_the_store_reads_back_what_it_wrote_on_either_engine(engine_url):
    """A walk through the store's functions whose SQL differs most between the engines."""
    db = store.connect(engine_url, migrate=True)
    try:
        assert meta.device_id(db) == meta.device_id(db)
        token = devices.add_device(db, "laptop-1")
        with pytest.raises(devices.DeviceExists):
            devices.add_device(db, "laptop-1")
        assert devices.device_for_token(db, token)["name"] == "laptop-1"
        event = events.add_event(db, {"name": "Hall"}, ["wellbeing"])
        assert events.get_event(db, event["id"])["code"] == event["code"]
        outcomes = sync_store.receive_batch(db, "laptop-1", [
            dict(record("r-1"), event={"code": "abcde", "name": "Park"}),
            dict(record("r-2"), event={"code": "abcde", "name": "Park"})])
        assert outcomes == ["created", "created"]
        assert sync_store.receive_batch(db, "laptop-1", [record("r-1", "changed"), record("r-2"), record("r-3")]) == \
            ["conflict", "duplicate", "created"]
        assert devices.get_device(db, "laptop-1")["received"] == 3
        assert len(sync_store.list_conflicts(db)) == 1
        assert events.event_by_code(db, "abcde")["forms"] == ["wellbeing"]
        submissions.add_submission(db, record("l-1"))
        submissions.add_submission(db, dict(record("l-2"), form_id="other"))
        # the laptop's queue: received ones are not ours to send; skip lists work on both
        assert [r["uuid"] for r in sync_store.unsynced(db, 10)] == ["l-1", "l-2"]
        assert [r["uuid"] for r in sync_store.unsynced(db, 10, skip={"l-1"})] == ["l-2"]
        assert sync_store.count_unsynced(db, skip_forms={"other"}) == 1
        sealed = dict(record("e-1"), answers={"__encrypted__": {"kid": "k1", "data": "…"}})
        submissions.add_submission(db, sealed)
        assert submissions.sealed_keys(db, "wellbeing") == {"k1": 1}
        users.add_user(db, "ana", "a long enough password", "coordinator")
        with pytest.raises(users.UserExists):
            users.add_user(db, "ana", "another long password", "facilitator")
        assert users.authenticate(db, "ana", "wrong")[0] == "bad"
        assert users.authenticate(db, "ana", "a long enough password")[0] == "ok"
        assert users.authenticate(db, "nobody", "x")[0] == "bad"
    finally:
        db.close()


@both
def test_the_sync_lease_is_held_by_one_owner_until_it_expires(engine_url):
    db = store.connect(engine_url, migrate=True)
    try:
        assert sync_store.take_lease(db, "a", 60)
        assert not sync_store.take_lease(db, "b", 60)
        assert sync_store.take_lease(db, "a", 60)  # renewed by its owner
        sync_store.release_lease(db, "b")  # not b's to release
        assert sync_store.lease_held(db)
        sync_store.release_lease(db, "a")
        assert sync_store.take_lease(db, "b", -1)  # taken, already expired
        assert sync_store.take_lease(db, "c", 60)
    finally:
        db.close()


def _store_one(url: str, uuid: str, text: str, barrier, results) -> None:
    db = store.connect(url)
    try:
        barrier.wait()
        results.put(submissions.add_submission(db, record(uuid, text)))
    finally:
        db.close()


@both
def test_one_uuid_stored_by_many_processes_at_once_is_kept_once(engine_url):
    """The database, not a check before the insert, keeps a submission once: eight processes
    store the same uuid at the same moment (four with other content)."""
    store.connect(engine_url, migrate=True).close()
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(8), context.Queue()
    workers = [context.Process(target=_store_one, args=(engine_url, "same", "sí" if i % 2 else "no", barrier, results))
               for i in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
        assert w.exitcode == 0
    outcomes = sorted(results.get(timeout=5) for _ in workers)
    assert outcomes.count("created") == 1
    created_text = None
    db = store.connect(engine_url)
    try:
        assert submissions.count_submissions(db) == 1
        created_text = submissions.get_submission(db, "same")["answers"]["comments"]
    finally:
        db.close()
    # the other three with the created one's content are duplicates, the four with other content conflicts
    assert outcomes.count("duplicate") == 3 and outcomes.count("conflict") == 4, (outcomes, created_text)


def _take(url: str, owner: str, barrier, results) -> None:
    db = store.connect(url)
    try:
        barrier.wait()
        results.put((owner, sync_store.take_lease(db, owner, 60)))
    finally:
        db.close()


@both
def test_the_lease_goes_to_one_of_many_processes_asking_at_once(engine_url):
    store.connect(engine_url, migrate=True).close()
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(6), context.Queue()
    workers = [context.Process(target=_take, args=(engine_url, f"p{i}", barrier, results)) for i in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    taken = [owner for owner, ok in (results.get(timeout=5) for _ in workers) if ok]
    assert len(taken) == 1


@both
def test_a_store_lends_connections_and_keeps_a_few(engine_url):
    pool = store.Store(engine_url, keep=2)
    try:
        lent = [pool.take() for _ in range(3)]
        for db in lent:
            pool.give(db)
        assert len(pool.idle) == 2
        with pool.connection() as db:
            assert db in lent and submissions.count_submissions(db) == 0
        # a connection given back in a transaction it did not end is not lent again
        db = pool.take()
        db.begin()
        pool.give(db)
        assert db not in pool.idle
    finally:
        pool.close()


def test_a_url_and_a_path_open_the_same_file(tmp_path):
    url = url_for(tmp_path)
    assert sqlite_path(url) == tmp_path.resolve() / "fieldkit.db" == sqlite_path(tmp_path.resolve() / "fieldkit.db")
    store.connect(url, migrate=True).close()
    assert (tmp_path / "fieldkit.db").exists()
    assert isinstance(sqlite_path("relative/fieldkit.db"), Path)


def test_a_database_fieldkit_cannot_open_is_refused_in_plain_words():
    with pytest.raises(ValueError, match="cannot open a mysql database"):
        store.connect("mysql://fieldkit@127.0.0.1/central")


def test_an_unreachable_postgresql_is_said_plainly_without_its_password():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there
    url = f"postgresql://fieldkit:s3cret-pass@127.0.0.1:{port}/central?connect_timeout=2"
    with pytest.raises(DatabaseUnavailable) as refused:
        store.connect(url)
    assert "s3cret-pass" not in str(refused.value) and "127.0.0.1" in str(refused.value)
    assert "s3cret" not in shown(url)


def test_postgresql_sql_is_translated_once_and_sqlite_only_sql_is_refused():
    from fieldkit.store.postgresql import translate
    assert translate("SELECT * FROM t WHERE a = ? AND b LIKE '%?' AND c = ?") == \
        "SELECT * FROM t WHERE a = %s AND b LIKE '%%?' AND c = %s"
    with pytest.raises(ValueError, match="SQLite-only"):
        translate("INSERT OR IGNORE INTO t VALUES (?)")


def test_the_app_names_its_database_by_url(app):
    url = app.config["DATABASE"]
    assert url.startswith(("sqlite:///", "postgresql://"))
    db = store.connect(url)
    try:
        assert db.count("forms") >= 1  # the demo, in that database
    finally:
        db.close()


def test_a_laptop_never_loads_the_postgresql_driver(tmp_path):
    import subprocess
    import sys
    code = ("import sys; from fieldkit.web.app import create_app; "
            f"create_app({{'DATA_DIR': {str(tmp_path)!r}, 'FONTS_IN_BACKGROUND': False, 'DATABASE_URL': None}}); "
            "print('psycopg' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={k: v for k, v in __import__("os").environ.items() if k != "FIELDKIT_DATABASE_URL"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def _load_demo(url: str, barrier, results) -> None:
    from fieldkit.services import forms as form_service
    db = store.connect(url)
    try:
        barrier.wait()
        try:
            results.put(form_service.ensure_demo(db) is not None)
        except Exception as error:  # what a second central starting at the same moment met
            results.put(repr(error))
    finally:
        db.close()


@both
def test_centrals_starting_together_load_the_demo_once(engine_url):
    """Each process loads the demo into an empty database as it starts: four at once must
    neither fail nor store it twice (without a lock, some failed on the unique index)."""
    store.connect(engine_url, migrate=True).close()
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(4), context.Queue()
    workers = [context.Process(target=_load_demo, args=(engine_url, barrier, results)) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    # each either stored it or found it stored (a late one sees a form already there): none failed
    outcomes = [results.get(timeout=5) for _ in workers]
    assert all(isinstance(o, bool) for o in outcomes) and True in outcomes, outcomes
    db = store.connect(engine_url)
    try:
        assert store.forms.count_forms(db) == 1
    finally:
        db.close()
