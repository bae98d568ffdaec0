"""Sync by itself: a linked laptop delivers its answers as soon as its central is
reachable, with the guarantees of a manual sync (it is the same runner: the lease,
the central's acknowledgements, exactly once).

It tries every `interval` seconds, and at once when the laptop's network changes
(a new address on its default route: the laptop joined another wifi). "Online"
means only that the central answered, authenticated, as the central (the runner's
hello); a captive portal or a DNS that answers everything is a failed attempt, and
nothing is marked synced. After a failure it waits 30 s, then twice as long each
time, up to the interval. It never runs beside another sync (the lease: the later
one is simply skipped), and runs in a thread of its own that waits on I/O, so
participants' pages are not slowed. It reports only what matters: a line for each
sync that sent something or failed, never for an idle attempt.
"""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .. import store
from ..store import sync as sync_store
from . import runner

FIRST_BACKOFF = 30.0  # after a failed attempt; doubled each time, up to the interval
NETWORK_CHECK = 5.0  # how often the network is looked at (a cheap local call: nothing is sent)
DEFAULT_INTERVAL = 300
RETRIES = 2  # within one attempt: the loop itself is the longer retry
PAUSE = 0.1  # seconds of rest after each batch of up to 200: the participants' pages go first (bench/RESULTS.md)


def network_fingerprint() -> str:
    """The address this machine would use to reach the internet, found by asking the
    operating system for a route (a UDP socket 'connected' sends no packet); '' offline."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed anywhere real
            return probe.getsockname()[0]
    except OSError:
        return ""


@dataclass
class Attempt:
    """What one try did, for the terminal and the tests."""
    ran: bool  # False: not linked, by hand only, or another sync was running
    result: runner.Result | None = None
    why_not: str = ""

    def line(self) -> str | None:
        """The terminal's line for this attempt: None for an idle one."""
        result = self.result
        if result is None:
            return None
        if result.ok and not (result.sent or result.forms_pulled or result.purged):
            return None
        if result.ok:
            return f"Synced by itself: {result.summary()}"
        reasons = "; ".join(m.render() for m in runner.messages_of(result)) or "not acknowledged"
        return f"Sync by itself failed: {reasons}"


class AutoSync:
    def __init__(self, database: str, interval: float = DEFAULT_INTERVAL, purge: bool = False,
                 echo: Callable[[str], None] | None = None, fingerprint: Callable[[], str] = network_fingerprint,
                 clock: Callable[[], float] = time.monotonic):
        self.database, self.interval, self.purge = database, float(interval), purge
        self.echo, self.fingerprint, self.clock = echo, fingerprint, clock
        self.failures = 0
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    def attempt(self, progress: runner.Progress | None = None) -> Attempt:
        """One try, now: skipped when the laptop is not linked or syncs by hand only."""
        db = store.connect(self.database)
        try:
            if sync_store.get_link(db) is None:
                return Attempt(False, why_not="not linked")
            settings = sync_store.get_auto(db)
        finally:
            db.close()
        if settings["by_hand"]:
            return Attempt(False, why_not="by hand only")
        result = runner.run(self.database, purge=self.purge, retries=RETRIES, progress=progress, user="auto",
                            skip_forms=frozenset(settings["forms_by_hand"]), pause=PAUSE)
        if result.busy:
            return Attempt(False, why_not="another sync is running")
        self.failures = 0 if result.ok else self.failures + 1
        return Attempt(True, result)

    def wait_after(self, attempt: Attempt) -> float:
        """Seconds until the next try: the interval, or the backoff after a failure."""
        if attempt.result is not None and not attempt.result.ok:
            return min(self.interval, FIRST_BACKOFF * 2 ** (self.failures - 1))
        return self.interval

    def loop(self, progress: runner.Progress | None = None, every_attempt: bool = False) -> None:
        """Try, wait, try again, until stopped; at once when the network changes."""
        seen = self.fingerprint()
        while not self.stopping.is_set():
            attempt = self.attempt(progress)
            line = attempt.line()
            if every_attempt and line is None:
                line = (f"Sync: {attempt.result.summary()}" if attempt.result is not None
                        else f"Sync skipped: {attempt.why_not}")
            if line and self.echo:
                self.echo(line)
            due = self.clock() + self.wait_after(attempt)
            while not self.stopping.is_set() and self.clock() < due:
                self.stopping.wait(min(NETWORK_CHECK, max(0.0, due - self.clock())))
                now_seen = self.fingerprint()
                if now_seen != seen:
                    seen = now_seen
                    if now_seen:  # joined a network: try now (a network lost just waits)
                        self.failures = 0
                        break

    def start(self) -> threading.Thread:
        self.thread = threading.Thread(target=self._loop_quietly, name="fieldkit-auto-sync", daemon=True)
        self.thread.start()
        return self.thread

    def _loop_quietly(self) -> None:
        try:
            self.loop()
        except Exception as error:  # never take the server down with it; say so once
            if self.echo:
                self.echo(f"Sync by itself stopped: {type(error).__name__}: {error}")

    def stop(self) -> None:
        self.stopping.set()

