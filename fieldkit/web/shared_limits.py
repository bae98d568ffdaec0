"""Rate-limit counters that several serve processes share, in the memory of serve itself.

With --workers N each process is its own app, and Flask-Limiter's in-memory counters would be
N separate counts: a device whose connections land on different processes could post N times the
limit. Here the counters live in the parent `fieldkit serve` process, behind a
multiprocessing manager on a loopback port with a random key that only its workers are given
(never in the environment or on a command line); each worker's Flask-Limiter talks to it through
a `limits` storage registered as fieldkit-shared://. The counters never reach a disk or a log,
as before; when serve stops they are gone.

Only the fixed-window strategy (Flask-Limiter's default, the one fieldkit uses) is implemented.
If the parent cannot be reached the request is let through (RATELIMIT_SWALLOW_ERRORS): a brake
on abuse, not a lock."""
from __future__ import annotations

import multiprocessing
import secrets
import threading
import time
from multiprocessing.managers import BaseManager

from limits.storage import Storage

SCHEME = "fieldkit-shared"


class Counters:
    """The windows themselves: key -> (count, expires at). In the parent, one lock for all."""

    def __init__(self):
        self.lock = threading.Lock()
        self.windows: dict[str, tuple[int, float]] = {}
        self.next_sweep = time.monotonic() + 60

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.monotonic()
        with self.lock:
            if now >= self.next_sweep:  # bounded memory: windows that ended are dropped once a minute
                self.windows = {k: v for k, v in self.windows.items() if v[1] > now}
                self.next_sweep = now + 60
            count, ends = self.windows.get(key, (0, 0.0))
            if ends <= now:
                count, ends = 0, now + expiry
            count += amount
            self.windows[key] = (count, ends)
            return count

    def get(self, key: str) -> int:
        with self.lock:
            count, ends = self.windows.get(key, (0, 0.0))
            return count if ends > time.monotonic() else 0

    def get_expiry(self, key: str) -> float:
        with self.lock:
            _count, ends = self.windows.get(key, (0, 0.0))
        return time.time() + max(0.0, ends - time.monotonic())

    def clear(self, key: str) -> None:
        with self.lock:
            self.windows.pop(key, None)

    def reset(self) -> int:
        with self.lock:
            count = len(self.windows)
            self.windows.clear()
            return count


class _Manager(BaseManager):
    pass


_counters = Counters()
_Manager.register("counters", callable=lambda: _counters)


def start() -> dict:
    """In serve's parent: serve the counters on a free loopback port, in a thread of this
    process. Returns the settings that give a worker's app the shared storage."""
    authkey = secrets.token_bytes(32)
    server = _Manager(address=("127.0.0.1", 0), authkey=authkey).get_server()
    threading.Thread(target=server.serve_forever, name="fieldkit-rate-limits", daemon=True).start()
    host, port = server.address
    return {"RATELIMIT_STORAGE_URI": f"{SCHEME}://{host}:{port}",
            "RATELIMIT_STORAGE_OPTIONS": {"authkey": authkey.hex()},
            "RATELIMIT_SWALLOW_ERRORS": True}


class SharedStorage(Storage):
    """A worker's view of the parent's counters (limits' storage interface)."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str, authkey: str = "", wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        host, _, port = uri.split("://", 1)[1].rpartition(":")
        self.address, self.authkey = (host, int(port)), bytes.fromhex(authkey)
        self.local = threading.local()  # a proxy is not shared between threads

    @property
    def base_exceptions(self):
        return (OSError, EOFError, multiprocessing.ProcessError)

    def _counters(self):
        proxy = getattr(self.local, "proxy", None)
        if proxy is None:
            manager = _Manager(address=self.address, authkey=self.authkey)
            manager.connect()
            proxy = self.local.proxy = manager.counters()
        return proxy

    def _call(self, name: str, *args):
        try:
            return getattr(self._counters(), name)(*args)
        except (OSError, EOFError, multiprocessing.ProcessError):
            self.local.proxy = None  # reconnect next time
            raise

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        return self._call("incr", key, int(expiry), amount)

    def get(self, key: str) -> int:
        return self._call("get", key)

    def get_expiry(self, key: str) -> float:
        return self._call("get_expiry", key)

    def check(self) -> bool:
        try:
            self._call("get", "fieldkit-check")
            return True
        except (OSError, EOFError, multiprocessing.ProcessError):
            return False

    def reset(self) -> int | None:
        return self._call("reset")

    def clear(self, key: str) -> None:
        self._call("clear", key)
