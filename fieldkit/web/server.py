"""How `fieldkit serve` serves: granian (the default where it is installed) or waitress, in
one process or several (--workers), with the limits a venue's wifi needs.

Chosen by measurement (bench/event_model.py, figures in bench/RESULTS.md, issue 18): with a
crowd of phones holding their connections between screens, waitress's one Python thread that
polls every connection cost about twice the CPU per request of granian, whose connections live
in Rust. granian's WSGI interface, though, hands a request to a thread before its body has
arrived and never times a body out (granian issue #728, "won't fix"): a few phones walking out
of the wifi mid-photo would hold every thread. So granian serves through its RSGI interface and
web/rsgi.Bridge, which reads each body first, as waitress does in its main loop.

Several processes: granian's own workers, or for waitress the parent binds the socket and starts
the workers (multiprocessing's spawn, the same on Linux, macOS and Windows), each a whole
fieldkit app with its own waitress on that socket; the kernel hands each new connection to one
of them. Either way a worker ends when serve does, even killed. What the processes share lives in
the database (the session's signing key, drafts, the sync lease, accounts and lockouts); what each
keeps for itself is said in sync/README.md ("Several processes")."""
from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time

log = logging.getLogger("fieldkit.serve")

def connection_limit(wanted: int) -> int:
    """How many phones may hold a connection at once. waitress's default, 100,
    is less than one event: a phone's browser keeps its connection open between
    screens, so the 101st phone waited in the queue for another's whole survey
    (bench/RESULTS.md). Each connection is an open file, so the limit on those
    is raised for this process where the system allows; poll() (asyncore_use_poll)
    has no select()'s 1024-descriptor ceiling."""
    try:
        import resource
    except ImportError:  # Windows: select() there handles at most 512 sockets
        return 500
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted + 100  # and room for the database, logs and the listening socket
    if hard != resource.RLIM_INFINITY:
        target = min(target, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return wanted if soft == resource.RLIM_INFINITY else max(100, min(wanted, soft - 100))


class QueueNotice:
    """A logging filter for waitress's "Task queue depth is N": waitress writes
    it for every request that waits for a free thread, which at an event is
    nearly every request. Hundreds of lines a second flooded the laptop's
    terminal, and writing them from the thread that reads every connection
    slowed the whole server (bench/RESULTS.md). One a minute says the same."""

    def __init__(self, seconds: float = 60.0):
        self.seconds, self.last = seconds, None

    def filter(self, record) -> bool:
        now = time.monotonic()
        if self.last is not None and now - self.last < self.seconds:
            return False
        self.last = now
        return True


def quieter_queue_log() -> None:
    queue_log = logging.getLogger("waitress.queue")
    if not any(isinstance(f, QueueNotice) for f in queue_log.filters):
        queue_log.addFilter(QueueNotice())




def quiet_channels(server, per_client: int | None = 50, header_seconds: float = 20) -> None:
    """waitress's connections, without its busy loop, and with limits per client.

    Limits: one address may hold at most per_client connections (None: no limit, as
    behind a reverse proxy, where every client is the proxy's address); a connection
    whose request headers take longer than HEADER_SECONDS is closed at the next
    maintenance pass, so a device trickling half-sent requests cannot hold the
    gathering's connections (issue 13: 1,050 of them made every new request wait).

    A worker thread sends its response itself, holding the connection's output
    lock while it does; the send releases the GIL, and waitress's main loop,
    seeing output waiting, polls, finds the socket writable, cannot take the
    lock, and polls again: it spun, 50 to 140 times a request, rebuilding its
    poll set of every connection each time, with the GIL the workers needed
    (bench/RESULTS.md). A connection whose output lock a worker holds now says
    it has nothing to write: the main loop could not send it then anyway, and
    the worker wakes the main loop whenever it leaves output behind and when
    its request is done, as waitress always does."""
    from waitress.channel import HTTPChannel
    from waitress.server import BaseWSGIServer

    held: dict = {}  # address -> connections open

    class Channel(HTTPChannel):
        def __init__(self, server_, sock, addr, adj, map=None):
            super().__init__(server_, sock, addr, adj, map)
            self.fk_client = addr[0] if isinstance(addr, tuple) and addr else None
            self.fk_started = time.monotonic()
            held[self.fk_client] = held.get(self.fk_client, 0) + 1
            if per_client is not None and held[self.fk_client] > per_client:
                self.handle_close()  # the device already holds its share: this one is not served

        def handle_close(self):
            if getattr(self, "fk_client", False) is not False:
                held[self.fk_client] = held.get(self.fk_client, 1) - 1
                if held[self.fk_client] <= 0:
                    held.pop(self.fk_client, None)
                self.fk_client = False  # counted down once
            super().handle_close()

        def received(self, data):
            if getattr(self, "request", None) is None:
                self.fk_started = time.monotonic()  # a new request begins: its headers' clock starts
            return super().received(data)

        def writable(self):
            try:
                busy = self.requests and not self.will_close and not self.close_when_flushed
                lock = self.outbuf_lock
            except AttributeError:  # another waitress than the one this was written for: its own way
                return super().writable()
            if busy:
                if not lock.acquire(blocking=False):
                    return False  # a worker is writing: handle_write() would find the lock taken
                lock.release()
            return super().writable()

    servers = [server] + list(getattr(server, "map", {}).values())
    for each in servers:
        if isinstance(each, BaseWSGIServer) and each.channel_class is HTTPChannel:
            each.channel_class = Channel
            each.maintenance = _with_header_deadline(each, each.maintenance, header_seconds)


def _with_header_deadline(server, maintenance, seconds: float):
    """waitress closes only idle connections; this also closes one stuck in its headers."""
    def run(now):
        maintenance(now)
        late = time.monotonic() - seconds
        for channel in list(server.active_channels.values()):
            request = getattr(channel, "request", None)
            if request is not None and not getattr(request, "headers_finished", True) \
                    and getattr(channel, "fk_started", late) < late:
                channel.will_close = True
    return run


# --- the server, in one process or several ------------------------------------------------

def listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so that every worker can accept on it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    if sys.platform != "win32":  # as waitress does; on Windows it would let a second server share the port
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def make_server(app, sock: socket.socket, threads: int):
    """waitress on the bound socket, with serve's limits (the app's configuration)."""
    import waitress

    config = app.config
    quieter_queue_log()
    # Behind a proxy (FIELDKIT_TRUSTED_PROXIES), waitress must pass X-Forwarded-For on: by
    # default it drops it, and the app's ProxyFix, which trusts exactly that many hops, never sees it.
    behind = {"clear_untrusted_proxy_headers": False} if int(config["TRUSTED_PROXIES"] or 0) else {}
    server = waitress.create_server(app, sockets=[sock], threads=threads, ident="fieldkit",
                                    connection_limit=connection_limit(int(config["MAX_CONNECTIONS"])),
                                    asyncore_use_poll=True, channel_timeout=int(config["IDLE_SECONDS"]),
                                    cleanup_interval=min(5, int(config["IDLE_SECONDS"])), **behind)
    quiet_channels(server, per_client=None if behind else int(config["MAX_CONNECTIONS_PER_CLIENT"]),
                   header_seconds=float(config["HEADER_SECONDS"]))
    return server


def granian_installed() -> bool:
    import importlib.util
    return importlib.util.find_spec("granian") is not None


GRANIAN_CONNECTIONS = 10_000  # open connections granian may hold, all workers together, where files allow


def run_granian(host: str, port: int, threads: int, workers: int, settings: dict, header_seconds: float) -> None:
    """Serve with granian until Ctrl+C or SIGTERM: `workers` processes (granian's own), each the
    app of `settings` behind web/rsgi.Bridge with `threads` threads. granian answers HTTP in its
    own threads (Rust), so a connection costs no Python thread and no place in a poll set."""
    import functools

    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings
    from granian.log import LogLevels
    from granian.server import Server

    # spawn, not fork, on every system: a worker starts clean, without this process's
    # database connections and threads (the automatic sync's).
    multiprocessing.set_start_method("spawn", force=True)
    # granian's backpressure is the connections a worker takes at once (by default backlog /
    # workers, 2,048): past it, phones keeping their connection between screens left the next
    # ones waiting 30 s (bench/RESULTS.md, 3,000 phones). A connection costs granian a few KB,
    # so it is bounded by the open files this process may have, raised as far as allowed.
    # (On Windows there is no such limit to raise, and no select() in the way: granian's own.)
    capacity = GRANIAN_CONNECTIONS if sys.platform == "win32" else connection_limit(GRANIAN_CONNECTIONS)
    server = Server("fieldkit", address=host, port=port, interface=Interfaces.RSGI, workers=workers,
                    http=HTTPModes.http1, websockets=False, backlog=2048, backpressure=max(1, capacity // workers),
                    http1_settings=HTTP1Settings(header_read_timeout=max(1, int(header_seconds * 1000))),
                    log_level=LogLevels.warning, log_access=False,  # no line names a client's address
                    respawn_failed_workers=True, workers_kill_timeout=10)
    server.serve(target_loader=functools.partial(_granian_app, settings, threads), wrap_loader=True)


def _granian_app(settings: dict, threads: int, _target: str):
    """In each granian worker: the app, as the parent made its own; the worker ends with the
    parent (granian's workers outlive a killed parent, holding the port)."""
    _exit_with_parent()
    from .rsgi import from_environment
    return from_environment(dict(settings, DB_POOL=threads))


def run(app, sock: socket.socket, threads: int, workers: int, settings: dict) -> None:
    """Serve until Ctrl+C (or SIGTERM). One worker: this process. More: that many processes,
    each made from `settings` as create_app makes this one, restarted if one dies."""
    if workers <= 1:
        server = make_server(app, sock, threads)
        with _stopped_by_sigterm():
            server.run()
        return
    Workers(sock, threads, workers, settings).run()


class Workers:
    """fieldkit in `count` child processes on one listening socket."""

    def __init__(self, sock: socket.socket, threads: int, count: int, settings: dict):
        self.sock, self.threads, self.count, self.settings = sock, threads, count, settings
        self.context = multiprocessing.get_context("spawn")
        self.processes: list = []

    def start_one(self):
        process = self.context.Process(target=_worker, args=(self.sock, self.threads, self.settings),
                                       name="fieldkit-worker", daemon=True)
        # Ctrl+C reaches every process of the terminal: the workers ignore it from their first
        # instruction (an ignored signal stays ignored in the child) and are stopped by this one.
        interrupt = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            process.start()
        finally:
            signal.signal(signal.SIGINT, interrupt)
        return process

    def run(self) -> None:
        from multiprocessing.connection import wait

        self.processes = [self.start_one() for _ in range(self.count)]
        try:
            with _stopped_by_sigterm():
                while True:
                    wait([p.sentinel for p in self.processes], timeout=5)
                    for i, process in enumerate(self.processes):
                        if not process.is_alive():
                            log.warning("A fieldkit worker stopped (exit code %s); starting another.",
                                        process.exitcode)
                            time.sleep(1)  # a worker that cannot start is not restarted in a busy loop
                            self.processes[i] = self.start_one()
        finally:
            self.stop()

    def stop(self) -> None:
        for process in self.processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: a serving worker finishes the requests it has begun
        for process in self.processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)


def _worker(sock: socket.socket, threads: int, settings: dict) -> None:
    """One worker process: the app, and waitress on the parent's socket, until told to stop
    or until the parent is gone (killed, it could not tell its workers)."""
    _exit_with_parent()
    from .app import create_app

    app = create_app(settings)
    server = make_server(app, sock, threads)
    try:
        with _stopped_by_sigterm():  # before this, SIGTERM ends the worker at once: it serves nobody yet
            server.run()
    except KeyboardInterrupt:
        pass


def _exit_with_parent() -> None:
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch():
        from multiprocessing.connection import wait
        wait([parent.sentinel])
        os._exit(0)
    threading.Thread(target=watch, name="fieldkit-parent-watch", daemon=True).start()


class _stopped_by_sigterm:
    """SIGTERM (a service manager, a test) stops serve as Ctrl+C does: workers told, not orphaned."""

    def __enter__(self):
        self.before = None
        if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGTERM"):
            self.before = signal.signal(signal.SIGTERM, _interrupt)
        return self

    def __exit__(self, *exc):
        if self.before is not None:
            signal.signal(signal.SIGTERM, self.before)
        return False


def _interrupt(_signum, _frame):
    raise KeyboardInterrupt
