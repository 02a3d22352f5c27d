"""The RoPA in the ICO controller template's layout (XLSX, CSV), and importing it back.

XLSX: sheet 'Template' holds exactly the ICO headings, columns A..AD in the template's order, one
row per activity, so a DPO can put it beside the ICO template; sheet 'ADC' holds, row for row,
what ADC adds (activity id, owner, organisation, review dates, status, linked assets). CSV: the ICO
headings exactly; with ``adc_columns`` ADC's columns follow column AD, which makes the file importable.
The organisation is one of ADC's columns, never inside the ICO template, whose layout stays the ICO's.

Import is all or nothing: every row is validated first and every problem is reported with its
row and column heading (an organisation must be in organisations.yaml); only a file without problems
is applied, in one transaction, with history.
Cells that a spreadsheet would run as a formula are exported with a leading apostrophe (CSV) or as
plain strings (XLSX), and that apostrophe is removed again on import.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment
from pydantic import ValidationError
from sqlalchemy import Engine, select

from adc import tabular
from adc.errors import ConfigError, ImportFileError
from adc.organisations import load_organisations
from adc.ropa import activities
from adc.ropa.tables import ICO_HEADINGS, ICO_TEMPLATE, review

SHEET = "Template"
ADC_SHEET = "ADC"
ADC_COLUMNS: tuple[tuple[str, str], ...] = (
    ("activity_id", "Activity ID"),
    ("name", "Activity name"),
    ("owner", "Owner"),
    ("organisation", "Organisation"),
    ("review_frequency_months", "Review frequency (months)"),
    ("response_time", "Response time"),
    ("last_reviewed", "Last reviewed"),
    ("next_review_due", "Next review due"),
    ("status", "Status"),
    ("approved_by", "Approved by"),
    ("linked_assets", "Linked assets"),
)
FIELD_OF_HEADING = {heading: name for _, name, heading in ICO_TEMPLATE} | {h: n for n, h in ADC_COLUMNS}
HEADING_OF_FIELD = {name: heading for heading, name in FIELD_OF_HEADING.items()}
REQUIRED = ("Activity ID", "Activity name", "Owner")
_UK_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


# --------------------------------------------------------------------------- export


def _cell(activity: dict[str, Any], field: str) -> Any:
    value = activity.get(field)
    if field == "linked_assets":
        return ", ".join(value or [])
    return value


def rows(records: list[dict[str, Any]], *, adc_columns: bool) -> tuple[list[str], list[list[Any]]]:
    """Headings and rows: the ICO columns, then (optionally) ADC's."""
    fields = [name for _, name, _ in ICO_TEMPLATE] + ([n for n, _ in ADC_COLUMNS] if adc_columns else [])
    headings = list(ICO_HEADINGS) + ([h for _, h in ADC_COLUMNS] if adc_columns else [])
    return headings, [[_cell(a, f) for f in fields] for a in records]


def to_csv(records: list[dict[str, Any]], *, adc_columns: bool = False) -> str:
    return tabular.csv_text(*rows(records, adc_columns=adc_columns))


def to_xlsx(records: list[dict[str, Any]], path: Path | BinaryIO) -> None:
    workbook = Workbook()
    template = workbook.active
    template.title = SHEET
    _write_sheet(template, *rows(records, adc_columns=False))
    fields = [n for n, _ in ADC_COLUMNS]
    _write_sheet(workbook.create_sheet(ADC_SHEET), [h for _, h in ADC_COLUMNS],
                 [[_cell(a, f) for f in fields] for a in records])
    workbook.save(path)


def _write_sheet(sheet, headings: list[str], data: list[list[Any]]) -> None:
    tabular.write_sheet(sheet, headings, data)
    for cell in sheet[1]:
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for index, heading in enumerate(headings, start=1):
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = min(60, max(14, len(heading)))
    sheet.freeze_panes = "A2"


# --------------------------------------------------------------------------- import


