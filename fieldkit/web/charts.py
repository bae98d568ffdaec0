"""Charts drawn on the server as inline SVG: no chart library, works offline.

Every text put into the SVG passes through escape() here, because labels come
from uploaded forms and may contain markup. No style attributes (the
Content-Security-Policy forbids them): presentation attributes and CSS classes only.
Text sizes are in viewBox units, so a chart scales as one picture on a laptop or
a projector; the HTML table beside it carries the same numbers for screen readers.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 640
LABEL_WIDTH = 230  # the label column; the bar starts after a small gap
BAR_X, BAR_WIDTH = 240, 270
VALUE_X = BAR_X + BAR_WIDTH + 8
FONT = 14
LINE = 17
PAD = 8
MAX_LINES = 2
BAR_FILL, TRACK_FILL = "#1d4e5f", "#e3ecef"


@dataclass
class Bar:
    label: str
    value_text: str
    fraction: float | None  # 0..1 of the bar's full width; None draws no bar (a suppressed count)


def char_width(ch: str) -> float:
    """A rough advance in ems: Ethiopic and wide scripts near a full em, Latin about half."""
    if "\u1200" <= ch <= "\u139f" or "\u2d80" <= ch <= "\u2ddf" or "\uab00" <= ch <= "\uab2f":
        return 0.95
    if unicodedata.east_asian_width(ch) in "WF":
        return 1.0
    if unicodedata.combining(ch):
        return 0.0
    return 0.3 if ch in " il.,:;'|!" else 0.58


def text_width(text: str) -> float:
    return sum(char_width(c) for c in text) * FONT


def wrap(text: str, width: float = LABEL_WIDTH, max_lines: int = MAX_LINES) -> tuple[list[str], bool]:
    """Break at spaces to fit width; a word too long is cut. Returns (lines, shortened)."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if text_width(candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = word
        while text_width(current) > width:  # one word wider than the column
            cut = fit(current, width)
            lines.append(current[:cut])
            current = current[cut:]
    if current:
        lines.append(current)
    if len(lines) <= max_lines:
        return lines or [""], False
    last = lines[max_lines - 1]
    last = last[:fit(last + "…", width) - 1].rstrip() + "…"
    return lines[:max_lines - 1] + [last], True


def fit(text: str, width: float) -> int:
    """How many leading characters of text fit in width (at least one)."""
    used = 0.0
    for i, ch in enumerate(text):
        used += char_width(ch) * FONT
        if used > width:
            return max(i, 1)
    return len(text)


def _row(bar: Bar, top: float) -> tuple[str, float]:
    lines, shortened = wrap(bar.label)
    height = max(len(lines) * LINE, LINE) + PAD
    middle = top + height / 2
    first = middle - (len(lines) - 1) * LINE / 2 + FONT * 0.35  # 0.35em: baseline of a centred line
    spans = "".join(f'<tspan x="0" y="{first + i * LINE:.1f}">{escape(line)}</tspan>' for i, line in enumerate(lines))
    tip = f"<title>{escape(bar.label)}</title>" if shortened else ""
    parts = [f'<g class="chart-row">{tip}<text font-size="{FONT}" fill="currentColor">{spans}</text>']
    if bar.fraction is not None:
        y = middle - 7
        length = max(0.0, min(1.0, bar.fraction)) * BAR_WIDTH
        parts.append(f'<rect x="{BAR_X}" y="{y:.1f}" width="{BAR_WIDTH}" height="14" fill="{TRACK_FILL}"/>')
        parts.append(f'<rect x="{BAR_X}" y="{y:.1f}" width="{length:.1f}" height="14" fill="{BAR_FILL}"/>')
        value_x = VALUE_X
    else:
        value_x = BAR_X  # no bar at all: the "<5" text stands where the bar would start
    parts.append(f'<text x="{value_x}" y="{middle + FONT * 0.35:.1f}" font-size="{FONT}" '
                 f'fill="currentColor">{escape(bar.value_text)}</text></g>')
    return "".join(parts), height


def bar_chart(chart_id: str, title: str, bars: list[Bar]) -> Markup:
    """A horizontal bar chart: label, bar (share of the full width), value text."""
    rows, top = [], 0.0
    for bar in bars:
        svg, height = _row(bar, top)
        rows.append(svg)
        top += height
    height = max(top, LINE)
    ident = escape(chart_id)
    return Markup(
        f'<svg class="chart" role="img" aria-labelledby="{ident}-title" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {WIDTH} {height:.0f}" width="{WIDTH}" height="{height:.0f}" '
        f'preserveAspectRatio="xMinYMin meet">'
        f'<title id="{ident}-title">{escape(title)}</title>{"".join(rows)}</svg>')
