"""Opening the database: SQLite (a laptop, and the default everywhere) or PostgreSQL
(a central that outgrows one file and one process).

A database is named by a URL: `sqlite:///absolute/path/fieldkit.db` (a plain path is
read as one) or `postgresql://user:password@host:port/name`. Every part of fieldkit
passes that one name around; `Store` turns it into connections.

store/ speaks to a `Database`, whichever engine is behind it: `execute` and `query`
with `?` placeholders, in the SQL both engines share (ON CONFLICT upserts, savepoints,
COUNT and LIMIT), and `insert`. The few true differences between the engines are
methods of the two classes, written once each: JSON access (`json_text`), "not one of
these values" (`not_in`), row locks (`for_update`), how a write transaction begins.
The SQLite class is in this module; the PostgreSQL one in store/postgresql.py, which
imports psycopg only when a postgresql:// URL is opened."""
from __future__ import annotations

import itertools
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DATABASE_FILE = "fieldkit.db"  # an instance's database, in its data directory
SQLITE = "sqlite:///"
POSTGRESQL = ("postgresql://", "postgres://")


class DatabaseUnavailable(RuntimeError):
    """The database cannot be opened: said in plain words, without its password."""


def url_for(data_dir: str | Path) -> str:
    """The URL of the database of the instance in data_dir."""
    return SQLITE + str(Path(data_dir).resolve() / DATABASE_FILE)


def is_postgresql(url: str | Path) -> bool:
    return str(url).startswith(POSTGRESQL)


def sqlite_path(url: str | Path) -> Path:
    """The file a sqlite URL (or a plain path) names; anything else is refused plainly."""
    text = str(url)
    if text.startswith(SQLITE):
        return Path(text[len(SQLITE):])
    if "://" in text:
        scheme = text.split("://", 1)[0]
        raise ValueError(f"fieldkit cannot open a {scheme} database: use sqlite:///PATH or postgresql://…")
    return Path(text)


def shown(url: str | Path) -> str:
    """A database URL fit for a log or a message: without its password."""
    text = str(url)
    if is_postgresql(text) and "@" in text.split("://", 1)[1].split("/", 1)[0]:
        scheme, rest = text.split("://", 1)
        credentials, host = rest.split("@", 1)
        return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}" if ":" in credentials else text
    return text


class Database:
    """One connection to either engine. Autocommit outside write(): a read sees what
    is committed, and a logical write is exactly one transaction."""

    dialect = ""

    def execute(self, sql: str, params=()):
        """A cursor: fetchone(), fetchall(), rowcount, iteration over tuples."""
        raise NotImplementedError

    def executemany(self, sql: str, rows) -> None:
        raise NotImplementedError

    def query(self, sql: str, params=()) -> Iterator[dict]:
        """Rows as dicts, read from a cursor."""
        cursor = self.execute(sql, params)
        names = [d[0] for d in cursor.description]
        for row in cursor:
            yield dict(zip(names, row))

    def one(self, sql: str, params=()) -> dict | None:
        """The first row as a dict, or None."""
        cursor = self.execute(sql, params)
        row = cursor.fetchone()
        return dict(zip([d[0] for d in cursor.description], row)) if row is not None else None

    def insert(self, table: str, row: dict, returning: str | None = None):
        """One INSERT of a row; with returning, the value of that column (a new id)."""
        raise NotImplementedError

    def stream(self, sql: str, params=(), size: int = 1000, dicts: bool = False) -> Iterator:
        """Rows (tuples, or dicts), fetched `size` at a time, never all at once (exports, copies)."""
        cursor = self.execute(sql, params)
        names = [d[0] for d in cursor.description]
        while rows := cursor.fetchmany(size):
            for row in rows:
                yield dict(zip(names, row)) if dicts else row

    def columns(self, table: str) -> list[str]:
        """The table's columns, in their order."""
        raise NotImplementedError

    def reset_ids(self, table: str) -> None:
        """After rows were inserted with their ids: the next id follows the largest."""

    def count(self, table: str) -> int:
        return self.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]

    @property
    def in_transaction(self) -> bool:
        raise NotImplementedError

    def begin(self) -> None:
        """Begin a write transaction."""
        raise NotImplementedError

    def begin_relaxed(self) -> None:
        """Begin a write transaction whose commit need not reach the disk at once: a power cut
        may undo it if it comes within RELAXED_SECONDS, never half of it (see write())."""
        self.begin()

    def end_relaxed(self) -> None:
        """After a relaxed transaction's COMMIT or ROLLBACK."""

    def begin_snapshot(self) -> None:
        """Begin a read-only transaction: every read in it sees the database as of one moment,
        and writers carry on meanwhile. Ended with ROLLBACK."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    # --- the dialect: SQL fragments that differ between the engines ---------------------------

    def json_text(self, column: str, *keys: str) -> str:
        """The text at keys in a JSON column, NULL when absent."""
        raise NotImplementedError

    def not_in(self, column: str, values) -> tuple[str, list]:
        """(a condition, its one parameter): column is none of the values."""
        raise NotImplementedError

    def in_list(self, column: str, values) -> tuple[str, list]:
        """(a condition, its one parameter): column is one of the values."""
        raise NotImplementedError

    def json_items(self, column: str, alias: str, safe: bool = False) -> str:
        """A FROM item: one row (alias.key, alias.value as text) per top-level member of the JSON
        object in column. safe: none, rather than an error, for one the engine cannot read (a
        slower query on some engines: try without, and again with it on one of data_errors)."""
        raise NotImplementedError

    data_errors: tuple = ()  # what a query raises on a value it cannot read (JSON it refuses)

    for_update = ""  # after a SELECT: lock the rows read until the transaction ends

    def serialize(self, name: str) -> None:
        """Inside a write: until it ends, no other write that serializes on name runs (for a
        check-then-insert that no unique index covers). SQLite's writes are one at a time already."""

    @staticmethod
    def insert_sql(table: str, row: dict) -> str:
        return (f"INSERT INTO {table} ({', '.join(_quoted(c) for c in row)}) "
                f"VALUES ({', '.join('?' for _ in row)})")