def read_table(path: Path) -> list[tuple[str, int, dict[str, Any]]]:
    """(where, row number, {heading: value}) for every data row of a CSV or XLSX file."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path)
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    raise ImportFileError(str(path), [f"unsupported file type {suffix or '(none)'}: use .csv or .xlsx"])


def _read_csv(path: Path) -> list[tuple[str, int, dict[str, Any]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ImportFileError(str(path), ["file not found"]) from None
    except UnicodeDecodeError as exc:
        raise ImportFileError(str(path), [f"not UTF-8 text (byte {exc.start}); save the CSV as UTF-8"]) from None
    reader = csv.reader(io.StringIO(text))
    table = list(reader)
    if not table:
        raise ImportFileError(str(path), ["the file is empty"])
    headings = [h.strip() for h in table[0]]
    _check_headings(path, headings)
    long_rows = [f"row {n}: {len(v)} cells but {len(headings)} headings" for n, v in enumerate(table[1:], start=2)
                 if len(v) > len(headings) and any(c.strip() for c in v[len(headings):])]
    if long_rows:
        raise ImportFileError(str(path), long_rows)
    return [("row", number, dict(zip(headings, values, strict=False)))
            for number, values in enumerate(table[1:], start=2) if any(v.strip() for v in values)]


def _read_xlsx(path: Path) -> list[tuple[str, int, dict[str, Any]]]:
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except FileNotFoundError:
        raise ImportFileError(str(path), ["file not found"]) from None
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a file that is not a workbook
        raise ImportFileError(str(path), [f"not a readable XLSX workbook: {exc}"]) from None
    if SHEET not in workbook.sheetnames:
        raise ImportFileError(str(path), [f"no sheet named {SHEET!r} (sheets: {', '.join(workbook.sheetnames)})"])
    template = _sheet_rows(workbook[SHEET])
    if ADC_SHEET in workbook.sheetnames:
        extra = _sheet_rows(workbook[ADC_SHEET])
        if len(extra) != len(template):
            raise ImportFileError(str(path), [f"sheet {SHEET!r} has {len(template)} rows but sheet {ADC_SHEET!r} "
                                              f"has {len(extra)}: they must match row for row"])
        template = [(n, {**a, **b}) for (n, a), (_, b) in zip(template, extra, strict=True)]
    headings = list(template[0][1]) if template else list(ICO_HEADINGS)
    _check_headings(path, headings)
    return [(f"sheet {SHEET!r} row", number, values) for number, values in template[1:]
            if any(v not in (None, "") for v in values.values())]


def _sheet_rows(sheet) -> list[tuple[int, dict[str, Any]]]:
    rows_ = list(sheet.iter_rows(values_only=True))
    if not rows_:
        return []
    headings = [str(h).strip() if h is not None else "" for h in rows_[0]]
    result = [(1, {h: h for h in headings if h})]
    for number, values in enumerate(rows_[1:], start=2):
        result.append((number, {h: v for h, v in zip(headings, values, strict=False) if h}))
    return result


def _check_headings(path: Path, headings: list[str]) -> None:
    problems = [f"column {i}: unknown heading {h!r}" for i, h in enumerate(headings, start=1)
                if h and h not in FIELD_OF_HEADING]
    seen: set[str] = set()
    for heading in headings:
        if heading and heading in seen:
            problems.append(f"heading {heading!r} appears twice")
        seen.add(heading)
    problems += [f"missing column {h!r}" for h in REQUIRED if h not in headings]
    if problems:
        raise ImportFileError(str(path), problems)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        value = tabular.unguarded(value.strip())
        if match := _UK_DATE.match(value):
            day, month, year = match.groups()
            value = f"{year}-{int(month):02d}-{int(day):02d}"
    return value


def parse(path: Path) -> list[Any]:
    """Every row of the file as a validated ActivityRecord; ImportFileError lists every problem."""
    problems: list[str] = []
    records = []
    first_row: dict[str, str] = {}
    organisations = load_organisations()
    for where, number, values in read_table(path):
        data = {FIELD_OF_HEADING[h]: _plain(v) for h, v in values.items() if h in FIELD_OF_HEADING}
        activity_id = str(data.get("activity_id") or "")
        if activity_id in first_row:
            problems.append(f"{where} {number}, column 'Activity ID': {activity_id} is also in "
                            f"{first_row[activity_id]}")
        first_row.setdefault(activity_id, f"{where} {number}")
        try:
            record = activities.validate(data)
            organisations.check(record.organisation, f"{where} {number}, column {HEADING_OF_FIELD['organisation']!r}")
            records.append(record)
        except ValidationError as exc:
            problems += [f"{where} {number}, column {HEADING_OF_FIELD.get(field, field)!r}: {message}"
                         for field, message in activities.field_errors(exc)]
        except ConfigError as exc:  # an organisation organisations.yaml does not declare
            problems.append(str(exc))
    if problems:
        raise ImportFileError(str(path), problems)
    if not records:
        raise ImportFileError(str(path), ["no activities in the file"])
    return records


def import_file(engine: Engine, path: Path, *, actor: str, today: date | None = None) -> dict[str, int]:
    """Import a RoPA file, all or nothing; returns how many activities were created/updated/unchanged."""
    return save_records(engine, parse(path), source=path, actor=actor, today=today)


def save_records(engine: Engine, records: list[Any], *, source: Path, actor: str,
                 today: date | None = None) -> dict[str, int]:
    """Write validated records in one transaction, with history (cause: the file's name)."""
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    with engine.begin() as conn:
        in_review = {row.activity_id: row.review_id for row in conn.execute(
            select(review.c.activity_id, review.c.review_id).where(review.c.status != "completed"))}
        clashes = [f"{r.activity_id}, column 'Status': the activity is in review {in_review[r.activity_id]}; "
                   "its status changes when the review completes (leave the cell blank)"
                   for r in records if r.status and r.status != "under_review" and r.activity_id in in_review]
        if clashes:
            raise ImportFileError(str(source), clashes)
        for record in records:
            counts[activities.save(conn, record, actor=actor, cause_kind="import", cause=source.name,
                                   today=today or date.today())] += 1
    return counts
