"""Files people open in a spreadsheet: CSV and XLSX writing, safe whatever the cells hold.

A cell a spreadsheet would run as a formula (it starts with =, +, -, @, a tab or a carriage return:
OWASP's CSV injection) is written with a leading apostrophe in CSV, and as a plain string, never a
formula, in XLSX; ``unguarded`` removes the apostrophe again when such a file is imported. XLSX has
no room for most control characters (openpyxl refuses them, failing the whole workbook), so each
shows as U+FFFD there.

Imports nothing of adc: the register, the RoPA, the reports and the audit pack all write through it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date
from itertools import chain
from typing import Any, TextIO

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # cells a spreadsheet would run as a formula


def spreadsheet_text(text: str) -> str:
    """Stop a spreadsheet running a cell as a formula (CSV injection); import strips the guard."""
    return "'" + text if text.startswith(FORMULA_START) else text


def unguarded(text: str) -> str:
    """A cell's text without the apostrophe ``spreadsheet_text`` put before it."""
    return text[1:] if len(text) > 1 and text[0] == "'" and text[1] in FORMULA_START else text


def workbook_text(text: str) -> str:
    """Text an XLSX cell can hold: each control character the format cannot shows as U+FFFD."""
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)


def cell_text(value: Any) -> str:
    """A value as a file's cell: empty for None, yes/no (what the register's import reads), ISO 8601
    dates and times, anything else as ``str`` gives it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, date):  # a datetime too
        return value.isoformat()
    return str(value)


def write_csv(out: TextIO, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """``header``, then ``rows`` with every cell as ``cell_text`` gives it and guarded; returns how many
    rows (``rows`` may be a generator: they are written as they come)."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    written = 0
    for row in rows:
        writer.writerow([spreadsheet_text(cell_text(value)) for value in row])
        written += 1
    return written


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """``write_csv`` into a string."""
    out = io.StringIO()
    write_csv(out, header, rows)
    return out.getvalue()


def write_sheet(sheet, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """``header`` (bold), then ``rows``, into an openpyxl worksheet; returns how many rows. Text is
    always a string cell, never a formula, whatever it starts with; dates show as yyyy-mm-dd; other
    values (numbers, None) go in as they are."""
    written = -1  # the header is no row
    for number, row in enumerate(chain([header], rows), start=1):
        for column, value in enumerate(row, start=1):
            text = isinstance(value, str)
            cell = sheet.cell(row=number, column=column, value=workbook_text(value) if text else value)
            if text:
                cell.data_type = "s"
            elif isinstance(value, date):
                cell.number_format = "yyyy-mm-dd"
        written += 1
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    return written