def _quoted(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(name)
    return f'"{name}"'


class SQLite(Database):
    """A SQLite file, WAL, durable commits."""

    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection, path: Path | None = None):
        self.conn, self.path = conn, path

    def execute(self, sql, params=()):
        return self.conn.execute(sql, params)

    def executemany(self, sql, rows):
        self.conn.executemany(sql, rows)

    def insert(self, table, row, returning=None):
        cursor = self.conn.execute(self.insert_sql(table, row), list(row.values()))
        return cursor.lastrowid if returning else None

    @property
    def in_transaction(self):
        return self.conn.in_transaction

    def begin(self):
        # IMMEDIATE: two writers queue on the lock instead of failing when a read turns into a write.
        self.conn.execute("BEGIN IMMEDIATE")

    def begin_relaxed(self):
        self.conn.execute("PRAGMA synchronous=NORMAL")  # for this transaction only: see end_relaxed
        self.begin()

    def end_relaxed(self):
        if self.conn.in_transaction:  # its COMMIT failed (and raised): undone, as SQLite's level may change only outside
            self.conn.execute("ROLLBACK")
        self.conn.execute("PRAGMA synchronous=FULL")
        if self.path is not None:
            WalSyncer.of(self.path).committed()

    def begin_snapshot(self):
        self.conn.execute("BEGIN")  # deferred: WAL gives its first read a snapshot, writers are not blocked

    def close(self):
        self.conn.close()

    def columns(self, table):
        return [r[1] for r in self.conn.execute(f"PRAGMA table_info({_quoted(table)})")]

    def json_text(self, column, *keys):
        return f"json_extract({column}, '$.{'.'.join(keys)}')"

    def not_in(self, column, values):
        return f"{column} NOT IN (SELECT value FROM json_each(?))", json.dumps(sorted(values))

    def in_list(self, column, values):
        return f"{column} IN (SELECT value FROM json_each(?))", json.dumps(sorted(values))

    def json_items(self, column, alias, safe=False):
        # Always safe, json_valid being cheap: SQLite's JSON refuses NaN, which Python's json writes
        # (a central before its sync API refused NaN): such answers count as empty.
        return f"json_each(CASE WHEN json_valid({column}) THEN {column} ELSE '{{}}' END) AS {alias}"

    def sqlite_utils(self):
        """The same connection as sqlite-utils sees it (migrations, backups)."""
        from .sqlite_utils_lib import Database
        return Database(self.conn)


def connect(url: str | Path, migrate: bool = False) -> Database:
    """A new connection, with what every fieldkit connection needs; migrated on request."""
    if is_postgresql(url):
        from . import postgresql
        db = postgresql.connect(str(url))
        if migrate:
            postgresql.migrate(db)
        return db
    db = _connect_sqlite(sqlite_path(url))
    if migrate:
        from .migrations import migrations
        migrations.apply(db.sqlite_utils())
    return db


