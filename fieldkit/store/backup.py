"""A consistent copy of a live database (SQLite's online backup)."""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path


def backup_to(db, path: Path) -> None:
    """Copy db to path while the server keeps answering.

    One backup step over the whole file: in WAL mode this only holds a read
    snapshot, so writers are not blocked, and a copy made step by step would
    restart at every write. Written beside the target, checked, then renamed
    into place: a half-written backup never looks like a good one."""
    path = Path(path)
    part = path.with_name(path.name + ".part")
    if part.exists():
        part.unlink()  # left by a backup that was interrupted
    os.close(os.open(part, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))  # answers are sensitive: owner only
    target = sqlite3.connect(part)
    try:
        db.conn.backup(target)
        ok = target.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    finally:
        target.close()
    if not ok:
        part.unlink()
        raise sqlite3.DatabaseError("the copy did not pass SQLite's quick_check")
    os.replace(part, path)
