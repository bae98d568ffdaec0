"""Events: one gathering at one site on one day, with the forms open there."""
from __future__ import annotations

import json
import secrets

from .db import write
from .util import utcnow

CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: easy to type from a poster
FIELDS = ("name", "site", "date", "wifi_ssid", "wifi_password", "wifi_security")


def _decode(row) -> dict:
    return dict(row, forms=json.loads(row["forms"]), help=json.loads(row["help"]) if row.get("help") else None)


def add_event(db, values: dict, forms: list[str], help: list[dict] | None = None) -> dict:
    with write(db):
        while True:
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(5))
            if not next(db.query("SELECT 1 FROM events WHERE code = ?", [code]), None):
                break
        row = {k: values.get(k) or None for k in FIELDS}
        row.update(code=code, name=values["name"], forms=json.dumps(forms), created_at=utcnow(),
                   help=None if help is None else json.dumps(help, ensure_ascii=False))
        event_id = db.insert("events", row, returning="id")
    return get_event(db, event_id)


def update_event(db, event_id: int, values: dict, forms: list[str]) -> None:
    row = {k: values.get(k) or None for k in FIELDS}
    row.update(name=values["name"], forms=json.dumps(forms))
    with write(db):
        db.execute(f"UPDATE events SET {', '.join(f'{k} = ?' for k in row)} WHERE id = ?",
                   [*row.values(), event_id])


def get_event(db, event_id: int) -> dict | None:
    row = next(db.query("SELECT * FROM events WHERE id = ?", [event_id]), None)
    return _decode(row) if row else None


def event_by_code(db, code: str) -> dict | None:
    row = next(db.query("SELECT * FROM events WHERE code = ?", [code]), None)
    return _decode(row) if row else None


def list_events(db) -> list[dict]:
    sql = """SELECT e.*, (SELECT COUNT(*) FROM submissions s WHERE s.event_id = e.id) AS submissions
             FROM events e ORDER BY COALESCE(e.date, e.created_at) DESC, e.id DESC"""
    return [_decode(r) for r in db.query(sql)]


def count_event_submissions(db, event_id: int) -> int:
    return next(db.query("SELECT COUNT(*) AS n FROM submissions WHERE event_id = ?", [event_id]))["n"]


def set_help(db, event_id: int, resources: list[dict]) -> None:
    with write(db):
        db.execute("UPDATE events SET help = ? WHERE id = ?", [json.dumps(resources, ensure_ascii=False), event_id])


def received_event(db, event: dict, form_id: str) -> int:
    """On a central: the event a device's submission came from, found by its
    code, or recorded on first sight (inside the caller's transaction). Two batches from
    one gathering at once, in two processes: the database keeps one row of the code, and
    the row is locked while its list of forms is read and written."""
    db.execute("INSERT INTO events (code, name, site, date, forms, created_at) VALUES (?, ?, ?, ?, ?, ?) "
               "ON CONFLICT (code) DO NOTHING",
               [event["code"], event["name"], event.get("site"), event.get("date"), json.dumps([form_id]), utcnow()])
    row = db.one("SELECT id, forms FROM events WHERE code = ?" + db.for_update, [event["code"]])
    forms = json.loads(row["forms"])
    if form_id not in forms:
        db.execute("UPDATE events SET forms = ? WHERE id = ?", [json.dumps(forms + [form_id]), row["id"]])
    return row["id"]
