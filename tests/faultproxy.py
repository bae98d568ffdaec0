"""A fault-injecting HTTP proxy for the sync tests: a threading http.server on
127.0.0.1 that forwards to a real central and, for chosen requests, answers
500, answers a captive portal's 200 HTML page, refuses a large batch with 413,
cuts the connection after N bytes of the answer, forwards the request but
drops the answer, or calls back in the middle of forwarding a request (to kill
the central there)."""
from __future__ import annotations

import gzip
import http.client
import json
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}
PORTAL = b"<!doctype html><html><body><h1>Welcome to Hotel WiFi</h1><form>Accept the terms</form></body></html>"


class Fault:
    def __init__(self, action: str, path: str, times: int | None, **options):
        self.action, self.path, self.times, self.options = action, path, times, options


class FaultProxy:
    def __init__(self, target_port: int, tls: ssl.SSLContext | None = None):
        self.target_port = target_port
        self.faults: list[Fault] = []
        self.log: list[tuple[str, str, object]] = []  # (method, path, status or fault)
        self.lock = threading.Lock()
        proxy = self

        class Handler(_Handler):
            owner = proxy

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def add(self, action: str, path: str = "/api/v1/submissions", times: int | None = 1, **options) -> None:
        """Inject `action` into the next `times` requests to path (None: every one)."""
        with self.lock:
            self.faults.append(Fault(action, path, times, **options))

    def clear(self) -> None:
        with self.lock:
            self.faults.clear()

    def take(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if path.startswith(fault.path):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self.faults.remove(fault)
                    return fault
        return None

    def record(self, method: str, path: str, what) -> None:
        with self.lock:
            self.log.append((method, path, what))

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    owner: FaultProxy

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        self.relay()

    def do_POST(self):
        self.relay()

    def do_HEAD(self):  # OpenRosa clients ask HEAD submission first
        self.relay()

    def relay(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        fault = self.owner.take(self.path)
        action = fault.action if fault else "pass"
        if action == "too_large" and batch_size(body, self.headers) <= fault.options["limit"]:
            action = "pass"
        self.owner.record(self.command, self.path, action)
        if action == "500":
            return self.answer(500, "text/plain", b"Internal Server Error")
        if action == "html":
            return self.answer(200, "text/html; charset=utf-8", PORTAL)
        if action == "too_large":  # as nginx's client_max_body_size answers
            return self.answer(413, "text/html", b"<html><body><h1>413 Request Entity Too Large</h1></body></html>")
        if action == "kill":
            return self.kill_midway(body, fault.options["on_kill"])
        if action == "delay":
            time.sleep(fault.options["seconds"])
        status, reason, headers, data = self.forward(body)
        self.owner.record(self.command, self.path, status)
        if action == "drop":  # the central committed and answered; the answer is lost
            self.close_connection = True
            return
        if action == "cut":  # the answer's first bytes arrive, then the line dies
            self.close_connection = True
            self.send_head(status, reason, headers, len(data))
            self.wfile.write(data[:fault.options.get("after", 0)])
            self.wfile.flush()
            return
        self.send_head(status, reason, headers, len(data))
        self.wfile.write(data)

    def forward(self, body: bytes):
        conn = http.client.HTTPConnection("127.0.0.1", self.owner.target_port, timeout=30)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            conn.request(self.command, self.path, body=body or None, headers=headers)
            response = conn.getresponse()
            return response.status, response.reason, response.getheaders(), response.read()
        finally:
            conn.close()

    def kill_midway(self, body: bytes, on_kill) -> None:
        """Send the central the headers and half the batch, then have it killed."""
        with socket.create_connection(("127.0.0.1", self.owner.target_port), timeout=10) as raw:
            head = [f"{self.command} {self.path} HTTP/1.1"] + [f"{k}: {v}" for k, v in self.headers.items()]
            raw.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body[:len(body) // 2])
            on_kill()
        self.close_connection = True

    def send_head(self, status: int, reason: str, headers, length: int) -> None:
        self.send_response_only(status, reason)
        for name, value in headers:
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(length))
        self.end_headers()

    def answer(self, status: int, content_type: str, data: bytes) -> None:
        self.send_head(status, http.client.responses[status], [("Content-Type", content_type)], len(data))
        self.wfile.write(data)


def batch_size(body: bytes, headers) -> int:
    """How many submissions a pushed batch holds."""
    if headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return len(json.loads(body).get("submissions", []))
