"""The two engines under test. SQLite always; PostgreSQL when FIELDKIT_TEST_POSTGRESQL names
a server the tests may use (`bash .ci/run` starts a throwaway one and sets it).

FIELDKIT_TEST_ENGINE=postgresql runs every test's fieldkit (the app fixture, the command
line, `fieldkit serve` processes, a sync's central) on PostgreSQL, each test in a schema
of its own, dropped after it; a laptop stays on SQLite, as in the field."""
from __future__ import annotations

import os
import secrets
from urllib.parse import quote

import pytest

SERVER = os.environ.get("FIELDKIT_TEST_POSTGRESQL")  # postgresql://user@127.0.0.1:PORT/postgres
ENGINE = os.environ.get("FIELDKIT_TEST_ENGINE", "sqlite")
SKIP_REASON = ("PostgreSQL tests skipped: no server for them. `bash .ci/run` starts one; or set "
               "FIELDKIT_TEST_POSTGRESQL=postgresql://USER@127.0.0.1:PORT/postgres")
needs_postgresql = pytest.mark.skipif(not SERVER, reason=SKIP_REASON)

if ENGINE not in ("sqlite", "postgresql"):
    raise SystemExit(f"FIELDKIT_TEST_ENGINE is sqlite or postgresql, not {ENGINE!r}")
if ENGINE == "postgresql" and not SERVER:
    raise SystemExit("FIELDKIT_TEST_ENGINE=postgresql needs FIELDKIT_TEST_POSTGRESQL (bash .ci/run sets both)")


def is_postgresql(url: str) -> bool:
    return url.startswith("postgresql://")


def _admin():
    import psycopg
    return psycopg.connect(SERVER, autocommit=True)


def new_postgresql_database() -> str:
    """A URL of an empty database of its own: a new schema on the test server, found first
    on the connection's search_path (what a fresh PostgreSQL database is to fieldkit)."""
    schema = "t_" + secrets.token_hex(6)
    with _admin() as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    MADE.append(schema)
    separator = "&" if "?" in SERVER else "?"
    return f"{SERVER}{separator}options={quote(f'-csearch_path={schema}')}"


MADE: list[str] = []  # the schemas this session made


def drop_postgresql_database(url: str) -> None:
    schema = url.rsplit("search_path%3D", 1)[1]
    with _admin() as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def drop_all_made() -> None:
    """At the end of the session: the databases of centrals that outlived their tests."""
    if MADE and SERVER:
        with _admin() as conn:
            for schema in MADE:
                conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        MADE.clear()


def database_urls() -> list:
    """The engines a contract test runs on, as pytest parameters."""
    return ["sqlite", pytest.param("postgresql", marks=needs_postgresql)]


@pytest.fixture
def engine_url(request, tmp_path):
    """A new, empty database on the engine the test is parametrised with (`engine`)."""
    from fieldkit.store.db import url_for
    if request.param == "sqlite":
        (tmp_path / "engine").mkdir()
        yield url_for(tmp_path / "engine")
        return
    url = new_postgresql_database()
    yield url
    drop_postgresql_database(url)


def instance_url(data_dir) -> str:
    """The database of the fieldkit whose data directory is data_dir, as its commands and
    `fieldkit serve` open it: FIELDKIT_DATABASE_URL when set, else fieldkit.db in data_dir."""
    from fieldkit.store.db import url_for
    return os.environ.get("FIELDKIT_DATABASE_URL") or url_for(data_dir)


def stored_bytes(url: str) -> bytes:
    """Everything a database holds, as someone who copied it would read it: the SQLite file's
    bytes, or every row of every table of a PostgreSQL one."""
    from fieldkit import store
    from fieldkit.store.db import is_postgresql, sqlite_path
    if not is_postgresql(url):
        return sqlite_path(url).read_bytes()
    db = store.connect(url)
    try:
        tables = [r["table_name"] for r in db.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")]
        return b"".join(repr(row).encode() for t in tables for row in db.query(f"SELECT * FROM {t}"))
    finally:
        db.close()


REPLICA = os.environ.get("FIELDKIT_TEST_POSTGRESQL_REPLICA")  # a streaming replica of SERVER (bash .ci/run)


def on_replica(url: str) -> str:
    """The same database (schema) as url, read from the replica server."""
    return REPLICA + url[len(SERVER):]
