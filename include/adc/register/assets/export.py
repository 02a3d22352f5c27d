"""Exporting the register: CSV and XLSX in the import file's columns (so export -> import round-trips),
and JSON. An export holds the assets its ``visible`` condition keeps (adc.visibility.assets for a
person's view; by default everything)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from openpyxl import Workbook
from sqlalchemy import ColumnElement, Engine

from adc import tabular
from adc.errors import AdcError
from adc.register.assets.columns import COLUMNS, LOCATION_SEPARATOR, Column
from adc.register.assets.store import all_assets
from adc.register.store import EVERYTHING

Records = list[dict[str, Any]]  # assets as ``all_assets`` gives them


def _cell(col: Column, value: Any, record: Mapping[str, Any]) -> str:
    if col.kind == "locations":
        return f"{LOCATION_SEPARATOR} ".join(record["locations"])
    return tabular.cell_text(value)


def rows_of(records: Iterable[Mapping[str, Any]]) -> list[list[str]]:
    """Assets (as ``all_assets`` gives them) as rows of cells, header first (the audit pack's register
    as of a date goes through here too, so it reads exactly like an export)."""
    rows = [[c.name for c in COLUMNS]]
    for record in records:
        rows.append([_cell(c, record.get(c.column), record) for c in COLUMNS])
    return rows


def write_csv(records: Records, out: TextIO) -> int:
    return write_csv_rows(rows_of(records), out)


def write_csv_rows(rows: list[list[str]], out: TextIO) -> int:
    """Rows from ``rows_of`` as the register's CSV; returns the number of assets."""
    return tabular.write_csv(out, rows[0], rows[1:])


def write_xlsx(records: Records, out: BinaryIO | str | Path) -> int:
    rows = rows_of(records)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Register"
    written = tabular.write_sheet(sheet, rows[0], rows[1:])
    sheet.freeze_panes = "B2"
    workbook.save(out)
    return written


def write_json(records: Records, out: TextIO) -> int:
    json.dump([{k: (v.isoformat() if isinstance(v, (date, datetime)) else v) for k, v in r.items()}
               for r in records], out, indent=2)
    out.write("\n")
    return len(records)


EXPORTERS: dict[str, Callable[[Records, Any], int]] = {"csv": write_csv, "xlsx": write_xlsx, "json": write_json}


def export(engine: Engine, fmt: str, out: TextIO | BinaryIO | str | Path, *,
           visible: ColumnElement[bool] = EVERYTHING) -> int:
    """Write the assets ``visible`` keeps in ``fmt`` (csv, xlsx, json) to ``out``; returns their number."""
    if fmt not in EXPORTERS:
        raise AdcError(f"unknown export format {fmt!r} (use {', '.join(EXPORTERS)})")
    with engine.connect() as conn:
        records = all_assets(conn, visible=visible)
    return EXPORTERS[fmt](records, out)


def export_text(engine: Engine, fmt: str = "csv", *, visible: ColumnElement[bool] = EVERYTHING) -> str:
    buffer = io.StringIO()
    export(engine, fmt, buffer, visible=visible)
    return buffer.getvalue()
