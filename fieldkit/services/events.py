"""Events (gatherings): the use cases the console runs, each in the activity log."""
from __future__ import annotations

from ..store import audit, events as event_store


def create(db, values: dict, forms: list[str], help: list[dict] | None, actor: str | None) -> dict:
    event = event_store.add_event(db, values, forms, help=help)
    audit.record(db, actor, "event.created", event=event["code"], name=event["name"])
    return event


def update(db, event: dict, values: dict, forms: list[str], actor: str | None) -> None:
    event_store.update_event(db, event["id"], values, forms)
    audit.record(db, actor, "event.changed", event=event["code"])


def set_help(db, event: dict, resources: list[dict], actor: str | None, added: str | None = None,
             removed: str | None = None) -> None:
    """The event's help resources, one added or removed (named in the log)."""
    event_store.set_help(db, event["id"], resources)
    if added is not None:
        audit.record(db, actor, "event.help_added", event=event["code"], name=added)
    if removed is not None:
        audit.record(db, actor, "event.help_removed", event=event["code"], name=removed)
