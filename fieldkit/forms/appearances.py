"""XLSForm appearances: what fieldkit does with each, as ODK Collect and Enketo would.

An appearance never refuses a form: Collect and Enketo ignore one they do not know,
and match them case-insensitively (`Field-list` is `field-list`). fieldkit draws the
common ones with JavaScript off; for the others the coordinator is warned at import
of how the question will look instead. The table below is also what the README's
compatibility report says (fieldkit/forms/compat.py).
"""
from __future__ import annotations

import re

from ..messages import N_

SELECTS = ("select_one", "select_multiple", "rank")
CHOICE_LISTS = ("select_one", "select_multiple")
DATES = ("date", "dateTime")
IMAGES = ("image",)
GROUP = ("group", "repeat")

# name -> (the types it is drawn for, or None for any; "shown" as ODK draws it, or
# "different" with how fieldkit shows it instead). Names with a number (columns-3,
# compact-2, w3) are matched by their stem.
KNOWN: dict[str, tuple[tuple[str, ...] | None, str, str]] = {
    "field-list": (GROUP, "shown", N_("the group's questions on one screen")),
    "table-list": (GROUP, "shown", N_("the group's questions, each a row of its answers side by side")),
    "multiline": (("text",), "shown", N_("a text box of several lines")),
    "numbers": (("text",), "shown", N_("a text field with the phone's number keypad")),
    "url": (("text",), "different", N_("a plain text field")),
    "masked": (("text",), "shown", N_("a field whose letters are hidden as they are typed")),
    "minimal": (SELECTS, "shown", N_("a drop-down list (several answers: the list of boxes)")),
    "likert": (CHOICE_LISTS, "shown", N_("the answers in one row, as a scale")),
    "quick": (CHOICE_LISTS, "different", N_("the list; the screen does not move on by itself")),
    "quickcompact": (CHOICE_LISTS, "different", N_("the answers side by side; the screen does not move on by itself")),
    "compact": (CHOICE_LISTS, "shown", N_("the answers side by side")),
    "horizontal": (CHOICE_LISTS, "shown", N_("the answers side by side")),
    "horizontal-compact": (CHOICE_LISTS, "shown", N_("the answers side by side")),
    "columns": (CHOICE_LISTS, "shown", N_("the answers side by side")),
    "columns-pack": (CHOICE_LISTS, "shown", N_("the answers side by side")),
    "no-buttons": (CHOICE_LISTS, "different", N_("the list with its buttons")),
    "label": (CHOICE_LISTS, "shown", N_("the header row of a table of questions")),
    "list-nolabel": (CHOICE_LISTS, "shown", N_("a row of a table of questions")),
    "list": (CHOICE_LISTS, "shown", N_("the list of answers")),
    "autocomplete": (CHOICE_LISTS, "different", N_("the whole list (no search box)")),
    "search": (CHOICE_LISTS, "shown", N_("the choices of the attached CSV file, filtered as search() says")),
    "map": (CHOICE_LISTS, "different", N_("a list: there are no map tiles offline")),
    "image-map": (CHOICE_LISTS, "different", N_("a list of the answers")),
    "no-calendar": (DATES, "shown", N_("a date typed as year-month-day")),
    "month-year": (("date",), "shown", N_("a year and a month, typed")),
    "year": (("date",), "shown", N_("a year, typed")),
    "placement-map": (("geopoint",), "different", N_("latitude and longitude fields: there are no maps offline")),
    "maps": (("geopoint", "geotrace", "geoshape"), "different",
             N_("latitude and longitude fields: there are no maps offline")),
    "signature": (IMAGES, "different", N_("a photo upload: there is no drawing pad without JavaScript")),
    "draw": (IMAGES, "different", N_("a photo upload: there is no drawing pad without JavaScript")),
    "annotate": (IMAGES, "different", N_("a photo upload, with no drawing on it")),
    "new": (("image", "audio", "video"), "shown", N_("the phone's camera or recorder")),
    "new-front": (IMAGES, "shown", N_("the phone's camera")),
    "selfie": (IMAGES, "shown", N_("the phone's camera")),
    "thousands-sep": (("integer", "decimal"), "different", N_("a number without separators")),
    "bearing": (("decimal",), "different", N_("a number field")),
    "counter": (("integer",), "different", N_("a number field")),
    "hidden-answer": (None, "different", N_("the question with its answer")),
    "printer": (("text",), "different", N_("text, with no printing")),
    "vertical": (("range",), "shown", N_("the range's values")),
    "picker": (("range",), "shown", N_("the range's values")),
    "rating": (("range",), "different", N_("the range's values, not stars")),
    "no-ticks": (("range",), "shown", N_("the range's values")),
    # Other calendars: Collect shows the date in them, stores it Gregorian.
    "ethiopian": (DATES, "different", N_("a Gregorian date")),
    "coptic": (DATES, "different", N_("a Gregorian date")),
    "islamic": (DATES, "different", N_("a Gregorian date")),
    "bikram-sambat": (DATES, "different", N_("a Gregorian date")),
    "myanmar": (DATES, "different", N_("a Gregorian date")),
    "persian": (DATES, "different", N_("a Gregorian date")),
    "buddhist": (DATES, "different", N_("a Gregorian date")),
}
# Enketo's grid theme widths (w1 .. w10) and ODK's numbered columns/compact: layout
# hints a phone's one column has no use for, accepted without a word.
SILENT = re.compile(r"w\d+|compact-\d+|ex:.+|rtl|ltr", re.IGNORECASE)
def tokens(value) -> list[str]:
    """'Minimal  quick', 'search("districts")' -> ['minimal', 'quick'], ['search("districts")'];
    names lower-cased, what is in brackets kept as written (spaces and brackets included)."""
    found, current, depth = [], "", 0
    for ch in str(value or "").strip() + " ":
        if ch.isspace() and depth == 0:
            if current:
                name, paren, rest = current.partition("(")
                found.append(name.lower() + paren + rest)
            current = ""
            continue
        depth += (ch == "(") - (ch == ")" and depth > 0)
        current += ch
    return found


def stem(token: str) -> str:
    name = token.split("(")[0]
    if re.fullmatch(r"columns-\d+", name):
        return "columns"
    return name


def judge(token: str, qtype: str) -> tuple[str, str | None]:
    """('shown' | 'silent' | 'different' | 'unknown' | 'other-type', how it is shown)."""
    if SILENT.fullmatch(token):
        return "silent", None
    known = KNOWN.get(stem(token))
    if known is None:
        return "unknown", None
    types, status, how = known
    if types is not None and qtype not in types:
        return "other-type", None
    return status, how


def search_arguments(token: str) -> list[str] | None:
    """search('f', 'matches', 'col', ${q}) -> ["'f'", "'matches'", "'col'", "${q}"] without
    the file's quotes kept on the others: the arguments as written, split on commas outside
    quotes; None when they cannot be read."""
    inside = token[token.index("(") + 1:token.rindex(")")] if token.endswith(")") else None
    if inside is None:
        return None
    parts, current, quote = [], "", ""
    for ch in inside:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == ",":
            parts.append(current.strip())
            current = ""
            continue
        current += ch
    parts.append(current.strip())
    return [p.strip("'\"") if i in (1,) else p for i, p in enumerate(parts)]


def search_file(token: str) -> str | None:
    """search('districts') -> 'districts.csv' (ODK's search() reads an attached CSV)."""
    match = re.fullmatch(r"search\(\s*['\"]([^'\"]+)['\"].*\)", token)
    if not match:
        return None
    name = match.group(1)
    return name if name.lower().endswith(".csv") else f"{name}.csv"
