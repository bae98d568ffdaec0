"""Help resources: who a participant can call, shown the same way to everyone."""
from __future__ import annotations

from ..messages import N_
from ..store import events as event_store

# The example entry every new event starts with; coordinators add their local services.
HOTLINE = {
    "name": N_("National Domestic Violence Hotline"),
    "phone": "1-800-799-7233",
    "text": N_("Free and confidential, 24 hours a day, in many languages. TTY 1-800-787-3224. "
               "Or text START to 88788."),
}


def example_resources(translate) -> list[dict]:
    """The hotline, its text in each interface language: translate(code, text) -> text."""
    languages = ("en", "es", "so", "am")
    return [{"name": {c: translate(c, HOTLINE["name"]) for c in languages}, "phone": HOTLINE["phone"],
             "text": {c: translate(c, HOTLINE["text"]) for c in languages}}]


def in_language(resource: dict, lang: str) -> dict:
    def pick(value):
        if isinstance(value, dict):
            return value.get(lang) or value.get("en") or next(iter(value.values()), "")
        return value or ""
    return {"name": pick(resource.get("name")), "phone": pick(resource.get("phone")),
            "text": pick(resource.get("text"))}


def for_event(db, event_id: int | None, lang: str, translate) -> list[dict]:
    """An event's resources in the participant's language; the hotline where
    there is no event. translate(text) gives the interface's own translation."""
    event = event_store.get_event(db, event_id) if event_id else None
    if event is None or event.get("help") is None:
        return [{"name": translate(HOTLINE["name"]), "phone": HOTLINE["phone"], "text": translate(HOTLINE["text"])}]
    return [in_language(r, lang) for r in event["help"]]
