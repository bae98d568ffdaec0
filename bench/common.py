"""What every benchmark shares: the machine's description, free loopback ports,
real `fieldkit serve` processes, wrk, percentiles, and bulk-inserted data.

Benchmarks only ever talk to 127.0.0.1, and every loop here is bounded in
count and in time."""
from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
import uuid as uuidlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the checkout's fieldkit, installed or not

FIELDKIT = [sys.executable, "-m", "fieldkit"]
HOST = "127.0.0.1"  # loopback only, always
THREADS = 8  # `fieldkit serve`'s default --threads; the hello-world ceiling uses the same


# --- the machine -------------------------------------------------------------------------

def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor()
    free = subprocess.run(["free", "-h"], capture_output=True, text=True).stdout.rstrip() if shutil.which("free") else ""
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.splitlines()[0] \
        if shutil.which("wrk") else "not installed"
    return {"nproc": os.cpu_count(), "cpu": cpu, "free": free, "python": sys.version.split()[0],
            "platform": platform.platform(), "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "wrk": wrk.strip(), "sqlite": sqlite3.sqlite_version, "loadavg": os.getloadavg()}


# --- ports and servers -------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def get(url: str, timeout: float = 2.0) -> int:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        response.read()
        return response.status


def wait_http(url: str, process: subprocess.Popen, seconds: float = 30.0, interval: float = 0.005) -> float:
    """Poll until url answers 200; returns the moment (perf_counter) it did."""
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            if get(url, timeout=1.0) == 200:
                return time.perf_counter()
        except OSError:
            time.sleep(interval)
    raise RuntimeError(f"{url} did not answer within {seconds} s")


def bench_env(**extra) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


class Server:
    """A real process on a loopback port: `fieldkit serve`, or bench/hello_app.py."""

    def __init__(self, command: list[str], port: int, log: Path, ready_path: str, env: dict | None = None):
        self.command, self.port, self.log, self.ready_path = command, port, log, ready_path
        self.env = env or bench_env()
        self.base = f"http://{HOST}:{port}"
        self.process: subprocess.Popen | None = None

    @classmethod
    def fieldkit(cls, data: Path, log: Path, port: int | None = None, threads: int = THREADS, **env):
        port = port or free_port()
        command = FIELDKIT + ["serve", "--host", HOST, "--port", str(port), "--data", str(data), "--no-qr",
                              "--threads", str(threads)]
        # One client address plays every participant: the per-client limits would throttle it.
        # every simulated phone comes from 127.0.0.1: per-address limits would make the crowd one client
        return cls(command, port, log, "/f/wellbeing", bench_env(FIELDKIT_RATELIMIT_ENABLED="false",
                                                                 FIELDKIT_MAX_CONNECTIONS_PER_CLIENT="100000", **env))

    @classmethod
    def hello(cls, log: Path, threads: int = THREADS):
        port = free_port()
        command = [sys.executable, str(Path(__file__).with_name("hello_app.py")), "--port", str(port),
                   "--threads", str(threads)]
        return cls(command, port, log, "/")

    def start(self, seconds: float = 60.0) -> float:
        """Start and wait until it answers; returns the seconds that took."""
        began = time.perf_counter()
        with self.log.open("a") as log:
            self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                            cwd=ROOT)
        return wait_http(self.base + self.ready_path, self.process, seconds) - began

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


def run_cli(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(FIELDKIT + list(args), capture_output=True, text=True, env=bench_env(), cwd=ROOT,
                            timeout=600, **kwargs)
    if check and result.returncode != 0:
        raise RuntimeError(f"fieldkit {' '.join(args)} failed: {result.stderr[-2000:]}")
    return result


# --- wrk ---------------------------------------------------------------------------------

def wrk(url: str, connections: int = 50, seconds: int = 10, threads: int = 1, headers: dict | None = None,
        script: Path | None = None) -> dict:
    """Run Debian's wrk against a loopback url; requests/s, latency percentiles (ms), errors.

    One wrk thread: on 2 cores every cycle the load generator takes is a cycle
    the server does not get."""
    if not url.startswith(f"http://{HOST}:"):
        raise ValueError("loopback only")
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if script is not None:
        command += ["-s", str(script)]
    out = subprocess.run(command + [url], capture_output=True, text=True, timeout=seconds + 60).stdout
    return parse_wrk(out)


def parse_wrk(out: str) -> dict:
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "raw": out}
    for pct in ("50", "75", "90", "99"):
        found = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if found:
            value, unit = float(found.group(1)), found.group(2)
            result[f"p{pct}"] = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    total = re.search(r"(\d+) requests in", out)
    result["requests"] = int(total.group(1)) if total else 0
    errors = 0
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if socket_errors:
        errors += sum(int(x) for x in socket_errors.groups())
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        errors += int(non2xx.group(1))
    result["errors"] = errors
    return result


