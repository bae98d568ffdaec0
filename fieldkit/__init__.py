"""fieldkit: an offline-first survey collector for community gatherings.

Importing fieldkit (or fieldkit.forms, fieldkit.store) loads no web library: the
Flask application is made by fieldkit.web.app.create_app, which fieldkit.create_app
names for the commands and tests that want it."""
from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("fieldkit")
except metadata.PackageNotFoundError:  # a checkout that was never installed
    __version__ = "0.0.0+unknown"


def __getattr__(name: str):
    if name == "create_app":  # imported when asked for: the forms and the store never need Flask
        from .web.app import create_app
        return create_app
    raise AttributeError(f"module 'fieldkit' has no attribute {name!r}")
