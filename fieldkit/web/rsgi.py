"""fieldkit's Flask app under granian, through granian's own asynchronous interface (RSGI), so
that a request reaches a thread only once its whole body has arrived.

Why not granian's WSGI interface: it hands a request to a Python thread first and the thread
waits on the body for as long as the client takes, with no timeout (granian issue #728, closed
"won't fix"). Twenty phones that walk out of the wifi half-way through a photo held every thread
of the laptop (tests/test_hardening.py). Here the body is read by the event loop, a chunk at a
time, each within IDLE_SECONDS, and no more than the largest body any route accepts; only then
does a thread run the app, with the body in memory, as waitress does.

The app is plain WSGI (PEP 3333): the environ is built from granian's scope, the response's
headers and body are handed back to granian. A response with a Content-Length is sent in one
piece; one without (an export, streamed) is sent chunk by chunk as the app yields it, the
thread waiting for each chunk to be taken (so an export's memory stays flat)."""
from __future__ import annotations

import asyncio
import io
import sys
import threading
from concurrent.futures import ThreadPoolExecutor


class Bridge:
    """An RSGI application (`await bridge(scope, protocol)`) serving a WSGI app in `threads` threads."""

    def __init__(self, wsgi_app, threads: int, idle_seconds: float, max_body: int, per_client: int | None = None):
        self.app, self.idle, self.max_body, self.per_client = wsgi_app, idle_seconds, max_body, per_client
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="fieldkit")
        self.in_flight: dict[str, int] = {}  # client address -> its requests begun and not done (the loop's own)

    async def __call__(self, scope, protocol):
        if scope.proto != "http":  # websockets: fieldkit has none
            return
        if self.per_client is None:
            return await self._serve(scope, protocol)
        # One device may have at most per_client requests on the way at once (a phone's browser
        # has about 6), so that a device flooding the laptop, or stalling bodies by the hundred,
        # cannot fill the threads' queue or the memory that the others need. Not behind a proxy
        # (every client would be the proxy's address): per_client is None there.
        client = scope.client.rpartition(":")[0]
        if self.in_flight.get(client, 0) >= self.per_client:
            protocol.response_str(429, [("content-type", "text/plain"), ("retry-after", "5"),
                                        ("connection", "close")], "")
            return
        self.in_flight[client] = self.in_flight.get(client, 0) + 1
        try:
            return await self._serve(scope, protocol)
        finally:
            left = self.in_flight.pop(client) - 1
            if left:
                self.in_flight[client] = left

    async def _serve(self, scope, protocol):
        headers = scope.headers
        declared = headers.get("content-length")
        try:
            length = int(declared) if declared is not None else None
        except ValueError:
            protocol.response_empty(400, [("connection", "close")])  # hyper refuses most of these before
            return
        if length is not None and length > self.max_body:
            body = b""  # not read: the app answers 413 in the participant's language from the declared length
        else:
            body = await self._body(protocol)
            if body is None:
                protocol.response_str(408, [("content-type", "text/plain"), ("connection", "close")], "")
                return
            if len(body) > self.max_body:
                length, body = len(body), b""
        environ = _environ(scope, body, len(body) if length is None else length)
        loop = asyncio.get_running_loop()
        status, response_headers, first, rest = await loop.run_in_executor(self.pool, self._start, environ)
        if rest is None:
            protocol.response_bytes(status, response_headers, first)
            return
        transport = protocol.response_stream(status, response_headers)
        handoff = _Handoff(loop)
        producing = loop.run_in_executor(self.pool, handoff.produce, rest)
        try:
            if first:
                await transport.send_bytes(first)
            while (chunk := await handoff.next()) is not None:
                await transport.send_bytes(chunk)
        finally:
            handoff.stop()  # the client went away: the app's iterator is closed, its thread freed
            await producing

    async def _body(self, protocol) -> bytes | None:
        """The whole body, or None if the client stopped sending for IDLE_SECONDS."""
        chunks, size = [], 0
        stream = protocol.__aiter__()
        while True:
            try:
                chunk = await asyncio.wait_for(stream.__anext__(), self.idle)
            except StopAsyncIteration:
                return b"".join(chunks)
            except asyncio.TimeoutError:
                return None
            chunks.append(chunk)
            size += len(chunk)
            if size > self.max_body:  # a chunked body past every limit: read no further (the app says 413)
                return b"".join(chunks)

    def _start(self, environ):
        """In a thread: run the app until its body is known to be whole or streamed."""
        started = {}

        def start_response(status, headers, exc_info=None):
            started["status"], started["headers"] = int(status.split(" ", 1)[0]), headers
            return lambda data: None  # the legacy write(): fieldkit never calls it

        result = self.app(environ, start_response)
        whole = any(name.lower() == "content-length" for name, _ in started.get("headers", ()))
        if whole:
            try:
                body = b"".join(result)
            finally:
                _close(result)
            return started["status"], started["headers"], body, None
        iterator = iter(result)
        first = next(iterator, b"")
        return started["status"], started["headers"], first, (result, iterator)


