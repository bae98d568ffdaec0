"""Sync state: what a laptop still has to send, what a central received, the
link to a central, and the lease that lets one sync run at a time."""
from __future__ import annotations

import json
import time

from . import attachments, devices, events
from .db import write
from .submissions import content_hash
from .util import utcnow

LINK_KEY = "sync_link"
LEASE_KEY = "sync_lease"
STATUS_KEY = "sync_status"


# --- laptop side: the queue ----------------------------------------------------------------

def unsynced(db, limit: int, skip: frozenset | set = frozenset(), skip_forms: frozenset | set = frozenset()) -> list[dict]:
    """The oldest submissions not yet acknowledged by the central, in a stable order
    (a resumed sync sends the same batches again, which the central deduplicates);
    without those in skip (the central refused them in this run), nor the answers to
    the forms in skip_forms (synced by hand only, in a sync by itself)."""
    # The event travels by its code and name: its id is local to this laptop.
    sql = ("SELECT s.*, e.code AS event_code, e.name AS event_name, e.site AS event_site, e.date AS event_date "
           "FROM submissions s LEFT JOIN events e ON e.id = s.event_id WHERE s.sync_state IS NULL ")
    params = []
    for column, values in (("s.uuid", skip), ("s.form_id", skip_forms)):
        if values:
            condition, param = db.not_in(column, values)
            sql += f"AND {condition} "
            params.append(param)
    sql += "ORDER BY s.submitted_at, s.uuid LIMIT ?"
    params.append(limit)
    rows = [dict(r, answers=json.loads(r["answers"])) for r in db.query(sql, params)]
    files = attachments.for_sync(db, [r["uuid"] for r in rows])
    for row in rows:
        row["attachments"] = files.get(row["uuid"], [])
    return rows


def count_by_state(db) -> dict[str, int]:
    """{'unsynced': n, 'synced': n, 'conflict': n, 'received': n}"""
    counts = {"unsynced": 0, "synced": 0, "conflict": 0, "received": 0}
    for row in db.query("SELECT sync_state, COUNT(*) AS n FROM submissions GROUP BY sync_state"):
        counts[row["sync_state"] or "unsynced"] = row["n"]
    return counts


def mark_synced(db, outcomes: dict[str, str]) -> None:
    """Record the central's acknowledgement of each uuid, in one transaction.
    A conflict is acknowledged too (the central kept our copy for review), but
    stays apart: it is not resent and never purged."""
    now = utcnow()
    with write(db):
        db.executemany(
            "UPDATE submissions SET sync_state = ?, synced_at = ? WHERE uuid = ? AND sync_state IS NULL",
            [("conflict" if outcome == "conflict" else "synced", now, uuid) for uuid, outcome in outcomes.items()
             if outcome != "unknown_form"])  # not stored by the central: still ours to send


def purge_synced(db) -> int:
    """Delete local copies the central confirmed it holds as they are. Never an
    unacknowledged one, never a conflict."""
    with write(db):
        return db.execute("DELETE FROM submissions WHERE sync_state = 'synced' AND synced_at IS NOT NULL").rowcount


def local_conflicts(db, limit: int = 200) -> list[dict]:
    return [dict(r) for r in db.query(
        "SELECT uuid, form_id, form_version, submitted_at, synced_at FROM submissions "
        "WHERE sync_state = 'conflict' ORDER BY submitted_at DESC LIMIT ?", [limit])]


# --- central side: receiving ----------------------------------------------------------------

RECEIVED = ("uuid", "form_id", "form_version", "language", "answers", "content_hash", "started_at",
            "submitted_at", "device_id", "device_name", "sync_state", "synced_at", "event_id")


