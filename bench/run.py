"""Run fieldkit's benchmarks and print each figure beside its ceiling, measured
in the same run on the same machine.

    python bench/run.py                  # everything (under ~10 minutes on 2 cores)
    python bench/run.py --quick          # smaller, shorter: a smoke run (~2 minutes)
    python bench/run.py --only load      # one benchmark (repeat --only for several)
    python bench/run.py --report out.md --json out.json

Benchmarks, not tests: nothing here asserts a time. Servers listen on
127.0.0.1 only; every loop is bounded in count and in time. Needs Debian's
`wrk` (apt-get install wrk) for the load benchmark's ceilings."""
from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import fmt_ms, machine, ratio  # noqa: E402

BENCHMARKS = ("load", "durable", "sync", "export", "startup", "weight")


def run_one(name: str, quick: bool, args) -> dict:
    if name == "load":
        import event_load
        crowds = tuple(args.participants) if args.participants else (300, 500)
        return event_load.run(quick=quick, crowds=crowds, think=args.think)
    if name == "durable":
        import durable
        return durable.run(quick=quick)
    if name == "sync":
        import sync_scale
        return sync_scale.run(quick=quick, count=args.sync_count)
    if name == "export":
        import export_scale
        return export_scale.run(quick=quick)
    if name == "startup":
        import startup
        return startup.run(quick=quick)
    if name == "weight":
        import page_weight
        return page_weight.run(quick=quick)
    raise ValueError(name)


# --- the report ---------------------------------------------------------------------------

def md_load(r: dict) -> list[str]:
    hello = r["hello_wrk"]
    lines = ["## 1. Event load", "",
             f"waitress with {r['threads']} threads on both sides; wrk: 1 thread, 50 connections, "
             f"{r['wrk_seconds']} s; phones: this repo's asyncio client (bench/phone.py), one keep-alive "
             "connection per participant. The load generator shares the 2 cores with the server.", "",
             "| single route (wrk) | req/s | vs hello world | p50 | p99 | errors |", "|---|---:|---:|---:|---:|---:|",
             f"| ceiling: Flask hello world on waitress | {hello['rps']:.0f} | 100% | {fmt_ms(hello.get('p50', float('nan')))} "
             f"| {fmt_ms(hello.get('p99', float('nan')))} | {hello['errors']} |"]
    for key, label in (("language_page_wrk", "language page GET /f/wellbeing (new session + CSRF token)"),
                       ("screen_wrk", "form screen GET /f/wellbeing/q (a participant's draft)"),
                       ("answer_wrk", "answer a screen POST /f/wellbeing/q (durable draft write, 303)")):
        w = r[key]
        lines.append(f"| {label} | {w['rps']:.0f} | {ratio(w['rps'], hello['rps'])} | {fmt_ms(w.get('p50', float('nan')))} "
                     f"| {fmt_ms(w.get('p99', float('nan')))} | {w['errors']} |")
    hp = r["hello_phones"]
    lines += ["", "| participants walking the demo (phones) | think time | completed | errors | forms/s | req/s "
              "| req/s vs same client on hello world | p50 | p95 | p99 | max | server CPU s | client CPU s |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
              f"| ceiling: {hp['participants']} phones × 19 GETs of hello world | 0 | {hp['completed']} | {hp['errors']} "
              f"| - | {hp['rps']:.0f} | 100% | {fmt_ms(hp['p50'])} | {fmt_ms(hp['p95'])} | {fmt_ms(hp['p99'])} "
              f"| {fmt_ms(hp['max'])} | - | - |"]
    for key, c in r.items():
        if key.startswith("crowd_"):
            lines.append(f"| {c['participants']} at once | {c['think_s']:g} s | {c['completed']} | {c['errors']} "
                         f"| {c['forms_per_s']:.1f} | {c['rps']:.0f} | {ratio(c['rps'], hp['rps'])} | {fmt_ms(c['p50'])} "
                         f"| {fmt_ms(c['p95'])} | {fmt_ms(c['p99'])} | {fmt_ms(c['max'])} | {c['server_cpu_s']:.1f} "
                         f"| {c['client_cpu_s']:.1f} |")
    for key, c in r.items():
        if key.startswith("crowd_") and c["error_samples"]:
            lines.append(f"\n{key} errors (samples): " + "; ".join(c["error_samples"]))
    last = [k for k in r if k.startswith("crowd_")]
    if last:
        c = r[last[-1]]
        lines += ["", f"Per step, {c['participants']} participants, think time {c['think_s']:g} s:", "",
                  "| step | requests | p50 | p95 | p99 |", "|---|---:|---:|---:|---:|"]
        for step, s in c["steps"].items():
            lines.append(f"| {step} | {s['n']} | {fmt_ms(s['p50'])} | {fmt_ms(s['p95'])} | {fmt_ms(s['p99'])} |")
    return lines


