"""Does a sync by itself slow participants' pages? (issue 15)

A laptop's real `fieldkit serve` with a backlog of N answers, linked to a central
(another real `fieldkit serve` on loopback). One phone-like client reads the demo's
language page in a loop, and a second posts nothing: the page latency is measured
while the laptop syncs by itself (--sync-every 1), and again on the same laptop with
nothing to sync (after the backlog is gone), so the only difference is the sync.

    python bench/auto_sync_load.py [--answers 20000]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from common import FIELDKIT, bench_env, bulk_submissions, fmt_ms, free_port, percentile, prepared_data_dir, wait_http


def serve(data: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(FIELDKIT + ["serve", "--host", "127.0.0.1", "--port", str(port), "--data", str(data),
                                           "--no-qr", *extra], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                               env=bench_env())
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/f/wellbeing", process)
    return process, url


def latencies(url: str, seconds: float, until=None) -> list[float]:
    found, session, ends = [], requests.Session(), time.monotonic() + seconds
    while time.monotonic() < ends and not (until and until()):
        began = time.perf_counter()
        session.get(url + "/f/wellbeing", timeout=10).raise_for_status()
        found.append(time.perf_counter() - began)
    return found


def unsynced(data: Path) -> int:
    import sqlite3
    db = sqlite3.connect(data / "fieldkit.db")
    try:
        return db.execute("SELECT COUNT(*) FROM submissions WHERE sync_state IS NULL").fetchone()[0]
    finally:
        db.close()


def summary(name: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (f"| {name} | {len(ms)} | {fmt_ms(percentile(ms, 50))} | {fmt_ms(percentile(ms, 95))} | "
            f"{fmt_ms(percentile(ms, 99))} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--answers", type=int, default=20_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fieldkit-bench-autosync-"))
    central_data, laptop_data = prepared_data_dir(work / "central"), prepared_data_dir(work / "laptop")
    bulk_submissions(laptop_data, args.answers)
    token = subprocess.run(FIELDKIT + ["devices", "add", "bench", "--data", str(central_data)], capture_output=True,
                           text=True, env=bench_env(), check=True).stdout.splitlines()[-1]
    central, central_url = serve(central_data, "--sync-every", "0")
    subprocess.run(FIELDKIT + ["link", central_url, "--token", token, "--data", str(laptop_data)], check=True,
                   capture_output=True, env=bench_env())
    laptop, laptop_url = serve(laptop_data, "--sync-every", "1")
    try:
        began = time.monotonic()
        during = latencies(laptop_url, 600, until=lambda: unsynced(laptop_data) == 0)
        took = time.monotonic() - began
        time.sleep(2)
        after = latencies(laptop_url, max(10.0, min(took, 60.0)))
    finally:
        for process in (laptop, central):
            process.terminate()
            process.wait(timeout=20)
    print(f"{args.answers} answers synced by itself in {took:.1f} s (including the first try's wait)")
    print("| page reads | requests | p50 | p95 | p99 |\n|---|---:|---:|---:|---:|")
    print(summary("while syncing by itself", during))
    print(summary("after, nothing to sync", after))


if __name__ == "__main__":
    sys.exit(main())
