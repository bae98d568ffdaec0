"""The ceiling: Flask's "hello world" on waitress, with the same thread count as
`fieldkit serve`. Started by the benchmarks on a loopback port; not part of
fieldkit (the product has no hello route)."""
import argparse

import waitress
from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello, World!"


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    # 127.0.0.1 only: benchmarks never listen on another address.
    waitress.serve(app, host="127.0.0.1", port=args.port, threads=args.threads, ident="hello", _quiet=True)
