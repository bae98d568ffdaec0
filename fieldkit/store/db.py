"""Opening the database: one SQLite file per instance, WAL, durable commits."""
from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from .migrations import migrations


def connect(path: str | Path, migrate: bool = False) -> sqlite_utils.Database:
    """A connection with the pragmas every fieldkit connection needs.

    synchronous=FULL: a submission the participant was thanked for survives a
    power cut. isolation_level=None: transactions are begun explicitly by
    write(), so a logical write is exactly one transaction.
    """
    path = Path(path)
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
