"""Opening the database: one SQLite file per instance, WAL, durable commits.

A database is named by a URL, `sqlite:///absolute/path/fieldkit.db` (a plain path
is read as one): the one name every part of fieldkit passes around, so that a
central on PostgreSQL (`postgresql://...`, issue 16) is a matter of this module."""
from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from .migrations import migrations


DATABASE_FILE = "fieldkit.db"  # an instance's database, in its data directory
SQLITE = "sqlite:///"


def url_for(data_dir: str | Path) -> str:
    """The URL of the database of the instance in data_dir."""
    return SQLITE + str(Path(data_dir).resolve() / DATABASE_FILE)


def sqlite_path(url: str | Path) -> Path:
    """The file a sqlite URL (or a plain path) names; anything else is refused plainly."""
    text = str(url)
    if text.startswith(SQLITE):
        return Path(text[len(SQLITE):])
    if "://" in text:
        scheme = text.split("://", 1)[0]
        raise ValueError(f"fieldkit cannot open a {scheme} database yet: use sqlite:///PATH "
                         "(PostgreSQL for a central is planned, issue 16)")
    return Path(text)


def connect(url: str | Path, migrate: bool = False) -> sqlite_utils.Database:
    """A connection with the pragmas every fieldkit connection needs.

    synchronous=FULL: a submission the participant was thanked for survives a
    power cut. isolation_level=None: transactions are begun explicitly by
    write(), so a logical write is exactly one transaction.
    """
    path = sqlite_path(url)
    new = not path.exists()
    conn = sqlite3.connect(path, timeout=15, isolation_level=None, check_same_thread=False)
    if new:
        os.chmod(path, 0o600)  # answers are sensitive: owner only
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    db = sqlite_utils.Database(conn)
    if migrate:
        migrations.apply(db)
    return db


@contextmanager
def write(db: sqlite_utils.Database):
    """One write transaction, taken at once (IMMEDIATE) so that two writers
    queue on the lock instead of failing when a read turns into a write."""
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.conn.execute("ROLLBACK")
        raise
    db.conn.execute("COMMIT")
