"""Font subsets, built once and kept, so phones are served stored bytes."""
from __future__ import annotations

import hashlib

from .db import write
from .util import utcnow


def subset_digest(db, key: str) -> str | None:
    """The digest of the subset built from key, if it has been built."""
    row = next(db.query("SELECT digest FROM fonts WHERE key = ?", [key]), None)
    return row["digest"] if row else None


def add_subset(db, key: str, chars: str, woff2: bytes) -> str:
    """Keep a subset; returns its digest. Two requests that built the same subset
    at once both succeed: the first one's row stays."""
    digest = hashlib.sha256(woff2).hexdigest()[:20]  # its name in URLs
    with write(db):
        db.execute("INSERT INTO fonts (key, digest, woff2, chars, created_at) VALUES (?, ?, ?, ?, ?) "
                   "ON CONFLICT DO NOTHING",
                   [key, digest, woff2, chars, utcnow()])
    return subset_digest(db, key)


def subset_bytes(db, digest: str) -> bytes | None:
    row = next(db.query("SELECT woff2 FROM fonts WHERE digest = ? LIMIT 1", [digest]), None)
    return row["woff2"] if row else None
