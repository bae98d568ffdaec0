"""4. Export at scale: `fieldkit export` of 10,000 and 100,000 submissions to
CSV and XLSX, each in its own process; its time and its peak memory (max RSS,
read with os.wait4 for exactly that process). Memory must stay flat: the peak
at 100,000 at most 1.5 times the peak at 10,000.

The export is started from a tiny launcher process, not from this one: Linux
counts a child's peak from the memory of the process that forked it, so a
child of this benchmark (which holds 100,000 rows) would show this process's
peak, not its own."""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from common import FIELDKIT, ROOT, bench_env, bulk_submissions, prepared_data_dir


LAUNCHER = ("import os, subprocess, sys, time\n"
            "began = time.perf_counter()\n"
            "child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
            "_pid, status, usage = os.wait4(child.pid, 0)  # this child's own rusage\n"
            "print(usage.ru_maxrss, time.perf_counter() - began)\n"
            "sys.exit(os.waitstatus_to_exitcode(status))\n")


def measured(command: list[str]) -> tuple[float, float]:
    """(seconds, max RSS in MiB) of one process."""
    result = subprocess.run([sys.executable, "-c", LAUNCHER] + command, capture_output=True, text=True,
                            env=bench_env(), cwd=ROOT, timeout=900)
    if result.returncode != 0:
        raise RuntimeError(f"{command[2:4]} failed: {result.stderr[-2000:]}")
    kib, seconds = result.stdout.split()
    return float(seconds), int(kib) / 1024


def export_once(data: Path, fmt: str, out: Path) -> dict:
    seconds, rss = measured(FIELDKIT + ["export", "wellbeing", "--format", fmt, "--out", str(out), "--data", str(data)])
    return {"seconds": seconds, "max_rss_mib": rss, "bytes": out.stat().st_size}


def baseline_rss() -> float:
    """What the fieldkit command takes in memory before exporting anything (its imports)."""
    return measured(FIELDKIT + ["export", "--help"])[1]


def run(quick: bool = False, work: Path | None = None) -> dict:
    work = Path(tempfile.mkdtemp(prefix="fieldkit-bench-export-", dir=work))
    sizes = (1_000, 10_000) if quick else (10_000, 100_000)
    results: dict = {"sizes": sizes, "idle_rss_mib": baseline_rss()}
    for n in sizes:
        data = prepared_data_dir(work / f"data-{n}")
        bulk_submissions(data, n)
        for fmt in ("csv", "xlsx", "sav", "dta"):  # sav, dta: written from a whole table (not flat)
            results[f"{fmt}_{n}"] = export_once(data, fmt, work / f"out-{n}.{fmt}")
    small, large = sizes
    for fmt in ("csv", "xlsx"):
        results[f"{fmt}_growth"] = results[f"{fmt}_{large}"]["max_rss_mib"] / results[f"{fmt}_{small}"]["max_rss_mib"]
    shutil.rmtree(work, ignore_errors=True)
    return results