def receive_batch(db, device_name: str, records: list[dict]) -> list[str]:
    """Store a device's batch (distinct uuids) in ONE transaction; the caller answers only
    after it committed. Each record: 'created', 'duplicate' or 'conflict'.

    A few statements per batch, not a few per record: the rows go in with one INSERT ...
    ON CONFLICT (uuid) DO NOTHING RETURNING uuid, so the database says which it took (of two
    processes storing one uuid at once, one takes it); the others are told apart by one read
    of the stored content hashes. On PostgreSQL, where every statement is a round trip, this
    is most of a central's ingest (bench/RESULTS.md)."""
    now = utcnow()
    counts = {"created": 0, "duplicate": 0, "conflict": 0}
    with write(db):
        event_ids: dict[tuple[str, str], int] = {}
        rows, files = [], {}
        for record in records:
            event = record.get("event")
            event_id = None
            if event:
                key = (event["code"], record["form_id"])
                if key not in event_ids:
                    event_ids[key] = events.received_event(db, event, record["form_id"])
                event_id = event_ids[key]
            files[record["uuid"]] = record.get("attachments") or []
            row = {k: record.get(k) for k in RECEIVED}
            # as services/sync.from_wire checked it, or made here
            digest = record.get("content_hash") or content_hash(record["form_id"], record["form_version"],
                                                                record["answers"])
            row.update(content_hash=digest,
                       answers=json.dumps(record["answers"], ensure_ascii=False, sort_keys=True),
                       device_name=device_name, sync_state="received", synced_at=now, event_id=event_id)
            rows.append(row)
        created = set()
        for i in range(0, len(rows), 100):  # 1,300 parameters a statement: within every engine's limit
            part = rows[i:i + 100]
            marks = ", ".join("(" + ", ".join("?" for _ in RECEIVED) + ")" for _ in part)
            created.update(r[0] for r in db.execute(
                f"INSERT INTO submissions ({', '.join(RECEIVED)}) VALUES {marks} "
                "ON CONFLICT (uuid) DO NOTHING RETURNING uuid", [row[k] for row in part for k in RECEIVED]).fetchall())
        held = _content_hashes(db, [r["uuid"] for r in rows if r["uuid"] not in created])
        outcomes = []
        for row, record in zip(rows, records):
            uuid = row["uuid"]
            outcome = "created" if uuid in created else "duplicate" if held[uuid] == row["content_hash"] else "conflict"
            if outcome != "conflict":  # created, or a resend: its files are the stored record's
                attachments.add_received(db, uuid, files[uuid])
            if outcome == "conflict":
                if keep_conflict(db, device_name, dict(record, device_name=device_name), now):
                    counts["conflict"] += 1
            else:
                counts[outcome] += 1
            outcomes.append(outcome)
        devices.seen(db, device_name, counts["created"], counts["duplicate"], counts["conflict"])
    return outcomes


def _content_hashes(db, uuids: list[str]) -> dict[str, str]:
    found = {}
    for i in range(0, len(uuids), 500):
        part = uuids[i:i + 500]
        found.update(db.execute(f"SELECT uuid, content_hash FROM submissions WHERE uuid IN "
                                f"({', '.join('?' for _ in part)})", part).fetchall())
    return found


def keep_conflict(db, device_name: str, row: dict, now: str) -> bool:
    """Keep what the device sent beside the stored record. False if this very
    content was already kept (a resend after a lost answer)."""
    digest = content_hash(row["form_id"], row["form_version"], row["answers"])
    record = {k: row.get(k) for k in ("uuid", "form_id", "form_version", "language", "answers",
                                      "started_at", "submitted_at", "device_id")}
    return db.execute(
        "INSERT INTO conflicts (uuid, device_name, content_hash, record, received_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        [row["uuid"], device_name, digest, json.dumps(record, ensure_ascii=False, sort_keys=True), now]).rowcount == 1


def list_conflicts(db, limit: int = 200) -> list[dict]:
    return [dict(r) for r in db.query(
        "SELECT id, uuid, device_name, received_at FROM conflicts ORDER BY id DESC LIMIT ?", [limit])]


def get_conflict(db, conflict_id: int) -> dict | None:
    row = next(db.query("SELECT * FROM conflicts WHERE id = ?", [conflict_id]), None)
    return dict(row, record=json.loads(row["record"])) if row else None


def published_versions(db) -> list[dict]:
    """Every form version, in the order they were added (so a laptop adds them
    in the same order and ends with the same current version)."""
    return [dict(r) for r in db.query(
        "SELECT form_id, version, source_name, source_sha256 AS sha256, created_at AS published_at "
        "FROM forms ORDER BY id")]


def version_digest(db, form_id: str, version: str) -> str | None:
    row = next(db.query("SELECT source_sha256 FROM forms WHERE form_id = ? AND version = ?",
                        [form_id, version]), None)
    return row["source_sha256"] if row else None


# --- laptop side: the link, the lease, the last result --------------------------------------

def _get_json(db, key: str) -> dict | None:
    row = next(db.query("SELECT value FROM meta WHERE key = ?", [key]), None)
    return json.loads(row["value"]) if row else None


def _put_json(db, key: str, value: dict) -> None:
    with write(db):
        db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                   [key, json.dumps(value, ensure_ascii=False)])


