"""The event model (issue 18): phones arriving at random over a minute, each reading a screen
for 5-15 s before tapping on, walking the demo from its language page to Submit, against a
real server pinned to one core (and a run on both cores), beside the same model driven
against Flask's hello world on the same server in the same run.

For each server (waitress as `fieldkit serve` runs it, granian with N workers) and core count,
crowds grow until one misses the mark: p99 of every request <= 250 ms, every phone's first page
(the language page and its assets, from the phone's arrival) under 2 s, and no errors. The
report gives per step p50/p95/p99, the slowest first page, errors, the server's CPU per request
(every process of it), and the largest crowd that kept the mark. A surge follows: 500 phones
opening the form in the same second, fieldkit and hello world on the same server.

The client is one asyncio loop (bench/phone.py). In the one-core runs the server is pinned to
core 0 and the client to core 1 (taskset / sched_setaffinity), so the client never takes the
server's core; in the two-core runs they share both, and the client's CPU is reported.

    python bench/event_model.py [--servers waitress,granian] [--cores 1,2] [--crowds 500,1000,...]
                                [--arrival 60] [--think 10] [--surge 500] [--json out.json]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from common import HOST, THREADS, Server, bench_env, free_port, machine, percentile, prepared_data_dir, wrk
from event_load import ASSET, FORM, bounded, cpu_seconds, crowd, own_cpu, screen_cookie
from phone import HTTPError, Phone, Recorder, timed

P99_MARK_MS = 250
FIRST_PAGE_MARK_S = 2.0


# --- servers -----------------------------------------------------------------------------

def pinned(command: list[str], cores: int) -> list[str]:
    """The server on core 0 alone, or on both cores."""
    return ["taskset", "-c", "0" if cores == 1 else "0,1"] + command


def granian_command(target: str, port: int, workers: int, threads: int, factory: bool = False) -> list[str]:
    return [sys.executable, "-m", "granian", "--interface", "wsgi", "--host", HOST, "--port", str(port),
            "--workers", str(workers), "--blocking-threads", str(threads), "--no-ws", "--http", "1",
            "--log-level", "warning", "--backlog", "2048",  # backpressure as serve sets it (web/server.run_granian)
            "--backpressure", str(10_000 // workers)] + (["--factory"] if factory else []) + [target]


WAITRESS = {"IDLE_SECONDS": "60", "MAX_CONNECTIONS": "1000"}  # serve's settings; --idle, --max-connections


def fieldkit_server(kind: str, workers: int, cores: int, data: Path, log: Path) -> Server:
    if kind == "waitress":
        server = Server.fieldkit(data, log, **{f"FIELDKIT_{k}": v for k, v in WAITRESS.items()})
        server.command = pinned(server.command + ["--server", "waitress", "--workers", str(workers)], cores)
        return server
    if kind == "serve-granian":  # `fieldkit serve --server granian`: RSGI, bodies read before a thread
        server = Server.fieldkit(data, log)
        server.command = pinned(server.command + ["--server", "granian", "--workers", str(workers)], cores)
        return server
    port = free_port()
    env = bench_env(FIELDKIT_DATA_DIR=str(data), FIELDKIT_DB_POOL=str(THREADS), FIELDKIT_RATELIMIT_ENABLED="false")
    if kind == "granian-rsgi":  # the same through granian's CLI
        command = granian_command("fieldkit.web.rsgi:from_environment", port, workers, 1, factory=True)
        command[command.index("wsgi")] = "rsgi"
    else:  # granian's WSGI interface: its threads wait on bodies (issue #728)
        command = granian_command("fieldkit.web.app:create_app", port, workers, THREADS, factory=True)
    return Server(pinned(command, cores), port, log, FORM, env)


def hello_server(kind: str, workers: int, cores: int, log: Path) -> Server:
    if kind in ("granian-rsgi", "serve-granian"):
        kind = "granian"  # the ceiling: hello world on granian (WSGI: hello world reads no body)
    if kind == "waitress":  # one process: hello_app.py has no workers (the ceiling of one waitress)
        server = Server.hello(log)
        server.command = pinned(server.command + ["--connection-limit", WAITRESS["MAX_CONNECTIONS"],
                                                  "--idle", WAITRESS["IDLE_SECONDS"]], cores)
        return server
    port = free_port()
    command = granian_command("hello_app:app", port, workers, THREADS)
    env = bench_env()
    env["PYTHONPATH"] = str(Path(__file__).parent) + os.pathsep + env["PYTHONPATH"]
    return Server(pinned(command, cores), port, log, "/", env)


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and every live descendant (granian's workers), and of its
    children already reaped."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    family, grew = {pid}, True
    while grew:
        more = {p for p, parent in parents.items() if parent in family} - family
        family |= more
        grew = bool(more)
    total = 0.0
    for member in family:
        try:
            total += cpu_seconds(member)
        except (OSError, ValueError, IndexError):
            continue
    return total


# --- the hello-world walk: the same arrivals, pauses and number of requests ---------------

async def hello_participant(i: int, port: int, rec: Recorder, think: float, arrival: float, assets: int,
                            first_page_only: bool) -> None:
    phone = Phone(HOST, port, "en")
    rng = random.Random(i)
    try:
        await asyncio.sleep(rng.uniform(0, arrival) if arrival else 0)
        arrived = time.perf_counter()
        for _ in range(1 + assets):
            await timed(phone, rec, "first page", "GET", "/")
        rec.first_pages.append(time.perf_counter() - arrived)
        if not first_page_only:
            for _tap in range(8):  # the demo's taps: language, consent, five screens, submit
                await asyncio.sleep(rng.uniform(0.5, 1.5) * think if think else 0)
                await timed(phone, rec, "tap", "POST", "/q", {"a": "b"})
                await timed(phone, rec, "next page", "GET", "/q")
        rec.completed += 1
    except (HTTPError, OSError, asyncio.TimeoutError, asyncio.IncompleteReadError) as error:
        rec.errors.append(f"{type(error).__name__}: {error}"[:200])
    finally:
        await phone.close()


async def hello_crowd(port: int, n: int, think: float, arrival: float, assets: int, seconds: float,
                      first_page_only: bool = False) -> tuple[Recorder, float]:
    rec = Recorder()
    began = time.perf_counter()
    await bounded((hello_participant(i, port, rec, think, arrival, assets, first_page_only) for i in range(n)),
                  rec, seconds)
    return rec, time.perf_counter() - began


# --- one run -------------------------------------------------------------------------------

def summary(rec: Recorder, wall: float, n: int, cpu_server: float, cpu_client: float) -> dict:
    every = rec.all()
    steps = {step: {"n": len(v), "p50": percentile(v, 50) * 1000, "p95": percentile(v, 95) * 1000,
                    "p99": percentile(v, 99) * 1000, "max": max(v) * 1000} for step, v in rec.latencies.items()}
    first = rec.first_pages
    result = {"phones": n, "completed": rec.completed, "errors": len(rec.errors),
              "error_samples": sorted(set(rec.errors))[:5], "wall_s": round(wall, 1), "requests": rec.requests,
              "p50": percentile(every, 50) * 1000, "p95": percentile(every, 95) * 1000,
              "p99": percentile(every, 99) * 1000, "max": max(every) * 1000 if every else float("nan"),
              "first_page_p50_s": percentile(first, 50), "first_page_p99_s": percentile(first, 99), "first_page_max_s": max(first) if first else float("nan"),
              "server_cpu_s": round(cpu_server, 2), "client_cpu_s": round(cpu_client, 2),
              "cpu_ms_per_request": 1000 * cpu_server / rec.requests if rec.requests else float("nan"),
              "steps": steps}
    result["kept_mark"] = (result["errors"] == 0 and result["p99"] <= P99_MARK_MS
                           and result["first_page_max_s"] < FIRST_PAGE_MARK_S and rec.completed == n)
    return result


def measured(server: Server, go) -> dict:
    with server:
        before_server, before_client = tree_cpu(server.process.pid), own_cpu()
        rec, wall, n = go(server.port)
        return summary(rec, wall, n, tree_cpu(server.process.pid) - before_server, own_cpu() - before_client)


def asset_count(port: int) -> int:
    async def go():
        phone = Phone(HOST, port, "en")
        try:
            return len(ASSET.findall((await phone.request("GET", FORM)).text))
        finally:
            await phone.close()
    return asyncio.run(go())


def screen_against_hello(out: dict, kind: str, workers: int, cores: int, data: Path, work: Path) -> None:
    """The form screen against hello world with wrk, one route each, same server, same cores."""
    if not shutil.which("wrk"):
        return
    with fieldkit_server(kind, workers, cores, data, work / "wrk.log") as server:
        cookie, _csrf = screen_cookie(server.port)
        out["screen_wrk"] = wrk(server.base + FORM + "/q", connections=50, seconds=10,
                                headers={"Accept-Encoding": "gzip", "Cookie": cookie})
    with hello_server(kind, workers, cores, work / "hello-wrk.log") as server:
        out["hello_wrk"] = wrk(server.base + "/", connections=50, seconds=10)


def configuration(kind: str, workers: int, cores: int, crowds: list[int], args, work: Path) -> dict:
    name = f"{kind}" + (f" (idle {WAITRESS['IDLE_SECONDS']} s, {WAITRESS['MAX_CONNECTIONS']} connections)"
                        if kind == "waitress" else "") + \
        f", {workers} worker{'s' if workers > 1 else ''}, {cores} core{'s' if cores > 1 else ''}"
    out: dict = {"name": name, "server": kind, "workers": workers, "cores": cores, "runs": []}
    limit = 60 + args.arrival + 20 * args.think * 1.5
    data = prepared_data_dir(work / f"data-{kind}-{workers}-{cores}")
    if args.wrk_only:
        out["largest_kept"] = 0
        screen_against_hello(out, kind, workers, cores, data, work)
        return out
    with fieldkit_server(kind, workers, cores, data, work / "probe.log") as probe:
        assets = asset_count(probe.port)
    for n in ([] if args.hello_only else crowds):
        print(f"  {name}: {n} phones ...", flush=True)
        server = fieldkit_server(kind, workers, cores, data, work / f"fk-{kind}-{workers}-{cores}-{n}.log")

        def walk(port, n=n):
            rec, wall = asyncio.run(crowd(port, n, args.think, limit, arrival=args.arrival))
            return rec, wall, n
        run = measured(server, walk)
        out["runs"].append(run)
        print(f"    p99 {run['p99']:.0f} ms, first page max {run['first_page_max_s']:.2f} s, "
              f"errors {run['errors']}, {run['cpu_ms_per_request']:.2f} ms CPU/request", flush=True)
        if not run["kept_mark"]:
            break
    kept = [r["phones"] for r in out["runs"] if r["kept_mark"]]
    out["largest_kept"] = max(kept) if kept else 0
    top = out["runs"][-1]["phones"] if out["runs"] else max(crowds)
    print(f"  {name}: hello world, {top} phones ...", flush=True)

    def hello_walk(port, n=top):
        rec, wall = asyncio.run(hello_crowd(port, n, args.think, args.arrival, assets, limit))
        return rec, wall, n
    out["hello"] = measured(hello_server(kind, workers, cores, work / "hello.log"), hello_walk)
    screen_against_hello(out, kind, workers, cores, data, work)
    if args.surge:
        def surge(port, n=args.surge):
            rec, wall = asyncio.run(crowd(port, n, 0, 120, arrival=1.0, first_page_only=True))
            return rec, wall, n

        def hello_surge(port, n=args.surge):
            rec, wall = asyncio.run(hello_crowd(port, n, 0, 1.0, assets, 120, first_page_only=True))
            return rec, wall, n
        out["surge"] = measured(fieldkit_server(kind, workers, cores, data, work / "surge.log"), surge)
        out["hello_surge"] = measured(hello_server(kind, workers, cores, work / "hello-surge.log"), hello_surge)
    return out


# --- the report ------------------------------------------------------------------------------

def ms(value: float) -> str:
    return "-" if value != value else f"{value:,.0f}"


def report(configs: list[dict], args) -> str:
    lines = [f"Arrivals over {args.arrival:g} s, {0.5 * args.think:g}-{1.5 * args.think:g} s between taps, the demo "
             f"walked to Submit; mark: p99 <= {P99_MARK_MS} ms, every first page < {FIRST_PAGE_MARK_S:g} s, 0 errors.",
             "", "| server | phones | completed | errors | p50 ms | p95 ms | p99 ms | max ms | first page p99 / max s "
             "| CPU ms/request | client CPU s | kept the mark |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for c in configs:
        for r in c["runs"] + ([dict(c["hello"], hello=True)] if "hello" in c else []):
            label = f"{c['name']}" + (" — hello world" if r.get("hello") else "")
            lines.append(f"| {label} | {r['phones']:,} | {r['completed']:,} | {r['errors']} | {ms(r['p50'])} "
                         f"| {ms(r['p95'])} | {ms(r['p99'])} | {ms(r['max'])} | {r['first_page_p99_s']:.2f} / "
                         f"{r['first_page_max_s']:.2f} | {r['cpu_ms_per_request']:.2f} | {r['client_cpu_s']:.0f} "
                         f"| {'yes' if r['kept_mark'] else 'no'} |")
    lines += ["", "| server | largest crowd that kept the mark | fieldkit CPU ms/request vs hello world's |",
              "|---|---:|---:|"]
    for c in (c for c in configs if c["runs"]):
        last = c["runs"][-1]
        lines.append(f"| {c['name']} | {c['largest_kept']:,} | {last['cpu_ms_per_request']:.2f} vs "
                     f"{c['hello']['cpu_ms_per_request']:.2f} |")
    if any("screen_wrk" in c for c in configs):
        lines += ["", "Form screen GET (a participant's draft, gzip) against hello world, wrk with 50 connections, "
                  "10 s each, same server and cores:", "", "| server | form screen req/s | hello world req/s "
                  "| screen vs hello world | screen p99 ms |", "|---|---:|---:|---:|---:|"]
        for c in configs:
            if "screen_wrk" in c:
                f, h = c["screen_wrk"], c["hello_wrk"]
                lines.append(f"| {c['name']} | {f['rps']:,.0f} | {h['rps']:,.0f} | {100 * f['rps'] / h['rps']:.0f}% "
                             f"| {ms(f.get('p99', float('nan')))} |")
    for c in (c for c in configs if c["runs"]):
        run = c["runs"][-1]
        lines += ["", f"Per step, {c['name']}, {run['phones']:,} phones:", "",
                  "| step | requests | p50 ms | p95 ms | p99 ms | max ms |", "|---|---:|---:|---:|---:|---:|"]
        for step, s in run["steps"].items():
            lines.append(f"| {step} | {s['n']:,} | {ms(s['p50'])} | {ms(s['p95'])} | {ms(s['p99'])} | {ms(s['max'])} |")
        if run["error_samples"]:
            lines.append("\nErrors (samples): " + "; ".join(run["error_samples"]))
    if any("surge" in c for c in configs):
        lines += ["", f"Surge: {args.surge} phones opening the form within one second (first page: the language "
                  "page and its assets).", "", "| server | fieldkit first page p50 / p99 / max s | hello world "
                  "p50 / p99 / max s | fieldkit p99 vs hello world's | errors |", "|---|---:|---:|---:|---:|"]
        for c in configs:
            if "surge" in c:
                f, h = c["surge"], c["hello_surge"]
                fp, hp = f["first_page_p99_s"], h["first_page_p99_s"]
                lines.append(f"| {c['name']} | {percentile_of(f, 50):.2f} / {fp:.2f} / {f['first_page_max_s']:.2f} | "
                             f"{percentile_of(h, 50):.2f} / {hp:.2f} / {h['first_page_max_s']:.2f} | "
                             f"{fp / hp:.1f}x | {f['errors']} / {h['errors']} |")
    return "\n".join(lines)


def percentile_of(run: dict, pct: float) -> float:
    return run.get(f"first_page_p{pct}_s", float("nan"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", default="waitress,serve-granian",
                        help="waitress and serve-granian (`fieldkit serve --server ...`); granian (its WSGI "
                             "interface) and granian-rsgi (the bridge, through granian's CLI) for comparison")
    parser.add_argument("--cores", default="1,2")
    parser.add_argument("--workers", type=int, default=2, help="granian's worker processes in the two-core runs")
    parser.add_argument("--crowds", default="500,1000,1500,2000,2500,3000,3500")
    parser.add_argument("--arrival", type=float, default=60.0)
    parser.add_argument("--think", type=float, default=10.0, help="mean pause between taps (0.5-1.5x)")
    parser.add_argument("--surge", type=int, default=500)
    parser.add_argument("--idle", type=int, default=60, help="waitress: serve's IDLE_SECONDS")
    parser.add_argument("--max-connections", type=int, default=1000, help="waitress: serve's MAX_CONNECTIONS")
    parser.add_argument("--hello-only", action="store_true", help="only the ceiling, at the largest crowd")
    parser.add_argument("--wrk-only", action="store_true", help="only wrk: the form screen against hello world")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--report", type=Path)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # a connection per phone
    crowds = [int(c) for c in args.crowds.split(",")]
    WAITRESS.update(IDLE_SECONDS=str(args.idle), MAX_CONNECTIONS=str(args.max_connections))
    print(json.dumps(machine(), indent=1), flush=True)
    configs = []
    with tempfile.TemporaryDirectory(prefix="fk-event-") as tmp:
        for cores in (int(c) for c in args.cores.split(",")):
            # one core: the client on the other core, never on the server's
            os.sched_setaffinity(0, {1} if cores == 1 else {0, 1})
            for kind in args.servers.split(","):
                workers = 1 if cores == 1 else args.workers
                configs.append(configuration(kind, workers, cores, crowds, args, Path(tmp)))
                if args.json:
                    args.json.write_text(json.dumps({"machine": machine(), "configs": configs}, indent=1))
    text = report(configs, args)
    print(text)
    if args.report:
        args.report.write_text(text + "\n")


if __name__ == "__main__":
    sys.exit(main())