def _close(result) -> None:
    """PEP 3333: the server calls the app's iterable's close(), whatever happened."""
    close = getattr(result, "close", None)
    if close:
        close()


class _Handoff:
    """A streamed body's chunks, from the app's thread to the event loop that sends them, one at
    a time: the thread makes the next chunk once the last is sent, so memory stays flat."""

    def __init__(self, loop):
        self.loop, self.queue = loop, asyncio.Queue()
        self.sent = threading.Event()
        self.stopped = False

    def produce(self, rest) -> None:  # in a thread
        result, iterator = rest
        try:
            for chunk in iterator:
                if self.stopped:
                    break
                if chunk:
                    self.sent.clear()
                    self.loop.call_soon_threadsafe(self.queue.put_nowait, chunk)
                    self.sent.wait()
        finally:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, None)
            _close(result)

    async def next(self) -> bytes | None:
        self.sent.set()  # the chunk before this one is on its way: make the next
        return await self.queue.get()

    def stop(self) -> None:
        self.stopped = True
        self.sent.set()


def _environ(scope, body: bytes, length: int) -> dict:
    host, _, port = scope.server.rpartition(":")
    client = scope.client.rpartition(":")[0] if scope.client else ""
    environ = {
        "REQUEST_METHOD": scope.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": scope.path.encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope.query_string,
        "SERVER_NAME": host.strip("[]"),
        "SERVER_PORT": port,
        "SERVER_PROTOCOL": f"HTTP/{scope.http_version}",
        "REMOTE_ADDR": client.strip("[]"),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for name, value in scope.headers.items():
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = value
            continue
        key = "HTTP_" + key
        if key in environ:  # a header sent twice: one line, as a WSGI server joins them
            environ[key] += ("; " if key == "HTTP_COOKIE" else ",") + value
        else:
            environ[key] = value
    # The body is whole and its length known: no longer chunked, whatever the client sent.
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    environ["CONTENT_LENGTH"] = str(length) if (length or "CONTENT_LENGTH" in environ) else ""
    return environ


def largest_body(config) -> int:
    """The largest body any route accepts; each route holds its own, smaller, limit."""
    from ..forms.media import MAX_UPLOAD_BYTES
    return max(int(config["MAX_CONTENT_LENGTH"]), int(config["OPENROSA_MAX_BODY"]),
               int(config["COLLECT_MAX_BODY"]), MAX_UPLOAD_BYTES + 256 * 1024)


def from_environment(settings: dict | None = None) -> Bridge:
    """The app granian's worker serves: made as create_app makes it (FIELDKIT_* settings),
    with DB_POOL threads."""
    from .app import create_app
    app = create_app(settings)
    config = app.config
    per_client = None if int(config["TRUSTED_PROXIES"] or 0) else int(config["MAX_CONNECTIONS_PER_CLIENT"])
    return Bridge(app, threads=int(config["DB_POOL"] or 8), idle_seconds=float(config["IDLE_SECONDS"]),
                  max_body=largest_body(config), per_client=per_client)
