"""Writing XLSX workbooks with openpyxl, streamed to the caller in chunks.

This module only knows spreadsheets: export.py decides what goes in the cells
(typed values, formula neutralisation); here they become an .xlsx file.

Streaming, and its trade-off: an XLSX file is a zip archive whose directory
comes last, and openpyxl needs a seekable file to save into. So the workbook
is built in write-only mode (each row goes to a temporary file on disk as it
is appended: memory stays flat for 100,000 rows), saved into a
SpooledTemporaryFile (in memory up to SPOOL_BYTES, on disk beyond), then read
back in CHUNK_BYTES pieces. Memory is bounded; the price is that the first
byte leaves only once the whole workbook is built, and that a large export
briefly takes about twice its size in temporary disk space.
"""
from __future__ import annotations

import datetime as dt
import math
import tempfile
from collections.abc import Iterable, Iterator

import re

MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SPOOL_BYTES = 4 * 1024 * 1024
CHUNK_BYTES = 64 * 1024
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
# openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE, copied: openpyxl itself is imported
# only when a workbook is written, not at start-up (a third of a second).
ILLEGAL_CHARACTERS_RE = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")


def printable(text: str) -> str:
    """Drop the control characters XML cannot hold (openpyxl refuses them):
    one pasted by a participant must not break the whole export."""
    return ILLEGAL_CHARACTERS_RE.sub("", text)


def parse_date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def parse_timestamp(value: str) -> dt.datetime | None:
    """An ISO timestamp as a naive UTC datetime (Excel has no time zones)."""
    try:
        moment = dt.datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment


def _cell(ws, value, bold: bool = False):
    """One cell. Text is always stored as text: openpyxl would otherwise take
    a string starting with '=' for a formula."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    if value is None or value == "":
        return None  # an empty cell, not an empty string
    if isinstance(value, bool):
        value = str(value).lower()
    if isinstance(value, float) and not math.isfinite(value):
        value = str(value)
    if isinstance(value, str):
        cell = WriteOnlyCell(ws, value=printable(value))
        cell.data_type = "s"
    else:
        cell = WriteOnlyCell(ws, value=value)
        if isinstance(value, dt.datetime):
            cell.number_format = DATETIME_FORMAT
        elif isinstance(value, dt.date):
            cell.number_format = DATE_FORMAT
    if bold:
        cell.font = Font(bold=True)
    return cell


def _write(wb, sheets: dict[str, Iterable[list]]) -> None:
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        ws.freeze_panes = "A2"  # the header stays in view; set before the first row in write-only mode
        for i, row in enumerate(rows):
            ws.append([_cell(ws, value, bold=i == 0) for value in row])


def stream_workbook(sheets: dict[str, Iterable[list]]) -> Iterator[bytes]:
    """An .xlsx file, one sheet per entry (title -> rows, the first row a header),
    yielded in chunks. Values: None, str, int, float, date or datetime."""
    from openpyxl import Workbook
    wb = Workbook(write_only=True)
    _write(wb, sheets)
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        wb.save(spool)
        spool.seek(0)
        while chunk := spool.read(CHUNK_BYTES):
            yield chunk
