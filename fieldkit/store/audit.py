"""The audit log: who exported, changed a form, signed in, when."""
from __future__ import annotations

import json

from .db import write
from .util import utcnow


def record(db, username: str | None, action: str, **detail) -> None:
    with write(db):
        db.insert("audit", {"at": utcnow(), "username": username, "action": action,
                             "detail": json.dumps(detail, ensure_ascii=False, sort_keys=True)})


def recent(db, limit: int = 200) -> list[dict]:
    return [dict(r, detail=json.loads(r["detail"] or "{}"))
            for r in db.query("SELECT * FROM audit ORDER BY id DESC LIMIT ?", [limit])]
