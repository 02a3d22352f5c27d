"""Importing the register file: read a CSV or XLSX file, validate every row, apply all or nothing.

``AssetRow`` is the one definition of a valid row: a field per column of ``COLUMNS``, each read by its
column's parser (the same parsers triage uses for a person's answer). Its problems read as
"column: what is wrong"; the file's problems add the row ("row 4, column owner: required"). The
``organisation`` column must name an organisation of organisations.yaml (adc.organisations).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Annotated, Any
from zipfile import BadZipFile

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ValidationError,
    ValidationInfo,
    create_model,
)
from sqlalchemy import Engine

from adc.config import Settings
from adc.errors import ConfigError, ImportFileError
from adc.model import SPECIAL_CATEGORIES, parse_marking
from adc.naming import DatasetId, LocationError, parse_location
from adc.organisations import Organisations, load_organisations
from adc.register import DISPOSAL_ACTIONS, history, markings
from adc.register.assets.columns import COLUMNS, STATUSES, AssetRecord, Column
from adc.register.assets.store import by_id, change, create
from adc.register.db import exclusive
from adc.tabular import unguarded

ASSET_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
BY_NAME = {c.name: c for c in COLUMNS}
ALIASES = {"security_classification": "classification", "locations": "location", "iao": "owner",
           "information_asset_owner": "owner"}


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    retired: int = 0

    def to_dict(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "retired": self.retired}


# --------------------------------------------------------------------------- reading cells


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a spreadsheet's 12.0
    return unguarded(str(value).strip()) or None  # the export's formula guard undone


def parse_bool(value: Any) -> bool | None:
    """yes/no, true/false, y/n, 1/0 (any case); None when empty; ValueError otherwise."""
    if isinstance(value, bool):
        return value
    text = _text(value)
    if text is None:
        return None
    lowered = text.lower()
    if lowered in ("yes", "y", "true", "1"):
        return True
    if lowered in ("no", "n", "false", "0"):
        return False
    raise ValueError(f"{text!r} is not yes/no/true/false")


def parse_optional_marking(value: Any) -> str | None:
    text = _text(value)
    return None if text is None else parse_marking(text)


def parse_categories(value: Any) -> str | None:
    """Art 9 categories separated by ',' or ';' -> canonical comma list in SPECIAL_CATEGORIES order."""
    text = _text(value)
    if text is None:
        return None
    names = {re.sub(r"[\s-]+", "_", part.strip().lower()) for part in re.split(r"[,;]", text) if part.strip()}
    unknown = sorted(names - set(SPECIAL_CATEGORIES))
    if unknown:
        raise ValueError(f"unknown special category {', '.join(map(repr, unknown))} "
                         f"(known: {', '.join(SPECIAL_CATEGORIES)})")
    return ",".join(c for c in SPECIAL_CATEGORIES if c in names) or None


def parse_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def parse_choice(value: Any, choices: tuple[str, ...], what: str) -> str | None:
    text = _text(value)
    if text is None:
        return None
    if text.lower() not in choices:
        raise ValueError(f"{text!r} is not a {what} ({', '.join(choices)})")
    return text.lower()


def parse_locations(value: Any, *, region: str | None, account: str | None) -> list[tuple[str, DatasetId]]:
    """';'-separated (or one per line) location URIs -> [(uri, identity)], duplicates dropped."""
    text = _text(value) or ""
    result: list[tuple[str, DatasetId]] = []
    seen: set[DatasetId] = set()
    for part in re.split(r"[;\n]", text):
        uri = part.strip()
        if not uri:
            continue
        try:
            identity = parse_location(uri, region=region, account=account)
        except LocationError as exc:
            raise ValueError(str(exc)) from None
        if identity not in seen:
            seen.add(identity)
            result.append((uri, identity))
    return result


def _locations(value: Any, info: ValidationInfo) -> list[tuple[str, DatasetId]]:
    settings = (info.context or {}).get("settings") or Settings.from_env()
    return parse_locations(value, region=settings.default_region, account=settings.default_account)


def _valid_id(value: str | None) -> str | None:
    if value and not ASSET_ID.match(value):
        raise ValueError(f"{value!r} is not a valid id (letters, digits, '.', '_', '-'; at most 32)")
    return value


def _required(value: Any) -> Any:
    if value is None:
        raise ValueError("required")
    return value


def _no_when_empty(value: bool | None) -> bool:
    return bool(value)


def _at_most(length: int):
    def check(value: str | None) -> str | None:
        if value and len(value) > length:
            raise ValueError(f"longer than {length} characters")
        return value

    return check


# A column's kind: the type of its value, and the parser that reads a cell into one.
_KINDS: dict[str, tuple[Any, Any]] = {
    "id": (str | None, _text),
    "text": (str | None, _text),
    "bool": (bool | None, parse_bool),
    "date": (date | None, parse_date),
    "marking": (str | None, parse_optional_marking),
    "categories": (str | None, parse_categories),
    "disposal": (str | None, partial(parse_choice, choices=DISPOSAL_ACTIONS, what="disposal action")),
    "status": (str | None, partial(parse_choice, choices=STATUSES, what="status")),
    "locations": (list[tuple[str, Any]], _locations),
}


def _field(col: Column) -> Any:
    """The row's field for one column: the cell's parser, then the column's own checks."""
    kind, parse = _KINDS[col.kind]
    checks: list[Any] = [BeforeValidator(parse)]
    if col.max_length:
        checks.append(AfterValidator(_at_most(col.max_length)))
    if col.kind == "id":
        checks.append(AfterValidator(_valid_id))
    if col.required:
        checks.append(AfterValidator(_required))
    elif col.kind == "bool":
        checks.append(AfterValidator(_no_when_empty))
    return Annotated[(kind, *checks)]


