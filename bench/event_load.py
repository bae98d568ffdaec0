"""1. Event load: N participants open the demo form at once and each walks every
screen (language, consent, the five screens, review, submit, thank you)
against a real `fieldkit serve` on loopback, with cookies and CSRF tokens like
a phone. Ceiling: Flask's hello world on waitress with the same threads, in
the same run, driven by the same load generators."""
from __future__ import annotations

import asyncio
import os
import random
import re
import resource
import shutil
import tempfile
import time
from pathlib import Path

from common import HOST, THREADS, Server, percentile, prepared_data_dir, wrk
from phone import HTTPError, Phone, Recorder, location_path, timed

FORM = "/f/wellbeing"
LANGS = ("en", "es", "so", "am")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SCREEN = re.compile(r'name="_screen" value="(\d+)"')
UUID = re.compile(r'name="_uuid" value="([^"]+)"')
ASSET = re.compile(r'(?:href|src)="(/a/[^"]+)"')
SCREENS = ({"age_band": "age_35_49", "household_size": "3"},
           {"wellbeing_rating": "good", "worries": ["work", "health"]},
           {"has_support": "yes", "support_who": ["friend"]},
           {"last_gathering": "2025-06-01", "comments": "Más reuniones, por favor · ሰላም"},
           {})  # the summary note


def found(pattern: re.Pattern, html: str, step: str) -> str:
    match = pattern.search(html)
    if not match:
        raise HTTPError(f"{step}: no {pattern.pattern[:20]} in the page")
    return match.group(1)


async def participant(i: int, port: int, rec: Recorder, think: float, deadline: float,
                      arrival: float = 0.0, first_page_only: bool = False) -> None:
    """One phone's whole walk; any failure is recorded and ends this phone's walk.

    The phone arrives at a random moment within `arrival` seconds of the start and
    pauses 0.5-1.5 x `think` seconds before each tap (think=10: 5-15 s, as people
    read a screen). Its first page (the language page and the assets it links, as
    a browser's first visit loads them) is timed whole, from its arrival."""
    phone = Phone(HOST, port, LANGS[i % 4])
    rng = random.Random(i)

    async def pause():
        if think:
            await asyncio.sleep(min(rng.uniform(0.5, 1.5) * think, max(0.0, deadline - time.perf_counter())))

    try:
        if arrival:
            await asyncio.sleep(rng.uniform(0, arrival))
        arrived = time.perf_counter()
        page = await timed(phone, rec, "language page", "GET", FORM)
        for asset in ASSET.findall(page.text):  # a phone's first visit; cached for a year afterwards
            await timed(phone, rec, "asset", "GET", asset)
        rec.first_pages.append(time.perf_counter() - arrived)
        if first_page_only:
            rec.completed += 1
            return
        await pause()
        r = await timed(phone, rec, "choose language", "POST", FORM + "/start",
                        {"lang": phone.language, "csrf_token": found(CSRF, page.text, "language page")}, (303,))
        page = await timed(phone, rec, "consent page", "GET", location_path(r))
        await pause()
        r = await timed(phone, rec, "consent", "POST", FORM + "/consent",
                        {"consent": "yes", "csrf_token": found(CSRF, page.text, "consent page")}, (303,))
        page = await timed(phone, rec, "screen", "GET", location_path(r))
        for answers in SCREENS:
            await pause()
            form = dict(answers, csrf_token=found(CSRF, page.text, "screen"),
                        _screen=found(SCREEN, page.text, "screen"), _action="next")
            r = await timed(phone, rec, "answer screen", "POST", FORM + "/q", form, (303,))
            page = await timed(phone, rec, "screen", "GET", location_path(r))
        await pause()
        r = await timed(phone, rec, "submit", "POST", FORM + "/submit",
                        {"csrf_token": found(CSRF, page.text, "review"), "_uuid": found(UUID, page.text, "review")},
                        (303,))
        page = await timed(phone, rec, "thank you", "GET", location_path(r))
        rec.completed += 1
        rec.finished_at = time.perf_counter()
    except (HTTPError, OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError) as error:
        rec.errors.append(f"{type(error).__name__}: {error}"[:200])
    finally:
        await phone.close()


async def bounded(walks, rec: Recorder, seconds: float) -> None:
    """Run the phones' walks at once, for at most `seconds`: whoever is still walking then is
    stopped and counted as an error."""
    tasks = [asyncio.ensure_future(walk) for walk in walks]
    _done, pending = await asyncio.wait(tasks, timeout=seconds)
    for task in pending:
        task.cancel()
        rec.errors.append("not finished before the time limit")
    if pending:
        await asyncio.wait(pending, timeout=10)


async def crowd(port: int, n: int, think: float, seconds: float, arrival: float = 0.0,
                first_page_only: bool = False) -> tuple[Recorder, float]:
    rec = Recorder()
    rec.finished_at = None
    began = time.perf_counter()
    deadline = began + seconds
    await bounded((participant(i, port, rec, think, deadline, arrival, first_page_only) for i in range(n)),
                  rec, seconds)
    return rec, (rec.finished_at or time.perf_counter()) - began


