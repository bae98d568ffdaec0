"""Storage: every SQL statement fieldkit runs lives in this package.

Functions take a sqlite_utils.Database and plain values, never a request, and
are named for what they mean (add_submission, unsynced, ...), so a second
backend can implement the same contract.
"""
from . import attachments, audit, events, forms, meta, submissions, users  # noqa: F401
from .db import connect, write  # noqa: F401
