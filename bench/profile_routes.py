"""Per-request CPU of the participant routes, in process, without a server:
the WSGI app called directly (as waitress would), so what is timed is Flask,
its extensions and fieldkit, not the network or the load generator.

    python bench/profile_routes.py                 # ms per request for each route
    python bench/profile_routes.py --cprofile q    # and a cProfile of one route (start, q, answer)

Not part of `bench/run.py`: a tool for finding where a request's time goes."""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_app(data: Path):
    from fieldkit import create_app
    return create_app({"DATA_DIR": data, "DB_POOL": 8, "RATELIMIT_ENABLED": False, "FONTS_IN_BACKGROUND": False})


def parked(app):
    """A participant's cookie and CSRF token, parked on the first screen."""
    client = app.test_client()
    page = client.get("/f/wellbeing", headers={"Accept-Language": "en"})
    csrf = CSRF.search(page.get_data(as_text=True)).group(1)
    client.post("/f/wellbeing/start", data={"lang": "en", "csrf_token": csrf})
    client.post("/f/wellbeing/consent", data={"consent": "yes", "csrf_token": csrf})
    page = client.get("/f/wellbeing/q")
    csrf = CSRF.search(page.get_data(as_text=True)).group(1)
    cookie = client.get_cookie("session").value
    return cookie, csrf


def environ(path, method="GET", cookie=None, body=b""):
    import io as _io
    env = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
           "SERVER_PORT": "8080", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
           "wsgi.url_scheme": "http", "wsgi.input": _io.BytesIO(body), "wsgi.errors": sys.stderr,
           "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False, "wsgi.version": (1, 0),
           "HTTP_HOST": "127.0.0.1:8080", "HTTP_ACCEPT_ENCODING": "gzip",
           "HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9", "HTTP_USER_AGENT": "bench"}
    if cookie:
        env["HTTP_COOKIE"] = f"session={cookie}"
    if body:
        env["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
        env["CONTENT_LENGTH"] = str(len(body))
    return env


def call(app, env):
    status = []
    body = b"".join(app.wsgi_app(env, lambda s, h, e=None: status.append(s)))
    return status[0], body


def routes(app, cookie, csrf):
    body = f"csrf_token={csrf}&_screen=0&_action=next&age_band=age_16_24&household_size=3".encode()
    return {
        "start": lambda: environ("/f/wellbeing"),
        "q": lambda: environ("/f/wellbeing/q", cookie=cookie),
        "answer": lambda: environ("/f/wellbeing/q", "POST", cookie, body),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cprofile", choices=["start", "q", "answer"])
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--lines", type=int, default=45)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(Path(tmp))
        cookie, csrf = parked(app)
        table = routes(app, cookie, csrf)
        for name, make in table.items():
            for _ in range(20):  # warm: templates compiled, caches filled
                status, _ = call(app, make())
            rounds = []
            for _ in range(args.rounds):  # CPU time of this thread, best round: others share the machine
                started = time.thread_time()
                for _ in range(args.n):
                    call(app, make())
                rounds.append((time.thread_time() - started) * 1000 / args.n)
            print(f"{name:8} {status:18} {min(rounds):6.2f} ms/request (CPU, best of {args.rounds} rounds of "
                  f"{args.n}; median {sorted(rounds)[len(rounds) // 2]:.2f})")
        if args.cprofile:
            make = table[args.cprofile]
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(args.n):
                call(app, make())
            profile.disable()
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats(args.sort).print_stats(args.lines)
            print(out.getvalue())


if __name__ == "__main__":
    main()