def md_durable(r: dict) -> list[str]:
    return ["## 2. Durable submissions", "",
            f"One ~{r['row_bytes']} B row per transaction, WAL, synchronous=FULL, same disk; best of two rounds each "
            f"(raw: {', '.join(f'{x:.0f}' for x in r['raw'])}; fieldkit: {', '.join(f'{x:.0f}' for x in r['fieldkit'])}).", "",
            "| what | commits/s | vs raw |", "|---|---:|---:|",
            f"| ceiling: raw SQLite INSERT + COMMIT | {r['raw_per_s']:.0f} | 100% |",
            f"| fieldkit store.submissions.add_submission | {r['fieldkit_per_s']:.0f} | "
            f"{ratio(r['fieldkit_per_s'], r['raw_per_s'])} |",
            f"| a screen saved to its draft, synchronous=FULL each (before issue 18) | {r['draft_full_per_s']:.0f} | "
            f"{ratio(r['draft_full_per_s'], r['raw_per_s'])} |",
            f"| a screen saved to its draft, relaxed (NORMAL, WAL fsynced every 0.5 s) | "
            f"{r['draft_relaxed_per_s']:.0f} | {ratio(r['draft_relaxed_per_s'], r['raw_per_s'])} |"]


def md_sync(r: dict) -> list[str]:
    c, k, raw = r["clean"], r["killed"], r["raw_bulk_per_s"]
    wire = c["wire_sent"] + c["wire_received"]
    return ["## 3. Sync at programme scale", "",
            f"{r['count']:,} submissions, laptop -> central (`fieldkit serve`) on loopback, with "
            f"fieldkit.sync.runner.run (what `fieldkit sync` runs). Setup (bulk insert into the laptop): "
            f"{r['setup_s']:.1f} s, not timed.", "",
            "| what | figure |", "|---|---:|",
            f"| total time, {r['count']:,} submissions | {c['seconds']:.1f} s ({'ok' if c['ok'] else 'NOT ok'}) |",
            f"| central-side rows/s (whole sync) | {c['per_s']:.0f} |",
            f"| ceiling: raw executemany, same rows, same schema, 200 per transaction | {raw['batched']:.0f} "
            f"(fieldkit: {ratio(c['per_s'], raw['batched'])}) |",
            f"| ceiling: raw executemany, all in one transaction | {raw['one_transaction']:.0f} |",
            f"| HTTP requests | {c['requests']:,} |",
            f"| bytes on the wire (HTTP, both ways) | {wire / 1e6:.1f} MB "
            f"(sent {c['wire_sent'] / 1e6:.1f} MB, received {c['wire_received'] / 1e6:.1f} MB) |",
            f"| the same batches as raw JSON | {c['json_bytes'] / 1e6:.1f} MB (wire = {ratio(wire, c['json_bytes'])}) |",
            f"| central after: rows / distinct uuids / conflicts | {c['central']['rows']:,} / "
            f"{c['central']['distinct_uuids']:,} / {c['central']['conflicts']} |",
            f"| laptop after | {c['laptop']} |",
            "", "Central killed at about 50% (SIGKILL, a random 0-50 ms after an acknowledgement, so inside a "
            "batch), restarted on the same port, sync run again:", "",
            "| what | figure |", "|---|---:|",
            f"| acknowledged when killed | {k.get('at_acknowledged', 0):,} |",
            f"| rows on the central just after the kill | {k['central_rows_at_kill']:,} |",
            f"| first run (interrupted) | ok={k['first_ok']}, acknowledged {k['first_sent']:,} |",
            f"| resumed run | ok={k['second_ok']}, sent {k['second_sent']:,}, new {k['second_created']:,}, "
            f"duplicates {k['second_duplicates']:,} |",
            f"| central after: rows / distinct uuids / conflicts | {k['central']['rows']:,} / "
            f"{k['central']['distinct_uuids']:,} / {k['central']['conflicts']} |",
            f"| laptop after | {k['laptop']} |",
            f"| exactly once | {'yes' if r['exactly_once'] else 'NO'} |",
            f"| kill, restart and resume, total time | {k['seconds']:.1f} s |"]


def md_export(r: dict) -> list[str]:
    small, large = r["sizes"]
    lines = ["## 4. Export at scale", "",
             f"`fieldkit export wellbeing --format F --out FILE`, each in its own process; max RSS of that process "
             f"(os.wait4). The command alone (`fieldkit export --help`) peaks at {r['idle_rss_mib']:.0f} MiB.", "",
             "| format | submissions | time | max RSS | file | growth of peak |", "|---|---:|---:|---:|---:|---:|"]
    for fmt in ("csv", "xlsx"):
        for n in (small, large):
            e = r[f"{fmt}_{n}"]
            growth = f"{r[f'{fmt}_growth']:.2f}x" if n == large else ""
            lines.append(f"| {fmt} | {n:,} | {e['seconds']:.1f} s | {e['max_rss_mib']:.0f} MiB | "
                         f"{e['bytes'] / 1e6:.1f} MB | {growth} |")
    return lines


