import datetime as dt


def utcnow() -> str:
    """UTC, ISO 8601, seconds: sorts as text and reads in Excel."""
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
