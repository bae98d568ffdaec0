"""A small WSGI app behind fieldkit's RSGI bridge, for tests/test_rsgi.py to serve with a real
granian: it echoes what the bridge made of the request, and streams when asked."""
import json
import time

from fieldkit.web.rsgi import Bridge


def wsgi(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/slow":
        time.sleep(1.5)
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])  # no Content-Length: streamed
        return (f"part {i}\n".encode() for i in range(3))
    body = environ["wsgi.input"].read()
    seen = {key: environ.get(key) for key in ("REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "REMOTE_ADDR",
                                               "CONTENT_LENGTH", "CONTENT_TYPE", "HTTP_COOKIE", "HTTP_X_TEST",
                                               "HTTP_TRANSFER_ENCODING", "SERVER_PROTOCOL")}
    seen["body_bytes"] = len(body)
    data = json.dumps(seen).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data))),
                              ("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "b=2; Path=/")])
    return [data]


def app():
    return Bridge(wsgi, threads=8, idle_seconds=2, max_body=1 << 20, per_client=3)