def _connect_sqlite(path: Path) -> SQLite:
    """synchronous=FULL: a submission the participant was thanked for survives a power
    cut. isolation_level=None: transactions are begun explicitly by write()."""
    new = not path.exists()
    conn = sqlite3.connect(path, timeout=15, isolation_level=None, check_same_thread=False)
    if new:
        os.chmod(path, 0o600)  # answers are sensitive: owner only
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    return SQLite(conn, path)


_savepoints = itertools.count(1)

RELAXED_SECONDS = 0.5  # a relaxed commit is on the disk within this (bench/RESULTS.md, issue 18)


class WalSyncer:
    """Puts a SQLite file's relaxed commits on the disk within RELAXED_SECONDS of each.

    A relaxed transaction commits with synchronous=NORMAL: SQLite writes it to the WAL but
    does not fsync it, so a power cut may undo it (whole, never half). One thread per
    database file, woken by relaxed commits, fsyncs the WAL at most every RELAXED_SECONDS
    (the same flush a synchronous=FULL commit ends with, shared by every commit since).
    Any FULL commit, a submission's, also puts every earlier relaxed one on the disk."""

    _all: dict[str, "WalSyncer"] = {}
    _lock = threading.Lock()

    def __init__(self, path: Path):
        self.wal = Path(f"{path}-wal")  # SQLite's name for a WAL file: the database's, and -wal
        self.due = threading.Event()
        threading.Thread(target=self._run, name=f"fieldkit-wal-sync {path.name}", daemon=True).start()

    @classmethod
    def of(cls, path: Path) -> "WalSyncer":
        key = str(path)
        with cls._lock:
            if key not in cls._all:
                cls._all[key] = cls(path)
            return cls._all[key]

    def committed(self) -> None:
        self.due.set()

    def _run(self) -> None:
        import time
        while True:
            self.due.wait()
            time.sleep(RELAXED_SECONDS)  # every relaxed commit of this interval shares one flush
            self.due.clear()
            self.sync()

    def sync(self) -> None:
        try:
            fd = os.open(self.wal, os.O_RDWR)
        except OSError:  # no WAL at the moment: a checkpoint emptied it, already on the disk
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextmanager
def write(db: Database, durable: bool = True):
    """One write transaction; inside another, a savepoint of it (undone alone on error).

    durable=False (a participant's answers in progress, never a submission): the commit may
    reach the disk up to RELAXED_SECONDS later, so a power cut loses at most the screen a
    phone sent in that moment; a savepoint follows the transaction it is in."""
    if db.in_transaction:
        name = f"fk_{next(_savepoints)}"
        db.execute(f"SAVEPOINT {name}")
        try:
            yield db
        except BaseException:
            db.execute(f"ROLLBACK TO SAVEPOINT {name}")
            db.execute(f"RELEASE SAVEPOINT {name}")
            raise
        db.execute(f"RELEASE SAVEPOINT {name}")
        return
    if durable:
        db.begin()
    else:
        db.begin_relaxed()
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    else:
        db.execute("COMMIT")
    finally:
        if not durable:
            db.end_relaxed()


class Store:
    """A database by its URL, and the connections to it: `connection()` lends one
    for a request or a task and takes it back. At most `keep` stay open between
    uses (a busier moment opens more, closed when given back); keep=0 opens and
    closes one each time. The first open migrates the database."""

    def __init__(self, url: str | Path, keep: int = 0, migrate: bool = True):
        self.url, self.keep = str(url), keep
        self.idle: list[Database] = []
        self.lock = threading.Lock()
        if migrate:
            connect(self.url, migrate=True).close()

    @property
    def dialect(self) -> str:
        return "postgresql" if is_postgresql(self.url) else "sqlite"

    def take(self) -> Database:
        with self.lock:
            if self.idle:
                return self.idle.pop()
        return connect(self.url)

    def give(self, db: Database) -> None:
        """Back to the idle ones, unless it is in a transaction it did not end (or broken)."""
        if not db.in_transaction and getattr(db, "healthy", True):
            with self.lock:
                if len(self.idle) < self.keep:
                    self.idle.append(db)
                    return
        db.close()

    @contextmanager
    def connection(self):
        db = self.take()
        try:
            yield db
        finally:
            self.give(db)

    def close(self) -> None:
        with self.lock:
            idle, self.idle = self.idle, []
        for db in idle:
            db.close()

    def __repr__(self) -> str:
        return f"Store({shown(self.url)!r})"