class _Row(BaseModel):
    # a missing cell is an empty one: it is required, or it takes its column's default
    model_config = ConfigDict(validate_default=True)

    def contradictions(self) -> list[str]:
        """What the cells say against each other (asked of a row whose every cell is valid)."""
        values = dict(self)
        problems = []
        if not values["personal_data"]:
            if values["special_categories"]:
                problems.append("personal_data: 'no', yet special_categories are given (they are personal data)")
            if values["criminal_offence_data"]:
                problems.append("personal_data: 'no', yet criminal_offence_data is 'yes' (it is personal data)")
        return problems

    def record(self) -> AssetRecord:
        values = dict(self)  # as validated (a dump would turn the locations' identities into dicts)
        return AssetRecord(values["asset_id"], {c.column: values[c.name] for c in COLUMNS
                                                if c.kind not in ("id", "locations", "status")},
                           values["location"], values["status"])


# The asset id's problems follow the other cells' (beside the file's check that each id appears once).
_FIELDS: dict[str, Any] = {c.name: (_field(c), None) for c in sorted(COLUMNS, key=lambda c: c.kind == "id")}
AssetRow = create_model("AssetRow", __base__=_Row, __doc__="One row of the register file, every cell read and checked.",
                        **_FIELDS)


def _problems(exc: ValidationError) -> list[str]:
    """Pydantic's errors as "column: what is wrong"."""
    return [f"{error['loc'][0]}: {error['msg'].removeprefix('Value error, ')}" for error in exc.errors()]


def _unknown_organisation(organisation: str | None, organisations: Organisations | None) -> list[str]:
    """The organisation cell's problem, if it names no organisation (organisations: default organisations.yaml)."""
    if organisation is None:
        return []  # the department
    try:
        (organisations or load_organisations()).check(organisation, "organisation")
    except ConfigError as exc:
        return [str(exc)]
    return []


def validate(cells: Mapping[str, Any], settings: Settings | None = None,
             organisations: Organisations | None = None) -> tuple[AssetRecord | None, list[str]]:
    """Validate one asset's cells (file columns -> raw values). Returns (record, []) or (None, problems),
    each problem as "column: what is wrong". ``organisations``: the tree the organisation column names
    (default: organisations.yaml)."""
    try:
        row = AssetRow.model_validate(cells, context={"settings": settings})
    except ValidationError as exc:
        return None, _problems(exc)
    problems = row.contradictions() + _unknown_organisation(dict(row)["organisation"], organisations)
    return (None, problems) if problems else (row.record(), [])


# --------------------------------------------------------------------------- files


def _header(name: Any) -> str:
    key = re.sub(r"[\s-]+", "_", str(name or "").strip().lower())
    return ALIASES.get(key, key)


