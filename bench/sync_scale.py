"""3. Sync at programme scale: a laptop pushes 100,000 submissions to a central
(`fieldkit serve` on loopback) with fieldkit.sync.runner.run, the function
`fieldkit sync` runs. Then the same again with the central killed at about
50% (mid-batch), restarted, and the sync resumed: exactly once or not at all.

Ceiling: a raw bulk insert of the same rows into the same schema on the same
disk, in the same batches (one transaction per batch, synchronous=FULL)."""
from __future__ import annotations

import gzip
import random
import shutil
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

from common import Server, bulk_submissions, prepared_data_dir, run_cli

DEVICE = "bench-laptop"


class Wire:
    """Counts the HTTP bytes the sync client sends and receives (request and
    status lines, headers and bodies; not TCP/IP framing), and the size of the
    JSON it sent before gzip."""

    def __init__(self):
        self.sent = self.received = self.json = self.requests = 0

    def __enter__(self):
        from requests.adapters import HTTPAdapter
        self._original = original = HTTPAdapter.send
        wire = self

        def send(adapter, request, *args, **kwargs):
            response = original(adapter, request, *args, **kwargs)
            body = request.body or b""
            wire.requests += 1
            wire.sent += len(f"{request.method} {request.path_url} HTTP/1.1\r\n") + len(body) + 2 + sum(
                len(k) + len(v) + 4 for k, v in request.headers.items())
            wire.json += len(gzip.decompress(body)) if request.headers.get("Content-Encoding") == "gzip" else len(body)
            wire.received += len(f"HTTP/1.1 {response.status_code} {response.reason}\r\n") + 2 + sum(
                len(k) + len(v) + 4 for k, v in response.headers.items()) + int(
                response.headers.get("Content-Length") or len(response.content))
            return response

        HTTPAdapter.send = send
        return self

    def __exit__(self, *exc):
        from requests.adapters import HTTPAdapter
        HTTPAdapter.send = self._original


def central(work: Path, name: str, port: int | None = None) -> tuple[Server, str]:
    data = prepared_data_dir(work / name)
    token = run_cli("devices", "add", DEVICE, "--data", str(data)).stdout.splitlines()[-1]
    server = Server.fieldkit(data, work / f"{name}.log", port=port)
    server.start()
    return server, token


def link(laptop: Path, server: Server, token: str) -> None:
    run_cli("link", server.base, "--token", token, "--data", str(laptop))


def central_counts(data: Path) -> dict:
    conn = sqlite3.connect(data / "fieldkit.db")
    try:
        total, distinct = conn.execute("SELECT COUNT(*), COUNT(DISTINCT uuid) FROM submissions "
                                       "WHERE device_name = ?", [DEVICE]).fetchone()
        conflicts = conn.execute("SELECT COUNT(*) FROM conflicts").fetchone()[0]
    finally:
        conn.close()
    return {"rows": total, "distinct_uuids": distinct, "conflicts": conflicts}


def laptop_states(data: Path) -> dict:
    conn = sqlite3.connect(data / "fieldkit.db")
    try:
        return {state or "unsynced": n for state, n in
                conn.execute("SELECT sync_state, COUNT(*) FROM submissions GROUP BY sync_state")}
    finally:
        conn.close()