# --- numbers -----------------------------------------------------------------------------

def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * pct / 100
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def median(values: list[float]) -> float:
    return percentile(values, 50)


def ratio(value: float, ceiling: float) -> str:
    return f"{100 * value / ceiling:.0f}%" if ceiling else "n/a"


def mib(kib: int) -> float:
    return kib / 1024


# --- data: a fieldkit database with many submissions, quickly -------------------------------

def demo_answers(i: int) -> dict:
    """Answers as the demo form stores them (select_multiple space-separated)."""
    ages = ("age_16_24", "age_25_34", "age_35_49", "age_50_plus", "prefer_not")
    feelings = ("very_good", "good", "okay", "bad", "very_bad")
    worries = ("money", "housing", "work health", "family", "none")
    return {"age_band": ages[i % 5], "household_size": str(i % 9 + 1), "wellbeing_rating": feelings[i % 5],
            "worries": worries[i % 5], "worry_count": str(len(worries[i % 5].split())),
            "has_support": "yes" if i % 3 else "no", "support_who": "friend family" if i % 3 else "",
            "last_gathering": f"2025-{i % 12 + 1:02d}-{i % 28 + 1:02d}",
            "comments": f"Más reuniones, por favor · ሰላም · participant {i}" if i % 4 == 0 else ""}


def prepared_data_dir(path: Path) -> Path:
    """A data directory with its database migrated and the demo form loaded
    (what a first `fieldkit serve` leaves behind once its background font
    build is done). The fonts are built here, before returning: left to a
    background thread they were being built during the first load runs, by this
    process and by the server's first Amharic page, and took a fifth of the
    server's CPU in the measured window. So are the general subsets (the console's and every
    neutral page's letters), which a first serve builds in the background: 2.2 s of CPU that
    every measured serve on a new directory spent in its first seconds, on the core the server
    was pinned to (the "slower first 10 s" of bench/RESULTS.md, issue 18)."""
    from fieldkit import create_app, store
    from fieldkit.services import fonts
    app = create_app({"DATA_DIR": path, "FONTS_IN_BACKGROUND": False})
    db = store.connect(app.config["DATABASE"])
    try:
        fonts.prepare_general(db)
    finally:
        db.close()
    return path


def bulk_submissions(path: Path, count: int, device_id: str = "bench-laptop", chunk: int = 10_000) -> None:
    """Insert count submissions of the demo form straight into the database
    (setup only, never timed): the same columns and content hashes the
    participant flow writes, with one transaction per chunk."""
    from fieldkit.store.submissions import content_hash
    db = sqlite3.connect(path / "fieldkit.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")  # setup only: not what is being measured
    version = db.execute("SELECT version FROM forms WHERE form_id = 'wellbeing' ORDER BY id DESC LIMIT 1").fetchone()[0]
    start = dt.datetime(2025, 6, 1, 9, 0, 0)
    rows = []
    for i in range(count):
        answers = demo_answers(i)
        moment = start + dt.timedelta(seconds=i * 7)  # one submission every 7 s, over about 8 days per 100,000
        rows.append((str(uuidlib.UUID(int=uuidlib.uuid4().int)), "wellbeing", version, ("en", "es", "so", "am")[i % 4],
                     json.dumps(answers, ensure_ascii=False, sort_keys=True),
                     content_hash("wellbeing", version, answers),
                     (moment - dt.timedelta(minutes=4)).isoformat() + "Z", moment.isoformat() + "Z", device_id))
        if len(rows) == chunk or i == count - 1:
            db.execute("BEGIN")
            db.executemany("INSERT INTO submissions (uuid, form_id, form_version, language, answers, content_hash, "
                           "started_at, submitted_at, device_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            db.execute("COMMIT")
            rows = []
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def fmt_ms(value: float) -> str:
    return f"{value:.1f} ms" if value == value else "n/a"