def md_startup(r: dict) -> list[str]:
    return ["## 5. Start-up", "",
            f"From launching `python -m fieldkit serve` to the first 200 from /f/wellbeing (polled every 5 ms), "
            f"{r['runs']} runs each. Reference: Datasette 0.56-0.70 s on the same kind of machine.", "",
            "| data directory | median | runs |", "|---|---:|---|",
            f"| existing (database and demo form there) | {r['existing_median']:.2f} s | "
            f"{', '.join(f'{x:.2f}' for x in r['existing'])} |",
            f"| empty (creates the database, imports the demo) | {r['empty_median']:.2f} s | "
            f"{', '.join(f'{x:.2f}' for x in r['empty'])} |"]


def md_weight(r: dict) -> list[str]:
    lines = ["## 6. Page weight", "",
             "Bytes on the wire, gzip, per participant screen: the HTML plus every stylesheet and script it links "
             "(counted again on every screen, as if nothing were cached; a phone caches them for a year).", "",
             "| language | " + " | ".join(r["steps"]) + " | heaviest | fonts the CSS can pull |",
             "|---|" + "---:|" * (len(r["steps"]) + 2)]
    for lang, w in r["langs"].items():
        fonts = sum(w["fonts"].values())
        lines.append(f"| {lang} | " + " | ".join(f"{x / 1024:.1f} KB" for x in w["screens"])
                     + f" | {w['max'] / 1024:.1f} KB | {fonts / 1024:.1f} KB |")
    lines += ["", "| peer (JS + CSS before a form shows, gzip) | KB |", "|---|---:|"]
    lines += [f"| {name} | {kb} |" for name, kb in r["peers_kb"].items()]
    if r.get("media"):
        m = r["media"]
        lines += ["", "Media are counted only for a form that uses them: the demo has none. The first screen of "
                  "tests/forms/prompts.md (Somali), an image question with audio and two choices with images:", "",
                  "| page (HTML + CSS + JS) | images (load with the page) | audio (loads when tapped) |",
                  "|---:|---:|---:|",
                  f"| {m['page'] / 1024:.1f} KB | {m['images'] / 1024:.1f} KB | {m['audio'] / 1024:.1f} KB |"]
    return lines


FORMATTERS = {"load": md_load, "durable": md_durable, "sync": md_sync, "export": md_export,
              "startup": md_startup, "weight": md_weight}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", choices=BENCHMARKS, help="run only this benchmark (repeatable)")
    parser.add_argument("--quick", action="store_true", help="smaller and shorter: a smoke run")
    parser.add_argument("--participants", type=int, action="append",
                        help="load: crowd size (repeatable; default 300 and 500)")
    parser.add_argument("--think", type=float, default=5.0,
                        help="load: mean pause between a phone's taps in the paced runs, seconds (default 5)")
    parser.add_argument("--sync-count", type=int, help="sync: submissions to push (default 100,000)")
    parser.add_argument("--report", type=Path, help="also write the markdown report to this file")
    parser.add_argument("--json", type=Path, help="also write every figure as JSON to this file")
    args = parser.parse_args()
    if any(b in (args.only or BENCHMARKS) for b in ("load",)) and not shutil.which("wrk"):
        parser.error("the load benchmark needs wrk: apt-get install wrk")

    info = machine()
    command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    out = ["# fieldkit benchmark run", "",
           f"- date: {info['date']}", f"- command: `{command}`",
           f"- machine: {info['nproc']} cores (`nproc`), CPU: {info['cpu']}, Python {info['python']}, "
           f"SQLite {info['sqlite']}, {info['platform']}, {info['wrk']}",
           f"- load average when the run began (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in info['loadavg'])}"
           " (other work on this machine shares its 2 cores: compare ratios, not times)",
           "- memory (`free -h`):", "", "```", info["free"], "```", ""]
    results: dict = {"machine": info, "command": command}
    for name in args.only or BENCHMARKS:
        began = time.perf_counter()
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        results[name] = run_one(name, args.quick, args)
        results[name]["bench_seconds"] = time.perf_counter() - began
        out += FORMATTERS[name](results[name]) + ["", f"({name}: {results[name]['bench_seconds']:.0f} s)", ""]
        print(f"[bench] {name} done in {results[name]['bench_seconds']:.0f} s", file=sys.stderr, flush=True)
    out.append(f"Load average when the run ended: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    report = "\n".join(out)
    print(report)
    if args.report:
        args.report.write_text(report + "\n", encoding="utf-8")
    if args.json:
        for value in results.values():  # wrk's raw text is long; keep figures only
            if isinstance(value, dict):
                for inner in value.values():
                    if isinstance(inner, dict):
                        inner.pop("raw", None)
        args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
