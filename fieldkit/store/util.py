import datetime as dt
import hashlib


def token_hash(token: str) -> str:
    """What is stored of a secret token (a draft's, a device's, the setup link's): its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


def utcnow() -> str:
    """UTC, ISO 8601, seconds: sorts as text and reads in Excel."""
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
