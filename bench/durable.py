"""2. Durable submissions: commits per second through fieldkit's own store
(store.submissions.add_submission: synchronous=FULL, one transaction each)
against raw SQLite single-row commits of ~1 KB with the same pragmas, in the
same run, on the same disk."""
from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
import time
import uuid as uuidlib
from pathlib import Path

from common import demo_answers

PAYLOAD = 1024


def answers_of_1kb(i: int) -> dict:
    """Demo answers padded to about 1 KB of JSON, like a 20-question form."""
    answers = demo_answers(i)
    answers["comments"] = (answers["comments"] + " " + "x" * PAYLOAD)[:PAYLOAD - 300]
    return answers


def commits_for(seconds: float, items, commit) -> tuple[int, float]:
    """commit(item) for each item, one transaction each, until the items or the seconds run out."""
    began = time.perf_counter()
    deadline = began + seconds
    done = 0
    for item in items:
        commit(item)
        done += 1
        if time.perf_counter() > deadline:
            break
    return done, time.perf_counter() - began


def raw_commits(path: Path, count: int, seconds: float) -> tuple[int, float]:
    """The ceiling: one ~1 KB row per transaction, WAL, synchronous=FULL, nothing else."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (uuid TEXT PRIMARY KEY, body TEXT NOT NULL)")
    bodies = [json.dumps(answers_of_1kb(i), ensure_ascii=False) for i in range(count)]

    def commit(body):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (uuid, body) VALUES (?, ?)", [str(uuidlib.uuid4()), body])
        conn.execute("COMMIT")
    done, elapsed = commits_for(seconds, bodies, commit)
    conn.close()
    return done, elapsed


def fieldkit_commits(path: Path, count: int, seconds: float) -> tuple[int, float]:
    """The same rows through fieldkit's store: content hash, duplicate check, insert, draft delete."""
    from fieldkit import store
    db = store.connect(path, migrate=True)
    records = [{"uuid": str(uuidlib.uuid4()), "form_id": "wellbeing", "form_version": "1", "language": "es",
                "answers": answers_of_1kb(i), "started_at": "2025-06-01T10:00:00Z",
                "submitted_at": "2025-06-01T10:04:00Z", "device_id": "bench", "event_id": None}
               for i in range(count)]
    def commit(record):
        assert store.submissions.add_submission(db, record, draft_token="bench-token") == "created"
    done, elapsed = commits_for(seconds, records, commit)
    db.close()
    return done, elapsed


def draft_commits(path: Path, count: int, seconds: float, durable: bool) -> tuple[int, float]:
    """A participant's screen saved to its draft (store.drafts.save_draft, sealed answers), as
    fieldkit does it (relaxed: synchronous=NORMAL, the WAL fsynced within RELAXED_SECONDS by
    a thread), or inside a durable transaction, committed with synchronous=FULL each (the
    draft write before issue 18)."""
    from fieldkit import store
    from fieldkit.store import drafts
    db = store.connect(path, migrate=True)
    tokens = [drafts.new_draft(db, "wellbeing", "1", "es", {}, 0)[0] for _ in range(50)]
    screens = [(tokens[i % 50], answers_of_1kb(i), i % 7) for i in range(count)]

    def commit(screen):
        token, answers, position = screen
        if durable:
            with store.write(db):  # the draft's own write is then a savepoint of this FULL commit
                drafts.save_draft(db, token, answers, position, "es")
        else:
            drafts.save_draft(db, token, answers, position, "es")
    done, elapsed = commits_for(seconds, screens, commit)
    db.close()
    return done, elapsed


def run(quick: bool = False, work: Path | None = None) -> dict:
    work = Path(tempfile.mkdtemp(prefix="fieldkit-bench-durable-", dir=work))
    count, seconds = (1000, 3.0) if quick else (5000, 8.0)
    results = {}
    # Alternate, twice each, so that a noisy moment of the disk does not favour one side.
    for round_ in (1, 2):
        done, elapsed = raw_commits(work / f"raw{round_}.db", count, seconds)
        results.setdefault("raw", []).append(done / elapsed)
        done, elapsed = fieldkit_commits(work / f"fieldkit{round_}.db", count, seconds)
        results.setdefault("fieldkit", []).append(done / elapsed)
        for durable, key in ((True, "draft_full"), (False, "draft_relaxed")):
            done, elapsed = draft_commits(work / f"{key}{round_}.db", count, seconds, durable)
            results.setdefault(key, []).append(done / elapsed)
    results["raw_per_s"] = max(results["raw"])
    results["fieldkit_per_s"] = max(results["fieldkit"])
    results["draft_full_per_s"] = max(results["draft_full"])
    results["draft_relaxed_per_s"] = max(results["draft_relaxed"])
    results["row_bytes"] = len(json.dumps(answers_of_1kb(0), ensure_ascii=False).encode())
    shutil.rmtree(work, ignore_errors=True)
    return results