async def hello_crowd(port: int, n: int, per_phone: int, seconds: float) -> tuple[Recorder, float]:
    """The same client and concurrency against hello world: what this load generator can drive."""
    rec = Recorder()

    async def one(i):
        phone = Phone(HOST, port, "en")
        try:
            for _ in range(per_phone):
                await timed(phone, rec, "hello", "GET", "/")
            rec.completed += 1
        except (HTTPError, OSError, asyncio.TimeoutError, asyncio.IncompleteReadError) as error:
            rec.errors.append(f"{type(error).__name__}: {error}"[:200])
        finally:
            await phone.close()

    began = time.perf_counter()
    await bounded((one(i) for i in range(n)), rec, seconds)
    return rec, time.perf_counter() - began


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def summarise(rec: Recorder, wall: float, n: int) -> dict:
    every = rec.all()
    steps = {step: {"n": len(v), "p50": percentile(v, 50) * 1000, "p95": percentile(v, 95) * 1000,
                    "p99": percentile(v, 99) * 1000} for step, v in rec.latencies.items()}
    pages = rec.latencies.get("screen", []) + rec.latencies.get("answer screen", [])
    return {"participants": n, "completed": rec.completed, "errors": len(rec.errors),
            "error_samples": sorted(set(rec.errors))[:5], "wall_s": wall,
            "forms_per_s": rec.completed / wall if wall else 0, "requests": rec.requests,
            "rps": rec.requests / wall if wall else 0,
            "p50": percentile(every, 50) * 1000, "p95": percentile(every, 95) * 1000,
            "p99": percentile(every, 99) * 1000, "max": max(every) * 1000 if every else float("nan"),
            "screen_p50": percentile(pages, 50) * 1000, "screen_p99": percentile(pages, 99) * 1000,
            "steps": steps}


def screen_cookie(base_port: int) -> tuple[str, str]:
    """A participant's session cookie, parked on the first screen, for wrk's single-route runs."""
    async def go():
        rec = Recorder()
        phone = Phone(HOST, base_port, "en")
        page = await timed(phone, rec, "language page", "GET", FORM)
        csrf = found(CSRF, page.text, "language page")
        r = await timed(phone, rec, "choose language", "POST", FORM + "/start", {"lang": "en", "csrf_token": csrf},
                        (303,))
        page = await timed(phone, rec, "consent page", "GET", location_path(r))
        await timed(phone, rec, "consent", "POST", FORM + "/consent", {"consent": "yes", "csrf_token": csrf}, (303,))
        page = await timed(phone, rec, "screen", "GET", FORM + "/q")
        cookie = "; ".join(f"{k}={v}" for k, v in phone.cookies.items())
        await phone.close()
        return cookie, found(CSRF, page.text, "screen")
    return asyncio.run(go())


def wrk_post_script(path: Path, body: str, cookie: str) -> Path:
    path.write_text('wrk.method = "POST"\n'
                    f'wrk.body = "{body}"\n'
                    'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
                    f'wrk.headers["Cookie"] = "{cookie}"\n'
                    'wrk.headers["Accept-Encoding"] = "gzip"\n')
    return path


def run(quick: bool = False, crowds: tuple[int, ...] = (300, 500), think: float = 2.0,
        work: Path | None = None) -> dict:
    """Everything in one run, on one machine: ceilings first, then fieldkit."""
    work = Path(tempfile.mkdtemp(prefix="fieldkit-bench-load-", dir=work))
    seconds = 3 if quick else 6
    results: dict = {"threads": THREADS, "wrk_seconds": seconds}
    if quick:
        crowds = tuple(min(c, 100) for c in crowds[:1])
    with Server.hello(work / "hello.log") as hello:
        results["hello_wrk"] = wrk(hello.base + "/", connections=50, seconds=seconds)
        rec, wall = asyncio.run(hello_crowd(hello.port, max(crowds), 19, 120))
        results["hello_phones"] = summarise(rec, wall, max(crowds))
    data = prepared_data_dir(work / "data")
    server = Server.fieldkit(data, work / "fieldkit.log")
    with server:
        cookie, csrf = screen_cookie(server.port)
        gz = {"Accept-Encoding": "gzip"}
        results["language_page_wrk"] = wrk(server.base + FORM, connections=50, seconds=seconds, headers=gz)
        results["screen_wrk"] = wrk(server.base + FORM + "/q", connections=50, seconds=seconds,
                                    headers=dict(gz, Cookie=cookie))
        script = wrk_post_script(work / "post.lua", f"csrf_token={csrf}&_screen=0&_action=next&age_band=age_16_24"
                                 "&household_size=3", cookie)
        results["answer_wrk"] = wrk(server.base + FORM + "/q", connections=50, seconds=seconds, script=script)
        runs = [(n, 0.0) for n in crowds] + ([] if quick or not think else [(max(crowds), think)])
        for n, pause in runs:
            cpu_server, cpu_client = cpu_seconds(server.process.pid), own_cpu()
            rec, wall = asyncio.run(crowd(server.port, n, pause, 180))
            summary = summarise(rec, wall, n)
            summary["server_cpu_s"] = cpu_seconds(server.process.pid) - cpu_server
            summary["client_cpu_s"] = own_cpu() - cpu_client
            summary["think_s"] = pause
            results[f"crowd_{n}_think_{pause:g}"] = summary
    shutil.rmtree(work, ignore_errors=True)
    return results
