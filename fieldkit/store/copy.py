"""Copying a whole fieldkit database to another, on either engine: moving a central from
SQLite to PostgreSQL (or back), checked and never half done."""
from __future__ import annotations

import hashlib
import json

from .db import Database, write

# Every table fieldkit keeps, parents first; tables with an `id` the database numbers are
# copied with their ids (events and conflicts are referred to by them).
TABLES = ("meta", "forms", "form_media", "fonts", "events", "users", "signin_failures", "devices", "collectors",
          "drafts", "receipts", "submissions", "attachments", "conflicts", "audit")
WITH_IDS = ("forms", "events", "conflicts", "audit")
ORDER = {"meta": "key", "forms": "id", "form_media": "sha256", "fonts": "key", "events": "id",
         "users": "username", "signin_failures": "name_hash", "devices": "name", "collectors": "name", "drafts": "token_hash",
         "receipts": "token_hash", "submissions": "uuid", "attachments": "uuid, name", "conflicts": "id",
         "audit": "id"}
BATCH = 500


class CopyRefused(Exception):
    """The copy cannot start (said why), or its check failed (and nothing was kept)."""


def is_empty(db: Database) -> bool:
    return all(db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] == 0 for t in TABLES if t != "meta") and \
        db.execute("SELECT COUNT(*) FROM meta").fetchone()[0] == 0


def table_digest(db: Database, table: str, columns: list[str]) -> tuple[int, str]:
    """(rows, sha256 of every row in primary-key order): the same on both engines for the same data."""
    digest, count = hashlib.sha256(), 0
    for row in db.stream(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {ORDER[table]}"):
        digest.update(json.dumps([v.hex() if isinstance(v, (bytes, memoryview)) else v for v in
                                  (bytes(x) if isinstance(x, memoryview) else x for x in row)],
                                 ensure_ascii=False, default=str).encode())
        count += 1
    return count, digest.hexdigest()


def copy(source: Database, target: Database, progress=None) -> dict[str, int]:
    """Copy every row of source into target (migrated and empty) in ONE transaction on the
    target, read from one snapshot of the source; then count and hash every table on both
    sides, still inside that transaction. Any difference, error or interruption rolls it all
    back: the target is left as empty as it was. Returns rows per table."""
    if not is_empty(target):
        raise CopyRefused("the target database already holds data: copy only into a new, empty one")
    copied: dict[str, int] = {}
    source.begin_snapshot()  # a source still being written to is copied as of this moment
    try:
        with write(target):
            for table in TABLES:
                columns = [c for c in source.columns(table) if c in set(target.columns(table))]
                missing = set(target.columns(table)) ^ set(source.columns(table))
                if missing:
                    raise CopyRefused(f"the two databases differ in table {table} ({', '.join(sorted(missing))}): "
                                      "run the same fieldkit version on both")
                sql = (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})")
                batch, n = [], 0
                for row in source.stream(f"SELECT {', '.join(columns)} FROM {table}"):
                    batch.append([bytes(v) if isinstance(v, memoryview) else v for v in row])
                    if len(batch) >= BATCH:
                        target.executemany(sql, batch)
                        n += len(batch)
                        batch = []
                        if progress:
                            progress(table, n)
                if batch:
                    target.executemany(sql, batch)
                    n += len(batch)
                if table in WITH_IDS:
                    target.reset_ids(table)
                copied[table] = n
                if progress:
                    progress(table, n)
            for table in TABLES:
                columns = source.columns(table)
                theirs, ours = table_digest(source, table, columns), table_digest(target, table, columns)
                if theirs != ours:
                    raise CopyRefused(f"table {table}: {theirs[0]} rows in the source, {ours[0]} copied, "
                                      "and their contents differ; nothing was kept")
    finally:
        source.execute("ROLLBACK")
    return copied
