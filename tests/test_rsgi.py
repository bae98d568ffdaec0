"""web/rsgi.Bridge under a real granian (issue 18): the WSGI environ it builds, streamed and
whole responses, bodies read before a thread takes them, and bodies that stall or overflow."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from test_serve import free_port

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def granian():
    port = free_port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), str(HERE.parent), os.environ.get("PYTHONPATH", "")]))
    process = subprocess.Popen([sys.executable, "-m", "granian", "--interface", "rsgi", "--factory", "--host",
                                "127.0.0.1", "--port", str(port), "--no-ws", "--log-level", "warning",
                                "rsgi_app:app"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(base + "/", timeout=2)
            break
        except requests.ConnectionError:
            assert process.poll() is None and time.monotonic() < deadline, "granian did not start"
            time.sleep(0.1)
    yield base, port
    process.terminate()
    process.wait(timeout=10)


def test_the_environ_is_what_a_wsgi_server_would_make(granian):
    base, _ = granian
    response = requests.post(base + "/f/ca%C3%B1a?x=1&y=%20", data="a=1&b=ñ".encode(), headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-Test": "yes", "Cookie": "s=abc"})
    seen = response.json()
    assert seen["REQUEST_METHOD"] == "POST" and seen["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert seen["PATH_INFO"] == "/f/caña".encode().decode("latin-1")  # PEP 3333: bytes as latin-1
    assert seen["QUERY_STRING"] == "x=1&y=%20"
    assert seen["REMOTE_ADDR"] == "127.0.0.1"  # the laptop-only setup link and rate limits read it
    assert seen["CONTENT_TYPE"] == "application/x-www-form-urlencoded" and seen["HTTP_X_TEST"] == "yes"
    assert seen["CONTENT_LENGTH"] == str(len("a=1&b=ñ".encode())) == str(seen["body_bytes"])
    assert seen["HTTP_COOKIE"] == "s=abc"
    assert response.headers["Content-Length"] == str(len(response.content))
    assert {c.name for c in response.cookies} == {"a", "b"}  # both Set-Cookie lines kept


def test_a_chunked_body_arrives_whole_with_its_length(granian):
    base, _ = granian
    seen = requests.post(base + "/echo", data=(b"x" * 1000 for _ in range(5))).json()
    assert seen["body_bytes"] == 5000 and seen["CONTENT_LENGTH"] == "5000"
    assert seen["HTTP_TRANSFER_ENCODING"] is None  # the app sees a whole body, not a chunked one


def test_a_response_without_a_length_is_streamed(granian):
    base, _ = granian
    response = requests.get(base + "/stream", stream=True)
    assert response.headers.get("Transfer-Encoding") == "chunked"
    assert response.text == "part 0\npart 1\npart 2\n"


def test_a_body_over_the_largest_limit_is_not_read_and_the_app_sees_its_length(granian):
    base, _ = granian
    seen = requests.post(base + "/echo", data=b"x" * (2 << 20)).json()
    assert seen["CONTENT_LENGTH"] == str(2 << 20) and seen["body_bytes"] == 0  # Flask's own check says 413


def test_a_body_that_stops_coming_is_dropped_and_holds_no_thread(granian):
    """Eight threads; ten clients stall mid-body: the others are still answered, and each stalled
    request is given up after idle_seconds (2 s) with a 408."""
    base, port = granian
    stalled = []
    for n in range(10):
        s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(f"127.0.0.{n + 10}", 0))
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
        stalled.append(s)
    try:
        began = time.monotonic()
        assert requests.get(base + "/echo", timeout=5).json()["REQUEST_METHOD"] == "GET"
        assert time.monotonic() - began < 1.5  # not behind the stalled ones
        for s in stalled:
            assert s.recv(100).startswith(b"HTTP/1.1 408")
    finally:
        for s in stalled:
            s.close()


def test_one_device_has_at_most_its_share_of_requests_on_the_way(granian):
    """per_client=3: a fourth request from one address while three are being served is refused at
    once (429); another device is served meanwhile; the device is served again once its own end."""
    from concurrent.futures import ThreadPoolExecutor
    base, port = granian
    with ThreadPoolExecutor(4) as pool:
        slow = [pool.submit(requests.get, base + "/slow", timeout=10) for _ in range(3)]
        time.sleep(0.5)
        assert requests.get(base + "/echo", timeout=5).status_code == 429
        other = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=("127.0.0.9", 0))
        other.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
        assert other.recv(100).startswith(b"HTTP/1.1 200")
        other.close()
        assert [f.result().status_code for f in slow] == [200, 200, 200]
    assert requests.get(base + "/echo", timeout=5).status_code == 200
