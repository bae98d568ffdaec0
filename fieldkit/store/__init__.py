"""Storage: every SQL statement fieldkit runs lives in this package.

Functions take a Database (store/db.py: SQLite or PostgreSQL, the same code for
both) and plain values, never a request, and are named for what they mean
(add_submission, unsynced, ...).
"""
from . import attachments, audit, events, forms, meta, submissions, users  # noqa: F401
from .db import Database, Store, connect, write  # noqa: F401
