"""Moving a central's database: every table copied, checked, and recorded in the activity log."""
from __future__ import annotations

from .. import store
from ..store import audit
from ..store.copy import CopyRefused, copy  # noqa: F401  (CopyRefused: for callers)
from ..store.db import shown


def copy_database(from_url: str, to_url: str, actor: str | None = None, progress=None) -> dict[str, int]:
    """Copy the database at from_url into the new, empty one at to_url (both migrated to this
    version first). Raises CopyRefused, or store.db.DatabaseUnavailable; the target is then as it was."""
    if str(from_url) == str(to_url):
        raise CopyRefused("the source and the target are the same database")
    source = store.connect(from_url, migrate=True)
    try:
        target = store.connect(to_url, migrate=True)
        try:
            copied = copy(source, target, progress)
            audit.record(target, actor, "database.copied", source=shown(from_url),
                         rows=sum(copied.values()))
            return copied
        finally:
            target.close()
    finally:
        source.close()
