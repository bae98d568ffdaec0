"""Central ingest (issue 16): 50 laptops syncing 2,000 submissions each at the same time, into
a central on SQLite (one `fieldkit serve`) and on PostgreSQL (1, 2 and 4 `fieldkit serve`
processes sharing one database); exactly once checked after each run.

The laptops are 50 threads of one client process posting what `fieldkit sync` posts (gzip JSON
batches of 200 to /api/v1/submissions, each laptop's batches one after another, to the process
a load balancer would pick: laptop i to process i mod N), built before the clock starts, so
the client spends its time waiting. Client and servers share this machine's cores.

Ceiling, in the same run: the same rows inserted straight into the same schema on the same
disk, 200 per transaction (batched INSERT), and with PostgreSQL's COPY. PostgreSQL runs with
its durable defaults (fsync on, synchronous_commit on), SQLite with synchronous=FULL.

    python bench/central_ingest.py [--laptops 50] [--each 2000] [--processes 1,2,4]
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import tempfile
import threading
import time
import uuid as uuidlib
from pathlib import Path

import requests

from common import ROOT, Server, demo_answers, machine, prepared_data_dir, run_cli

BATCH = 200


def records(laptops: int, each: int, version: str) -> list[list[dict]]:
    from fieldkit.store.submissions import content_hash
    out = []
    for d in range(laptops):
        rows = []
        for i in range(each):
            answers = demo_answers(d * each + i)
            rows.append({"uuid": str(uuidlib.uuid4()), "form_id": "wellbeing", "form_version": version,
                         "language": ("en", "es", "so", "am")[i % 4], "answers": answers,
                         "started_at": "2026-06-01T10:00:00Z", "submitted_at": f"2026-06-01T10:{i % 60:02d}:00Z",
                         "device_id": f"laptop-{d}", "content_hash": content_hash("wellbeing", version, answers)})
        out.append(rows)
    return out


def bodies(rows: list[dict]) -> list[bytes]:
    return [gzip.compress(json.dumps({"submissions": rows[i:i + BATCH]}, ensure_ascii=False).encode(), 6)
            for i in range(0, len(rows), BATCH)]


def push(base: str, token: str, batches: list[bytes], errors: list, created: list) -> None:
    http = requests.Session()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Content-Encoding": "gzip"}
    for body in batches:
        for attempt in range(5):
            try:
                answer = http.post(base + "/api/v1/submissions", data=body, headers=headers, timeout=120)
                if answer.status_code == 200:
                    results = answer.json()["results"]
                    created.append(sum(r["outcome"] == "created" for r in results))
                    break
                errors.append(answer.status_code)
            except requests.RequestException as error:
                errors.append(type(error).__name__)
            time.sleep(0.5 * (attempt + 1))


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of processes, from /proc (Linux)."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError):
            pass
    return total


def postgres_pids() -> list[int]:
    """Every PostgreSQL server process on the machine (the bench's own cluster is the only one)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def start_postgresql(work: Path) -> str:
    return subprocess.run(["bash", str(ROOT / ".ci" / "postgres"), "start", str(work / "pg"), "durable"],
                          check=True, capture_output=True, text=True).stdout.strip()


def stop_postgresql(work: Path) -> None:
    subprocess.run(["bash", str(ROOT / ".ci" / "postgres"), "stop", str(work / "pg")], check=False)


def new_database(server: str, name: str) -> str:
    import psycopg
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name} TEMPLATE template0 LOCALE 'C.UTF-8'")
    return server.rsplit("/", 1)[0] + "/" + name


def scenario(work: Path, label: str, database: str | None, processes: int, laptops: list[list[dict]],
             prepared: list[list[bytes]]) -> dict:
    from fieldkit import store
    data = prepared_data_dir(work / f"{label}-data") if database is None else work / f"{label}-data"
    options = ["--data", str(data)] + (["--database", database] if database else [])
    if database:
        run_cli("forms", "list", *options)  # migrates and loads nothing: the demo comes with the first serve
    servers = []
    for p in range(processes):
        extra = {"FIELDKIT_DATABASE_URL": database} if database else {}
        servers.append(Server.fieldkit(data, work / f"{label}-{p}.log", **extra))
    for s in servers:
        s.start(120)
    tokens = [run_cli("devices", "add", f"laptop-{d}", *options).stdout.splitlines()[-1] for d in range(len(laptops))]
    errors, created = [], []
    threads = [threading.Thread(target=push, args=(servers[d % processes].base, tokens[d], prepared[d], errors, created))
               for d in range(len(laptops))]
    server_pids = [s.process.pid for s in servers]
    before = (cpu_seconds(server_pids), cpu_seconds(postgres_pids()), sum(os.times()[:2]))
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - began
    # the backends of the measured run end with their connections: count them before the servers stop
    after = (cpu_seconds(server_pids), cpu_seconds(postgres_pids()), sum(os.times()[:2]))
    cpu = {role: after[i] - before[i] for i, role in enumerate(("fieldkit", "postgresql", "client"))}
    # a resend of one laptop's first batch, through another process: all duplicates
    resend = requests.post(servers[-1].base + "/api/v1/submissions", data=prepared[0][0], timeout=120, headers={
        "Authorization": f"Bearer {tokens[0]}", "Content-Type": "application/json", "Content-Encoding": "gzip"})
    duplicates = sum(r["outcome"] == "duplicate" for r in resend.json()["results"])
    for s in servers:
        s.stop()
    db = store.connect(database or store.db.url_for(data))
    try:
        total, distinct = db.execute("SELECT COUNT(*), COUNT(DISTINCT uuid) FROM submissions").fetchone()
    finally:
        db.close()
    expected = sum(len(rows) for rows in laptops)
    return {"label": label, "processes": processes, "seconds": seconds, "rows_per_s": expected / seconds,
            "rows": total, "distinct": distinct, "expected": expected, "created": sum(created),
            "errors": len(errors), "resend_duplicates": duplicates,
            "cpu_ms_per_100_rows": {role: 1e5 * v / expected for role, v in cpu.items()},
            "exactly_once": total == distinct == expected == sum(created) and duplicates == min(BATCH, expected)}


