"""A light HTTP/1.1 client for many simulated phones in one asyncio loop:
keep-alive connections, cookies, gzip, 303s followed like a browser.

Why not requests or httpx: on a 2-core machine the load generator competes
with the server for CPU, and the participant walk needs state (cookies, CSRF
tokens) that wrk cannot carry. A few hundred lines of asyncio streams cost a
fraction of a millisecond per request, far less than a threaded requests
client (one OS thread and a urllib3 pool per phone) would."""
from __future__ import annotations

import asyncio
import time
import zlib
from urllib.parse import urlencode, urlsplit


class HTTPError(Exception):
    pass


class Response:
    __slots__ = ("status", "headers", "cookies", "body")

    def __init__(self, status: int, headers: dict, cookies: list[str], body: bytes):
        self.status, self.headers, self.cookies, self.body = status, headers, cookies, body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Phone:
    """One participant's browser: one keep-alive connection, a cookie jar."""

    def __init__(self, host: str, port: int, language: str, timeout: float = 30.0):
        self.host, self.port, self.timeout = host, port, timeout
        self.cookies: dict[str, str] = {}
        self.language = language
        self.reader = self.writer = None
        self.wire_bytes = 0

    async def _connect(self):
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)

    async def close(self):
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except (OSError, ConnectionError):
                pass
            self.reader = self.writer = None

    async def request(self, method: str, path: str, form: dict | None = None) -> Response:
        body = urlencode(form, doseq=True).encode() if form is not None else b""
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                 "Accept-Encoding: gzip", f"Accept-Language: {self.language}",
                 "User-Agent: fieldkit-bench-phone"]
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if form is not None:
            lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if self.writer is None:
            await self._connect()
        self.writer.write(head + body)
        response = await asyncio.wait_for(self._read(), self.timeout)
        for cookie in response.cookies:
            pair = cookie.split(";", 1)[0]
            name, _, value = pair.partition("=")
            if value and "max-age=0" not in cookie.lower() and "expires=thu, 01 jan 1970" not in cookie.lower():
                self.cookies[name.strip()] = value.strip()
            else:
                self.cookies.pop(name.strip(), None)
        if response.headers.get("connection", "").lower() == "close":
            await self.close()
        return response

    async def _read(self) -> Response:
        head = await self.reader.readuntil(b"\r\n\r\n")
        self.wire_bytes += len(head)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        headers, cookies = {}, []
        for line in header_lines:
            if not line:
                continue
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "set-cookie":
                cookies.append(value)
            else:
                headers[name] = value
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                data = await self.reader.readexactly(size + 2)
                self.wire_bytes += size + 2
                if size == 0:
                    break
                chunks.append(data[:-2])
            body = b"".join(chunks)
        elif "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        else:
            body = await self.reader.read()
            headers["connection"] = "close"
        self.wire_bytes += len(body)
        if headers.get("content-encoding") == "gzip":
            body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
        return Response(status, headers, cookies, body)


def location_path(response: Response) -> str:
    location = response.headers.get("location", "")
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


class Recorder:
    """Latency of every request, by step, and every error with its reason."""

    def __init__(self):
        self.latencies: dict[str, list[float]] = {}
        self.first_pages: list[float] = []  # arrival to the first page with its assets, per phone
        self.errors: list[str] = []
        self.completed = 0
        self.requests = 0

    def add(self, step: str, seconds: float):
        self.latencies.setdefault(step, []).append(seconds)
        self.requests += 1

    def all(self) -> list[float]:
        return [x for values in self.latencies.values() for x in values]


async def timed(phone: Phone, recorder: Recorder, step: str, method: str, path: str, form=None,
                expect: tuple[int, ...] = (200,)) -> Response:
    began = time.perf_counter()
    response = await phone.request(method, path, form)
    recorder.add(step, time.perf_counter() - began)
    if response.status not in expect:
        raise HTTPError(f"{step}: HTTP {response.status}")
    return response
