"""What is wrong with a form (refused) or worth knowing (a warning): each names its
sheet, row and column, and translates where it is shown."""
from __future__ import annotations

from dataclasses import dataclass

from ..messages import Message


@dataclass
class Problem:
    message: Message
    sheet: str | None = None
    row: int | None = None
    column: str | None = None

    def to_dict(self) -> dict:
        return {"text": self.message.text, "params": self.message.params, "sheet": self.sheet,
                "row": self.row, "column": self.column}

    @classmethod
    def from_dict(cls, data: dict) -> Problem:
        return cls(Message(data["text"], data.get("params") or {}), data.get("sheet"), data.get("row"),
                   data.get("column"))

    def render(self, gettext=str) -> str:
        where = []
        if self.sheet:
            where.append(gettext("sheet %(sheet)s") % {"sheet": self.sheet})
        if self.row:
            where.append(gettext("row %(row)s") % {"row": self.row})
        if self.column:
            where.append(gettext("column %(column)s") % {"column": self.column})
        text = self.message.render(gettext)
        return f"{', '.join(where)}: {text}" if where else text


class FormImportError(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(p.render() for p in problems))
        self.problems = problems


def problem(text: str, sheet=None, row=None, column=None, **params) -> Problem:
    return Problem(Message(text, params), sheet, row, column)