def ceiling_sqlite(work: Path, laptops: list[list[dict]]) -> float:
    from fieldkit import store
    from fieldkit.store.db import url_for
    (work / "raw-sqlite").mkdir()
    db = store.connect(url_for(work / "raw-sqlite"), migrate=True)
    rows = [r for rows in laptops for r in rows]
    began = time.perf_counter()
    for i in range(0, len(rows), BATCH):
        with store.write(db):
            db.executemany(INSERT, [values(r) for r in rows[i:i + BATCH]])
    seconds = time.perf_counter() - began
    db.close()
    return len(rows) / seconds


INSERT = ("INSERT INTO submissions (uuid, form_id, form_version, language, answers, content_hash, started_at, "
          "submitted_at, device_id, device_name, sync_state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'received')")


def values(r: dict) -> tuple:
    return (r["uuid"], r["form_id"], r["form_version"], r["language"],
            json.dumps(r["answers"], ensure_ascii=False, sort_keys=True), r["content_hash"], r["started_at"],
            r["submitted_at"], r["device_id"], r["device_id"])


def ceilings_postgresql(url: str, laptops: list[list[dict]]) -> dict:
    from fieldkit import store
    rows = [r for rows in laptops for r in rows]
    db = store.connect(url, migrate=True)
    began = time.perf_counter()
    for i in range(0, len(rows), BATCH):
        with store.write(db):
            db.executemany(INSERT, [values(r) for r in rows[i:i + BATCH]])
    insert = len(rows) / (time.perf_counter() - began)
    db.execute("TRUNCATE submissions")
    began = time.perf_counter()
    for i in range(0, len(rows), BATCH):
        with db.conn.transaction():
            with db.conn.cursor().copy("COPY submissions (uuid, form_id, form_version, language, answers, "
                                       "content_hash, started_at, submitted_at, device_id, device_name) "
                                       "FROM STDIN") as copy:
                for r in rows[i:i + BATCH]:
                    copy.write_row(values(r))
    copied = len(rows) / (time.perf_counter() - began)
    db.close()
    return {"insert": insert, "copy": copied}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--laptops", type=int, default=50)
    parser.add_argument("--each", type=int, default=2000)
    parser.add_argument("--processes", default="1,2,4")
    args = parser.parse_args()
    counts = [int(p) for p in args.processes.split(",")]
    print(json.dumps(machine(), indent=1))
    version = json.loads((ROOT / "fieldkit" / "demo" / "wellbeing.model.json").read_text(encoding="utf-8"))["version"]
    laptops = records(args.laptops, args.each, version)
    prepared = [bodies(rows) for rows in laptops]
    with tempfile.TemporaryDirectory(prefix="fk-ingest-") as tmp:
        work = Path(tmp)
        os.chmod(work, 0o755)  # the postgres user reaches its folder inside
        server = start_postgresql(work)
        try:
            results = [scenario(work, "sqlite-1", None, 1, laptops, prepared)]
            for n in counts:
                results.append(scenario(work, f"postgresql-{n}", new_database(server, f"ingest{n}"), n, laptops,
                                        prepared))
            raw_sqlite = ceiling_sqlite(work, laptops)
            raw_pg = ceilings_postgresql(new_database(server, "raw"), laptops)
        finally:
            stop_postgresql(work)
    base = results[0]["rows_per_s"]
    print(f"\n{'central':<16} {'seconds':>8} {'rows/s':>8} {'vs SQLite':>9} {'errors':>6}  "
          f"CPU ms per 100 rows (fieldkit / postgresql / client)  exactly once")
    for r in results:
        c = r["cpu_ms_per_100_rows"]
        print(f"{r['label']:<16} {r['seconds']:>8.1f} {r['rows_per_s']:>8.0f} {r['rows_per_s'] / base:>8.2f}x "
              f"{r['errors']:>6}  {c['fieldkit']:.1f} / {c['postgresql']:.1f} / {c['client']:.1f}  "
              f"{r['exactly_once']} ({r['distinct']:,} distinct of {r['expected']:,}; "
              f"resend: {r['resend_duplicates']} duplicates)")
    print(f"ceiling: raw SQLite batched INSERT {raw_sqlite:,.0f} rows/s; raw PostgreSQL batched INSERT "
          f"{raw_pg['insert']:,.0f} rows/s, COPY {raw_pg['copy']:,.0f} rows/s (200 rows per transaction)")
    out = Path(tempfile.gettempdir()) / "central_ingest.json"
    out.write_text(json.dumps({"results": results, "raw_sqlite": raw_sqlite, "raw_postgresql": raw_pg}, indent=1))
    print(f"figures: {out}")


if __name__ == "__main__":
    main()
