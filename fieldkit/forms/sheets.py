"""Reading an XLSForm's sheets where pyxform's tree does not say enough: sheet rows for
messages, the external_choices sheet, body:: columns, and begin loop expanded into groups."""
from __future__ import annotations

import re

from ..messages import Message, N_
from .problems import Problem


def row_numbers(survey: list[dict]) -> dict[str, int]:
    # pyxform keeps blank rows in place, so list index + 2 is the sheet row.
    rows: dict[str, int] = {}
    for i, r in enumerate(survey):
        if r.get("name"):
            rows.setdefault(str(r["name"]).strip(), i + 2)
    return rows


def every_row(survey: list[dict]) -> dict[str, list[int]]:
    """Each name's rows in sheet order: a name ODK allows in two groups has two."""
    rows: dict[str, list[int]] = {}
    for i, r in enumerate(survey):
        if r.get("name"):
            rows.setdefault(str(r["name"]).strip(), []).append(i + 2)
    return rows


def written_types(survey: list[dict]) -> dict[str, str]:
    return {r["name"]: str(r.get("type") or "").strip() for r in survey if r.get("name")}


def external_choices(rows: list[dict]) -> dict[str, list[dict]]:
    """The external_choices sheet (select_one_external's lists), as pyxform's choices."""
    lists: dict[str, list[dict]] = {}
    for row in rows:
        list_name = str(row.get("list_name") or row.get("list name") or "").strip()
        if list_name and row.get("name") not in (None, ""):
            item = {k: v for k, v in row.items() if k not in ("list_name", "list name") and v not in (None, "")}
            if any(k.startswith("label") for k in item):
                labels = {k.partition("::")[2].strip() or "default": str(v) for k, v in item.items()
                          if k.split("::")[0].strip() == "label"}
                item = {k: v for k, v in item.items() if k.split("::")[0].strip() != "label"}
                item["label"] = labels["default"] if list(labels) == ["default"] else labels
            lists.setdefault(list_name, []).append(item)
    return lists


def check_columns(survey: list[dict], noticed: list[Problem], sheet: str = "survey") -> None:
    """Columns fieldkit leaves aside: told once each (with the first row), never refused."""
    told: set[str] = set()
    for i, row in enumerate(survey):
        for column, value in row.items():
            base = column.split("::")[0].strip().lower()
            if value in (None, "") or base != "body" or column in told:
                continue
            if column.split("::")[-1].strip().lower() == "accept" and sheet == "survey":
                continue  # the file types an upload takes: used
            told.add(column)
            # Problem() itself: problem()'s own 'column' argument would clash with the placeholder.
            noticed.append(Problem(Message(N_("The column %(column)s is for other clients' XForms: fieldkit "
                                              "leaves it aside."), {"column": column}), sheet, i + 2, column))


def loop_groups(el: dict) -> list[dict]:
    """begin loop over a list: a group per choice, as pyxform's XForm has it. Each
    copy's questions are named <question>_<choice>, and ${question} inside the loop
    means the same choice's copy; %(label)s in a label is the choice's label."""
    inner = {child.get("name") for child in el.get("children", [])}

    def renamed(value, suffix: str, labels):
        if isinstance(value, dict):
            return {k: renamed(v, suffix, labels.get(k, labels.get("default", "")) if isinstance(labels, dict)
                               else labels) for k, v in value.items()}
        if isinstance(value, list):
            return [renamed(v, suffix, labels) for v in value]
        if not isinstance(value, str):
            return value
        value = re.sub(r"\$\{([^}]+)\}", lambda m: f"${{{m.group(1)}_{suffix}}}" if m.group(1) in inner else m.group(0),
                       value)
        label = labels if isinstance(labels, str) else next(iter(labels.values()), "") if labels else ""
        return value.replace("%(label)s", label)

    groups = []
    for choice in el.get("columns", []):
        suffix, labels = str(choice["name"]), choice.get("label") or str(choice["name"])
        children = []
        for child in el.get("children", []):
            copy = {k: (v if k in ("type", "name", "list_name", "itemset", "choices") else renamed(v, suffix, labels))
                    for k, v in child.items()}
            copy["name"] = f"{child.get('name')}_{suffix}"
            children.append(copy)
        groups.append({"type": "group", "name": f"{el.get('name')}_{suffix}", "children": children,
                       "label": renamed(el.get("label"), suffix, labels) if el.get("label") else labels,
                       **({"bind": el["bind"]} if el.get("bind") else {})})
    return groups
