"""5. Start-up: from launching `fieldkit serve` to the first successful page
(/f/wellbeing answered 200), several runs, median. From a data directory that
already has its database and demo form (the common case) and from an empty one."""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from common import Server, median, prepared_data_dir


def once(data: Path, log: Path) -> float:
    server = Server.fieldkit(data, log)
    try:
        return server.start(seconds=60)
    finally:
        server.stop()


def run(quick: bool = False, runs: int | None = None, work: Path | None = None) -> dict:
    runs = runs or (3 if quick else 7)
    work = Path(tempfile.mkdtemp(prefix="fieldkit-bench-startup-", dir=work))
    existing = prepared_data_dir(work / "existing")
    once(existing, work / "warm.log")  # the first start of a checkout also compiles .pyc files: not measured
    results = {"runs": runs, "existing": [], "empty": []}
    for i in range(runs):
        results["existing"].append(once(existing, work / "existing.log"))
        empty = work / f"empty-{i}"
        results["empty"].append(once(empty, work / "empty.log"))
        shutil.rmtree(empty, ignore_errors=True)
        time.sleep(0.2)
    results["existing_median"] = median(results["existing"])
    results["empty_median"] = median(results["empty"])
    shutil.rmtree(work, ignore_errors=True)
    return results
