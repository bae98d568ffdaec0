"""Configuration: defaults < environment (FIELDKIT_*) < the test's or caller's dict."""
from __future__ import annotations

import os
from pathlib import Path

import platformdirs

DEFAULTS = {
    "DATA_DIR": None,
    # The database (FIELDKIT_DATABASE_URL): sqlite:///PATH or postgresql://...; None: fieldkit.db in DATA_DIR.
    "DATABASE_URL": None,
    # A read replica of it (FIELDKIT_READ_DATABASE_URL) for the Results page and exports' rows; None: the database.
    "READ_DATABASE_URL": None,
    "LANGUAGES": ["en", "es", "so", "am"],  # the interface's own translations
    "MAX_CONTENT_LENGTH": 8 * 1024 * 1024,  # form uploads (console)
    "COLLECT_MAX_BODY": 64 * 1024,  # one screen of answers is a few KB at most
    "OPENROSA_MAX_BODY": 20 * 1024 * 1024,  # one POST from ODK Collect: it splits a larger submission
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Strict",
    "WTF_CSRF_TIME_LIMIT": None,  # a participant may take an hour; the token lives as long as the session
    "WTF_CSRF_SSL_STRICT": False,  # plain http on a venue's wifi has no Referer to check against
    "LOAD_DEMO": True,
    # Per client, in memory only: the counters never reach a disk or a log.
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_STORAGE_URI": "memory://",
    "COLLECT_RATE_LIMIT": "60 per minute",  # a participant posts a screen every few seconds at most
    "SUBMIT_RATE_LIMIT": "10 per minute",
    "SIGNIN_RATE_LIMIT": "10 per minute",
    "SMALL_COUNT": 5,
    "FONTS_IN_BACKGROUND": True,
    # Behind a reverse proxy (a central): how many proxies to believe about the
    # client's address (X-Forwarded-For). 0: the connection's own address.
    "TRUSTED_PROXIES": 0,
    # `fieldkit serve`: connections one address may hold at once (a phone's browser opens about 6);
    # not applied behind a reverse proxy, where every client is the proxy's address.
    "MAX_CONNECTIONS_PER_CLIENT": 50,
    "HEADER_SECONDS": 20,  # a request's headers must have arrived within this (slow-header clients)
    # `fieldkit serve`: a connection that has sent nothing for this long is closed (a phone
    # between screens opens a new one), and how many connections it holds at once, per process.
    "IDLE_SECONDS": 60,
    "MAX_CONNECTIONS": 1000,
    "DB_POOL": 0,  # open connections kept between requests; 0: one per request (`fieldkit serve`: its threads)
}
BOOLEANS = {"true": True, "yes": True, "1": True, "on": True, "false": False, "no": False, "0": False, "off": False}


def default_data_dir() -> Path:
    return Path(os.environ.get("FIELDKIT_DATA") or platformdirs.user_data_dir("fieldkit", appauthor=False))


def load(overrides: dict | None = None) -> dict:
    config = dict(DEFAULTS)
    for key, value in os.environ.items():
        if key.startswith("FIELDKIT_") and key != "FIELDKIT_DATA":
            name = key.removeprefix("FIELDKIT_")
            if isinstance(DEFAULTS.get(name), bool):
                value = BOOLEANS.get(value.strip().lower(), DEFAULTS[name])
            elif isinstance(DEFAULTS.get(name), int):
                value = int(value) if value.strip().isdigit() else DEFAULTS[name]
            config[name] = value
    config.update(overrides or {})
    config["DATA_DIR"] = Path(config["DATA_DIR"] or default_data_dir())
    return config


def prepare_data_dir(path: Path) -> Path:
    """Create the data directory readable by its owner only."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path