def raw_bulk(work: Path, source: Path, batch: int) -> dict:
    """The same rows into the same (migrated, indexed) schema: raw executemany,
    one transaction per batch as the sync does, then all in one transaction."""
    rows = sqlite3.connect(source / "fieldkit.db").execute(
        "SELECT uuid, form_id, form_version, language, answers, content_hash, started_at, submitted_at, "
        "device_id FROM submissions ORDER BY submitted_at, uuid").fetchall()
    sql = ("INSERT INTO submissions (uuid, form_id, form_version, language, answers, content_hash, started_at, "
           "submitted_at, device_id, device_name, sync_state, synced_at) "
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'raw', 'received', '2025-06-02T00:00:00Z')")
    result = {}
    for name, size in (("batched", batch), ("one_transaction", len(rows))):
        data = prepared_data_dir(work / f"raw-{name}")
        conn = sqlite3.connect(data / "fieldkit.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        began = time.perf_counter()
        for start in range(0, len(rows), size):
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(sql, rows[start:start + size])
            conn.execute("COMMIT")
        result[name] = len(rows) / (time.perf_counter() - began)
        conn.close()
    return result


def sync_once(laptop: Path, **kwargs):
    from fieldkit.sync import runner
    return runner.run(str(laptop / "fieldkit.db"), **kwargs)


def run(quick: bool = False, count: int | None = None, work: Path | None = None) -> dict:
    count = count or (10_000 if quick else 100_000)
    work = Path(tempfile.mkdtemp(prefix="fieldkit-bench-sync-", dir=work))
    results: dict = {"count": count}

    # Setup, not timed: a laptop with `count` submissions, inserted in bulk.
    began = time.perf_counter()
    pristine = prepared_data_dir(work / "laptop-pristine")
    bulk_submissions(pristine, count)
    results["setup_s"] = time.perf_counter() - began

    # A clean push, timed.
    laptop = work / "laptop"
    shutil.copytree(pristine, laptop)
    server, token = central(work, "central")
    try:
        link(laptop, server, token)
        marks: dict[str, float] = {}

        def progress(stage, done, total):
            if stage == "push" and done and "first_ack" not in marks:
                marks["first_ack"] = time.perf_counter()
            if stage == "push" and done >= total:
                marks["push_done"] = time.perf_counter()

        with Wire() as wire:
            began = time.perf_counter()
            outcome = sync_once(laptop, progress=progress, retries=3)
            elapsed = time.perf_counter() - began
    finally:
        server.stop()
    results["clean"] = {
        "ok": outcome.ok, "sent": outcome.sent, "created": outcome.created, "seconds": elapsed,
        "per_s": count / elapsed, "push_s": marks.get("push_done", began) - began,
        "requests": wire.requests, "wire_sent": wire.sent, "wire_received": wire.received, "json_bytes": wire.json,
        "central": central_counts(work / "central"), "laptop": laptop_states(laptop)}

    # The ceiling, on the same disk.
    results["raw_bulk_per_s"] = raw_bulk(work, pristine, batch=200)

    # Killed at about 50%, restarted, resumed.
    laptop = work / "laptop-killed"
    shutil.copytree(pristine, laptop)
    server, token = central(work, "central-killed")
    killed = {}
    try:
        link(laptop, server, token)

        def kill_soon():
            time.sleep(random.uniform(0.0, 0.05))  # lands inside a batch, most likely
            killed["at_acknowledged"] = laptop_states(laptop).get("synced", 0)
            server.kill()

        def progress(stage, done, total):
            if stage == "push" and done >= total // 2 and "thread" not in killed:
                killed["thread"] = threading.Thread(target=kill_soon, daemon=True)
                killed["thread"].start()

        began = time.perf_counter()
        first = sync_once(laptop, progress=progress, retries=1, backoff=0.1)
        killed["thread"].join(timeout=30)
        killed["central_rows_at_kill"] = central_counts(work / "central-killed")["rows"]
        server.start()  # same port, same data: what a restarted service does
        second = sync_once(laptop, retries=3)
        elapsed = time.perf_counter() - began
    finally:
        server.stop()
    killed.pop("thread", None)
    results["killed"] = dict(killed, first_ok=first.ok, first_sent=first.sent, second_ok=second.ok,
                             second_sent=second.sent, second_created=second.created,
                             second_duplicates=second.duplicates, seconds=elapsed,
                             central=central_counts(work / "central-killed"), laptop=laptop_states(laptop))
    k = results["killed"]
    results["exactly_once"] = (k["central"]["rows"] == count and k["central"]["distinct_uuids"] == count
                               and k["central"]["conflicts"] == 0 and k["laptop"].get("synced") == count
                               and second.ok)
    shutil.rmtree(work, ignore_errors=True)
    return results