def get_link(db) -> dict | None:
    """{'url', 'token', 'ca_bundle', 'allow_http', 'device'} or None."""
    return _get_json(db, LINK_KEY)


def set_link(db, link: dict) -> None:
    _put_json(db, LINK_KEY, link)


AUTO_KEY = "sync_auto"
SUCCESS_KEY = "sync_last_success"


def get_auto(db) -> dict:
    """{'by_hand': bool (the whole laptop), 'forms_by_hand': [form_id, ...]}: what a sync
    by itself leaves to a sync by hand (some programmes must not move data over a home network)."""
    found = _get_json(db, AUTO_KEY) or {}
    return {"by_hand": bool(found.get("by_hand")), "forms_by_hand": sorted(set(found.get("forms_by_hand") or []))}


def set_auto(db, by_hand: bool, forms_by_hand: list[str]) -> None:
    _put_json(db, AUTO_KEY, {"by_hand": bool(by_hand), "forms_by_hand": sorted(set(forms_by_hand))})


def count_unsynced(db, skip_forms: frozenset | set = frozenset()) -> int:
    sql, params = "SELECT COUNT(*) FROM submissions WHERE sync_state IS NULL", []
    if skip_forms:
        condition, param = db.not_in("form_id", skip_forms)
        sql, params = f"{sql} AND {condition}", [param]
    return db.execute(sql, params).fetchone()[0]


def get_last_success(db) -> dict | None:
    """{'at', 'sent', 'by'} of the last sync that ended with everything acknowledged."""
    return _get_json(db, SUCCESS_KEY)


def put_last_success(db, value: dict) -> None:
    _put_json(db, SUCCESS_KEY, value)


def get_status(db) -> dict | None:
    return _get_json(db, STATUS_KEY)


def put_status(db, status: dict) -> None:
    _put_json(db, STATUS_KEY, status)


def take_lease(db, owner: str, seconds: float) -> bool:
    """Take or renew the sync lease. A row in the database rather than a lock
    file: it works the same on Windows, macOS and Linux, for the CLI and for the
    console's thread, and a crashed sync's lease simply expires. One statement: the
    database takes it or not, whichever process asks at the same moment."""
    now = time.time()
    with write(db):
        return db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value "
            f"WHERE {db.json_text('meta.value', 'owner')} = ? OR CAST({db.json_text('meta.value', 'expires')} AS DOUBLE PRECISION) <= ?",
            [LEASE_KEY, json.dumps({"owner": owner, "expires": now + seconds}), owner, now]).rowcount == 1


def lease_held(db) -> bool:
    lease = _get_json(db, LEASE_KEY)
    return bool(lease and lease["expires"] > time.time())


def release_lease(db, owner: str) -> None:
    with write(db):
        lease = db.one("SELECT value FROM meta WHERE key = ?" + db.for_update, [LEASE_KEY])
        if lease and json.loads(lease["value"]).get("owner") == owner:
            db.execute("DELETE FROM meta WHERE key = ?", [LEASE_KEY])