def read_rows(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(spreadsheet row number, {column: raw value}) for each non-blank row of a CSV or XLSX file.

    Raises ImportFileError for an unreadable file or a bad header row.
    """
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ImportFileError(str(file), [f"unsupported file type {suffix or '(none)'!r}: use .csv or .xlsx"])
    try:
        raw_rows = iter(list(_csv_rows(file) if suffix == ".csv" else _xlsx_rows(file)))  # a register is small
        header = next(raw_rows, None)
    except FileNotFoundError:
        raise ImportFileError(str(file), ["file not found"]) from None
    except (OSError, UnicodeDecodeError, csv.Error, ValueError, KeyError) as exc:
        raise ImportFileError(str(file), [f"cannot read the file: {exc}"]) from None
    if not header or not any(_text(h) for h in header):
        raise ImportFileError(str(file), ["row 1: no header row (expected columns: "
                                          + ", ".join(c.name for c in COLUMNS) + ")"])
    names = [_header(h) for h in header]
    problems = [f"row 1, column {h!r}: unknown column (expected: {', '.join(c.name for c in COLUMNS)})"
                for h, n in zip(header, names, strict=True) if _text(h) and n not in BY_NAME]
    seen: set[str] = set()
    for n in names:
        if n in seen and n in BY_NAME:
            problems.append(f"row 1, column {n!r}: appears twice")
        seen.add(n)
    problems += [f"row 1: required column {c.name!r} is missing" for c in COLUMNS if c.required and c.name not in seen]
    if problems:
        raise ImportFileError(str(file), problems)
    for number, row in enumerate(raw_rows, start=2):
        if not any(_text(v) for v in row):
            continue
        yield number, {n: v for n, v in zip(names, row, strict=False) if n in BY_NAME}


def _csv_rows(file: Path) -> Iterator[list[Any]]:
    with file.open(newline="", encoding="utf-8-sig") as handle:
        yield from csv.reader(handle)


def _xlsx_rows(file: Path) -> Iterator[list[Any]]:
    try:
        workbook = load_workbook(file, read_only=True, data_only=True)
    except (InvalidFileException, BadZipFile, OSError, KeyError) as exc:
        raise ValueError(f"not a readable XLSX workbook ({exc})") from None
    try:
        sheet = workbook["Register"] if "Register" in workbook.sheetnames else workbook.active
        for row in sheet.iter_rows(values_only=True):
            yield list(row)
    finally:
        workbook.close()


def parse_file(path: str | Path, settings: Settings | None = None) -> list[AssetRecord]:
    """Read and validate a whole register file; ImportFileError lists every problem by row and column."""
    settings = settings or Settings.from_env()
    organisations = load_organisations()  # once for the file, not per row
    records: list[AssetRecord] = []
    problems: list[str] = []
    first_row: dict[str, int] = {}
    for number, cells in read_rows(path):
        record, row_problems = validate(cells, settings, organisations)
        problems += [f"row {number}, column {p}" for p in row_problems]
        if record is None:
            continue
        if record.asset_id in first_row:
            problems.append(f"row {number}, column asset_id: {record.asset_id!r} already given in row "
                            f"{first_row[record.asset_id]}")
            continue
        first_row[record.asset_id] = number
        records.append(record)
    if problems:
        raise ImportFileError(str(path), problems)
    return records


def import_records(
    engine: Engine, records: list[AssetRecord], *, actor: str, cause_kind: str = "import", cause: str | None = None
) -> ImportResult:
    """Apply validated records in one transaction: create new assets, change what differs, keep the rest.
    The datasets under the locations of a new or reclassified asset, or one that moved, take its marking
    in the same transaction (adc.register.markings)."""
    result = ImportResult()
    stale: set[DatasetId] = set()
    with engine.begin() as conn:
        exclusive(conn, "register")
        existing = by_id(conn, [r.asset_id for r in records])
        for record in records:
            before = existing.get(record.asset_id)
            if before is None:
                create(conn, record, actor=actor, cause_kind=cause_kind, cause=cause, stale=stale)
                result.created += 1
                continue
            changes = change(conn, record.asset_id, values=record.values, locations=record.locations,
                             status=record.status, actor=actor, cause_kind=cause_kind, cause=cause, current=before,
                             stale=stale)
            if not changes:
                result.unchanged += 1
            elif changes.get("status", [None, None])[1] == "retired":
                result.retired += 1
            else:
                result.updated += 1
        markings.refresh(conn, under=stale)
    return result


def import_file(engine: Engine, path: str | Path, *, actor: str = history.SYSTEM_ACTOR,
                settings: Settings | None = None) -> ImportResult:
    """Validate the whole file, then apply it all or nothing (ImportFileError names every bad row)."""
    records = parse_file(path, settings)
    return import_records(engine, records, actor=actor, cause_kind="import", cause=Path(path).name)
