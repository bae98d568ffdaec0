"""A central's Results page and exports read from a PostgreSQL streaming replica when
FIELDKIT_READ_DATABASE_URL names one, while everything else (sign-in, the activity log,
sync) writes the primary. `bash .ci/run` starts the replica (.ci/postgres replica)."""
from __future__ import annotations

import re
import time

import psycopg
import pytest

import engines
from conftest import PASSWORD, sign_in
from fieldkit import create_app, store

needs_replica = pytest.mark.skipif(not engines.REPLICA, reason="no PostgreSQL replica: `bash .ci/run` starts one "
                                   "(FIELDKIT_TEST_POSTGRESQL_REPLICA)")
# These pause the one shared replica: they run once, in the SQLite run (.ci/run runs the PostgreSQL
# one beside it), and they name their engine themselves whatever FIELDKIT_TEST_ENGINE says.
pytestmark = pytest.mark.skipif(engines.ENGINE == "postgresql", reason="runs once, in the run on SQLite: it pauses "
                                "the replica both runs share")


def add(db, n: int, first: int = 0) -> None:
    version = store.forms.current_form(db, "wellbeing").version
    with store.write(db):
        for i in range(first, first + n):
            store.submissions.add_submission(db, {
                "uuid": f"r-{i:04d}", "form_id": "wellbeing", "form_version": version, "language": "en",
                "answers": {"has_support": "yes"}, "submitted_at": "2026-05-01T10:00:00Z"})


def replica_has(url: str, n: int, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        db = store.connect(url)
        try:
            if db.execute("SELECT COUNT(*) FROM submissions").fetchone()[0] == n:
                return
        except psycopg.errors.UndefinedTable:
            pass  # the schema itself has not reached the replica yet
        finally:
            db.close()
        time.sleep(0.1)
    raise AssertionError(f"the replica did not reach {n} submissions")


def answers_on_results(client) -> int:
    """The Answers figure of the form's Results page."""
    page = client.get("/console/forms/wellbeing/results")
    assert page.status_code == 200
    return int(re.search(r'class="results-total">([\d,]+)<', page.get_data(as_text=True)).group(1).replace(",", ""))


def replay(url: str, paused: bool) -> None:
    db = store.connect(url)
    try:
        db.execute("SELECT pg_wal_replay_pause()" if paused else "SELECT pg_wal_replay_resume()")
    finally:
        db.close()


@needs_replica
def test_results_and_exports_come_from_the_replica_and_writes_go_to_the_primary(tmp_path):
    primary = engines.new_postgresql_database()
    replica = engines.on_replica(primary)
    app = create_app({"DATA_DIR": tmp_path / "data", "DATABASE_URL": primary, "READ_DATABASE_URL": replica,
                      "TESTING": True, "RATELIMIT_ENABLED": False, "FONTS_IN_BACKGROUND": False})
    db = store.connect(primary)
    try:
        store.users.add_user(db, "ana", PASSWORD, "coordinator")
        add(db, 7)
    finally:
        db.close()
    replica_has(replica, 7)
    client = app.test_client()
    assert sign_in(client, "ana").status_code == 303  # a write (last sign-in) on the primary: it works
    assert answers_on_results(client) == 7

    replay(replica, paused=True)  # the replica stops following: what reaches the primary now, it lacks
    try:
        db = store.connect(primary)
        try:
            add(db, 5, first=7)
        finally:
            db.close()
        time.sleep(0.5)
        assert answers_on_results(client) == 7  # counted on the replica
        export = client.get("/console/forms/wellbeing/export?format=csv")
        assert export.status_code == 200
        assert len(export.get_data(as_text=True).strip().splitlines()) == 1 + 7  # header and the replica's rows
        db = store.connect(primary)
        try:  # the export's activity-log entry went to the primary
            assert any(e["action"] == "export" for e in store.audit.recent(db))
        finally:
            db.close()
    finally:
        replay(replica, paused=False)
    replica_has(replica, 12)
    assert answers_on_results(client) == 12


@engines.needs_postgresql
def test_a_replica_that_cannot_be_reached_is_passed_over_for_the_primary(tmp_path):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there
    primary = engines.new_postgresql_database()
    app = create_app({"DATA_DIR": tmp_path / "data", "DATABASE_URL": primary, "TESTING": True,
                      "READ_DATABASE_URL": f"postgresql://fieldkit@127.0.0.1:{port}/none?connect_timeout=2",
                      "RATELIMIT_ENABLED": False, "FONTS_IN_BACKGROUND": False})
    db = store.connect(primary)
    try:
        store.users.add_user(db, "ana", PASSWORD, "coordinator")
        add(db, 3)
    finally:
        db.close()
    client = app.test_client()
    assert sign_in(client, "ana").status_code == 303
    assert answers_on_results(client) == 3
    export = client.get("/console/forms/wellbeing/export?format=csv")
    assert export.status_code == 200 and len(export.get_data(as_text=True).strip().splitlines()) == 1 + 3
