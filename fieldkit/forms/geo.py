"""Locations typed by hand, stored as ODK stores them.

A geopoint is "lat lon alt acc" (degrees, metres); a geotrace or geoshape is its
points joined by ";", a shape closed (its last point is its first), as ODK Collect
and Enketo write them. A phone on the event's Wi-Fi has no map tiles and, over plain
http, no access to its GPS: the participant (or an interviewer) types the numbers,
one point a line for a trace or a shape.
"""
from __future__ import annotations

import math
import re

from ..messages import Message, N_

NUMBER = re.compile(r"[+-]?(?:\d{1,4}(?:[.,]\d{0,12})?|[.,]\d{1,12})")
MAX_POINTS = 500


def _number(text: str) -> float | None:
    text = text.strip()
    if not NUMBER.fullmatch(text):
        return None
    value = float(text.replace(",", "."))
    return value if math.isfinite(value) else None


def _fmt(value: float) -> str:
    text = f"{value:.7f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def point(parts: list[str]) -> str | Message:
    """[lat, lon, alt, acc] as posted -> 'lat lon alt acc'; '' when all are empty."""
    parts = (list(parts) + ["", "", "", ""])[:4]
    if not any(p.strip() for p in parts):
        return ""
    lat, lon = _number(parts[0]), _number(parts[1])
    alt = _number(parts[2]) if parts[2].strip() else 0.0
    acc = _number(parts[3]) if parts[3].strip() else 0.0
    if lat is None or lon is None or not -90 <= lat <= 90 or not -180 <= lon <= 180:
        return Message(N_("Please enter a latitude from -90 to 90 and a longitude from -180 to 180, "
                          "like 9.0301 and 38.7408."))
    if alt is None or acc is None or acc < 0:
        return Message(N_("Please enter the altitude and accuracy in metres, or leave them empty."))
    return " ".join(_fmt(v) for v in (lat, lon, alt, acc))


def points(text: str, shape: bool) -> str | Message:
    """Lines of 'lat lon [alt acc]' (or ODK's 'a b c d;e f g h') -> ODK's text."""
    lines = [line for line in re.split(r"[;\n]+", text.replace("\r", "")) if line.strip()]
    if not lines:
        return ""
    if len(lines) > MAX_POINTS:
        return Message(N_("Please enter at most %(max)s points."), {"max": MAX_POINTS})
    out = []
    for line in lines:
        found = point(re.split(r"[\s]+", line.strip().replace(", ", " ")))
        if isinstance(found, Message) or not found:
            return Message(N_("Please enter one point a line, as latitude and longitude, like 9.0301 38.7408."))
        out.append(found)
    if shape and len(out) >= 2 and out[0].split()[:2] != out[-1].split()[:2]:
        out.append(out[0])  # ODK's shapes are closed
    least = 4 if shape else 2
    if len(out) < least:
        return Message(N_("Please enter at least %(n)s points.") if not shape else
                       N_("Please enter at least 3 points for an area."), {"n": least})
    return ";".join(out)


def parts_of(value: str) -> list[str]:
    """A stored geopoint as the four fields that show it."""
    return (value.split() + ["", "", "", ""])[:4] if value else ["", "", "", ""]


def lines_of(value: str) -> str:
    """A stored trace or shape as the lines of its text box."""
    return "\n".join(p.strip() for p in value.split(";") if p.strip())
