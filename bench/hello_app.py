"""The ceiling: Flask's "hello world" on waitress, with the same thread count as
`fieldkit serve`. Started by the benchmarks on a loopback port; not part of
fieldkit (the product has no hello route)."""
import argparse
import logging
import time

import waitress
from flask import Flask

app = Flask(__name__)


class OncePerMinute(logging.Filter):
    last = None

    def filter(self, record):
        now = time.monotonic()
        if self.last is not None and now - self.last < 60:
            return False
        self.last = now
        return True


@app.route("/", methods=["GET", "POST"])
@app.route("/<path:anywhere>", methods=["GET", "POST"])
def hello(anywhere=""):
    return "Hello, World!"


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--connection-limit", type=int, default=1000)
    parser.add_argument("--idle", type=int, default=60, help="waitress's channel_timeout, as serve's IDLE_SECONDS")
    args = parser.parse_args()
    # As `fieldkit serve` does (fieldkit/cli.py, QueueNotice): waitress's "Task queue
    # depth is N", written for every request that waits for a thread, at most once
    # a minute, so that the ceiling is not slowed by a flood of log lines either.
    logging.getLogger("waitress.queue").addFilter(OncePerMinute())
    # 127.0.0.1 only: benchmarks never listen on another address.
    # The connection settings `fieldkit serve` gives waitress (fieldkit/cli.py), so that a crowd
    # of phones keeping their connections open meets the same limits on both.
    waitress.serve(app, host="127.0.0.1", port=args.port, threads=args.threads, ident="hello", _quiet=True,
                   connection_limit=args.connection_limit, asyncore_use_poll=True, channel_timeout=args.idle,
                   cleanup_interval=min(5, args.idle))
