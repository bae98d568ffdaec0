"""Results and exports on a central's PostgreSQL with 100,000 and 1,000,000 answers (issue 16).

- Results page: the console's Results page for the demo form, signed in, through the app
  (Flask's test client: the page's whole server-side work, without a network), and the
  counting it does alone (services/results.results: one GROUP BY over the answers in SQL).
  Target: under 2 s at 1,000,000.
- CSV export: `fieldkit export wellbeing --format csv --out FILE --database URL` as its own
  process; its peak memory (VmHWM, as it ends). Target: the peak at 1,000,000 at most 1.5x the peak
  at 100,000 (rows streamed from a server-side cursor, never all in memory).

Setup (not timed): the rows are loaded with COPY. PostgreSQL with its durable defaults, on
this machine's disk, in a throwaway cluster (.ci/postgres).

    python bench/central_results.py [--sizes 100000,1000000]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid as uuidlib
from pathlib import Path

from common import ROOT, bench_env, demo_answers, machine

PASSWORD = "a-long-bench-password"


def load(url: str, count: int, version: str) -> None:
    """count answers to the demo, in COPY batches, with the content hashes the app writes."""
    from fieldkit import store
    from fieldkit.store.submissions import content_hash
    db = store.connect(url)
    try:
        with db.conn.cursor().copy("COPY submissions (uuid, form_id, form_version, language, answers, content_hash, "
                                   "started_at, submitted_at, device_id, device_name, sync_state) FROM STDIN") as copy:
            for i in range(count):
                answers = demo_answers(i)
                copy.write_row((str(uuidlib.uuid4()), "wellbeing", version, ("en", "es", "so", "am")[i % 4],
                                json.dumps(answers, ensure_ascii=False, sort_keys=True),
                                content_hash("wellbeing", version, answers), "2026-06-01T10:00:00Z",
                                f"2026-06-{i % 28 + 1:02d}T10:{i % 60:02d}:00Z", f"laptop-{i % 50}",
                                f"laptop-{i % 50}", "received"))
        db.execute("ANALYZE submissions")
    finally:
        db.close()


def results_page(data: Path, url: str) -> dict:
    from fieldkit import store
    from fieldkit.services import results as results_service
    from fieldkit.web.app import create_app
    app = create_app({"DATA_DIR": data, "DATABASE_URL": url, "FONTS_IN_BACKGROUND": False,
                      "RATELIMIT_ENABLED": False})
    db = store.connect(url)
    try:
        if store.users.get_user(db, "bench") is None:
            store.users.add_user(db, "bench", PASSWORD, "coordinator")
        form = store.forms.current_form(db, "wellbeing")
        counts = []
        for _ in range(3):
            began = time.perf_counter()
            summary = results_service.results(db, form)
            counts.append(time.perf_counter() - began)
    finally:
        db.close()
    client = app.test_client()
    login = client.get("/console/login").get_data(as_text=True)
    csrf = login.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    client.post("/console/login", data={"username": "bench", "password": PASSWORD, "csrf_token": csrf})
    pages = []
    for _ in range(3):
        began = time.perf_counter()
        response = client.get("/console/forms/wellbeing/results")
        pages.append(time.perf_counter() - began)
        assert response.status_code == 200, response.status_code
    return {"count_s": min(counts), "page_s": min(pages), "total": summary.total}


# The export runs as `fieldkit export` in a process of its own, which reports its own peak (VmHWM of
# its memory map, read as it ends). Not ru_maxrss: Linux carries a forked child's high-water mark
# across exec, so a child of this process (which generated the rows) would report this one's peak.
MEASURED = ("import atexit, re, runpy, sys; "
            "atexit.register(lambda: sys.stderr.write('VmHWM ' + re.search(r'VmHWM:\\s+(\\d+)', "
            "open('/proc/self/status').read()).group(1) + '\\n')); "
            "sys.argv = ['fieldkit'] + sys.argv[1:]; runpy.run_module('fieldkit', run_name='__main__')")


def export_csv(data: Path, url: str, out: Path) -> dict:
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", MEASURED, "export", "wellbeing", "--format", "csv", "--out", str(out),
                           "--data", str(data), "--database", url], env=bench_env(), cwd=ROOT,
                          capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - began
    peak_kib = int(done.stderr.rsplit("VmHWM ", 1)[1].split()[0])
    with out.open("rb") as f:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    return {"export_s": seconds, "peak_mib": peak_kib / 1024, "lines": lines, "bytes": out.stat().st_size}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000,1000000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(json.dumps(machine(), indent=1))
    version = json.loads((ROOT / "fieldkit" / "demo" / "wellbeing.model.json").read_text(encoding="utf-8"))["version"]
    rows = []
    with tempfile.TemporaryDirectory(prefix="fk-results-") as tmp:
        work = Path(tmp)
        os.chmod(work, 0o755)  # the postgres user reaches its folder inside
        server = subprocess.run(["bash", str(ROOT / ".ci" / "postgres"), "start", str(work / "pg"), "durable"],
                                check=True, capture_output=True, text=True).stdout.strip()
        try:
            import psycopg
            for n in sizes:
                with psycopg.connect(server, autocommit=True) as conn:
                    conn.execute(f"CREATE DATABASE r{n} TEMPLATE template0 LOCALE 'C.UTF-8'")
                url = server.rsplit("/", 1)[0] + f"/r{n}"
                data = work / f"data-{n}"
                from fieldkit.web.app import create_app
                create_app({"DATA_DIR": data, "DATABASE_URL": url, "FONTS_IN_BACKGROUND": False})  # migrate, demo
                began = time.perf_counter()
                load(url, n, version)
                loaded = time.perf_counter() - began
                row = {"answers": n, "load_s": loaded, **results_page(data, url),
                       **export_csv(data, url, work / f"export-{n}.csv")}
                rows.append(row)
                (work / f"export-{n}.csv").unlink()
                print(json.dumps(row))
        finally:
            subprocess.run(["bash", str(ROOT / ".ci" / "postgres"), "stop", str(work / "pg")], check=False)
    print(f"\n{'answers':>10} {'count (SQL)':>12} {'results page':>13} {'CSV export':>11} {'export peak':>12} rows")
    for r in rows:
        print(f"{r['answers']:>10,} {r['count_s']:>11.2f}s {r['page_s']:>12.2f}s {r['export_s']:>10.1f}s "
              f"{r['peak_mib']:>9.0f} MiB {r['lines'] - 1:,}")
    if len(rows) > 1:
        print(f"export peak at {rows[-1]['answers']:,} / at {rows[0]['answers']:,}: "
              f"{rows[-1]['peak_mib'] / rows[0]['peak_mib']:.2f}x (target <= 1.5x); results page at "
              f"{rows[-1]['answers']:,}: {rows[-1]['page_s']:.2f} s (target < 2 s)")


if __name__ == "__main__":
    main()
