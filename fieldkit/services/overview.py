"""What the console's home shows first: today's answers per event, the forms open,
the last sync and the disk space left: what a coordinator checks at a glance."""
from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..store import forms as form_store, submissions, sync as sync_store

LOW_DISK = 1024 ** 3  # under 1 GB free: the home page says so


@dataclass
class Overview:
    today: list[dict]  # {"event_id", "name", "n"}, most first; name None: answers from no event
    forms_open: int
    forms: int
    linked: bool
    unsynced: int
    last_success: str | None  # when a sync last ended with everything acknowledged (UTC)
    disk_free: int | None  # bytes, None where the disk cannot be asked
    disk_total: int | None

    @property
    def answers_today(self) -> int:
        return sum(row["n"] for row in self.today)

    @property
    def disk_low(self) -> bool:
        return self.disk_free is not None and self.disk_free < LOW_DISK


def local_midnight_utc(now: dt.datetime | None = None) -> str:
    """The start of the laptop's own day (or of now's, when it carries a zone), as
    submissions store their time (UTC, Z)."""
    now = now if now is not None and now.tzinfo is not None else (now or dt.datetime.now()).astimezone()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def overview(db, data_dir: str | Path, now: dt.datetime | None = None) -> Overview:
    forms = form_store.list_forms(db)
    try:
        usage = shutil.disk_usage(data_dir)
        free, total = usage.free, usage.total
    except OSError:
        free = total = None
    return Overview(today=submissions.count_since_by_event(db, local_midnight_utc(now)),
                    forms_open=sum(1 for f in forms if f["status"] == "open"), forms=len(forms),
                    linked=sync_store.get_link(db) is not None,
                    unsynced=sync_store.count_by_state(db).get("unsynced", 0),
                    last_success=(sync_store.get_last_success(db) or {}).get("at"),
                    disk_free=free, disk_total=total)
