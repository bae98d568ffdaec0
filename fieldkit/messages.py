"""Translatable messages for the layers that know nothing of Flask.

forms/ and store/ mark their user-facing English text with N_() so that Babel
extracts it; the web layer and the CLI translate it when they show it. A
Message keeps the placeholders apart from the text, so translation happens
before the values are filled in.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


def N_(text: str) -> str:
    """Marks text for extraction; translation happens where it is shown."""
    return text


@dataclass
class Message:
    text: str  # English msgid with %(name)s placeholders
    params: dict = field(default_factory=dict)

    def render(self, gettext: Callable[[str], str] = str) -> str:
        translated = gettext(self.text)
        if not self.params:
            return translated
        # A value {"msgid": ..., "params": {...}} is itself interface text, translated before it is
        # put in (it stays JSON when a message is stored).
        params = {k: Message(v["msgid"], v.get("params") or {}).render(gettext)
                  if isinstance(v, dict) and "msgid" in v else v for k, v in self.params.items()}
        return translated % params

    def __str__(self) -> str:
        return self.render()
