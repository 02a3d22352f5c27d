"""The Information Asset Register (IAR): assets, their dataset locations, import and export.

An asset (IA-nnnn) is a body of information managed as one unit, with an Information Asset Owner.
Its locations are URIs a person writes (s3://bucket/prefix, glue://database/table, ...) and each
resolves to the OpenLineage identity the harvest uses (adc.naming.parse_location), which is how
reconciliation ties the register to the estate.

Import reads a CSV or XLSX file with the columns in ``COLUMNS`` (one row per asset; several
locations separated by ';'), validates every row first and applies all or nothing in one
transaction. Re-importing the same file changes nothing; every change is a history row naming the
file and the person. Export writes the same columns, so export -> import round-trips.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from adc.config import Settings
from adc.errors import AdcError, ImportFileError
from adc.model import SPECIAL_CATEGORIES
from adc.naming import DatasetId, LocationError, parse_location
from adc.register import DISPOSAL_ACTIONS, GSCP, history
from adc.register.db import exclusive
from adc.register.store import now
from adc.register.tables import asset, asset_location

STATUSES = ("active", "missing", "retired")  # missing is set by reconciliation, retired by a person
ASSET_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
LOCATION_SEPARATOR = ";"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # cells a spreadsheet would run as a formula


@dataclass(frozen=True)
class Column:
    """One column of the register file: how a cell is read, and what it means."""

    name: str
    kind: str  # text, bool, date, marking, categories, disposal, status, locations
    description: str
    required: bool = False
    max_length: int | None = None
    db: str | None = None  # the asset table's column, when the name differs

    @property
    def column(self) -> str:
        return self.db or self.name


COLUMNS: tuple[Column, ...] = (
    Column("asset_id", "text", "Unique id, e.g. IA-0001 (letters, digits, '.', '_', '-'; at most 32).", True, 32),
    Column("name", "text", "Name of the asset.", True, 300),
    Column("description", "text", "What the information is and why it is held."),
    Column("location", "locations", "Where the data lives: URIs separated by ';' (s3://bucket/prefix, "
           "glue://database[/table], dynamodb://table, rds://instance, redshift://cluster, an ARN, "
           "postgres://host:port/db.schema.table)."),
    Column("owner", "text", "Information Asset Owner (IAO): an Airflow user id or a name.", True, 200),
    Column("custodian", "text", "Information Asset Manager who looks after it day to day.", False, 200),
    Column("business_unit", "text", "Business unit that holds the asset.", False, 200),
    Column("classification", "marking", "GSCP marking: " + ", ".join(GSCP) + ".", True, db="security_classification"),
    Column("personal_data", "bool", "Holds personal data: yes or no.", True),
    Column("special_categories", "categories", "UK GDPR Art 9 categories held, separated by ',': "
           + ", ".join(SPECIAL_CATEGORIES) + "."),
    Column("criminal_offence_data", "bool", "Holds Art 10 criminal offence data: yes or no (default no)."),
    Column("data_subjects", "text", "Whose data it is (applicants, staff, ...)."),
    Column("retention_schedule", "text", "Retention schedule reference, e.g. RS-01.", False, 100),
    Column("disposal_action", "disposal", "At the end of retention: " + ", ".join(DISPOSAL_ACTIONS) + "."),
    Column("legal_basis", "text", "Lawful basis for holding it."),
    Column("key_asset", "bool", "A key (business-critical) asset: yes or no (default no)."),
    Column("risk_rating", "text", "Risk rating, e.g. low, medium, high.", False, 40),
    Column("status", "status", "active or retired (missing is set by reconciliation and kept on import); "
           "empty keeps the current status."),
    Column("last_reviewed", "date", "Date of the last review by the IAO (YYYY-MM-DD)."),
    Column("next_review_due", "date", "Date the next review is due (YYYY-MM-DD)."),
)
BY_NAME = {c.name: c for c in COLUMNS}
ALIASES = {"security_classification": "classification", "locations": "location", "iao": "owner",
           "information_asset_owner": "owner"}
# The asset table's columns a file or a person sets (status and the reconciliation's own columns aside)
VALUE_COLUMNS = tuple(c.column for c in COLUMNS if c.kind not in ("locations", "status"))


@dataclass
class AssetRecord:
    """One validated asset: its column values, its locations, and the status the input asks for."""

    asset_id: str
    values: dict[str, Any]
    locations: list[tuple[str, DatasetId]] = field(default_factory=list)
    status: str | None = None  # None keeps the current status

    @property
    def uris(self) -> list[str]:
        return [uri for uri, _ in self.locations]


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
    text = str(value).strip()
    if len(text) > 1 and text[0] == "'" and text[1] in FORMULA_START:
        text = text[1:]  # undo the export's formula guard
    return text or None


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


def parse_marking(value: Any) -> str | None:
    text = _text(value)
    if text is None:
        return None
    marking = re.sub(r"[\s_]+", " ", text.upper()).replace("OFFICIAL SENSITIVE", "OFFICIAL-SENSITIVE")
    if marking not in GSCP:
        raise ValueError(f"{text!r} is not a GSCP marking ({', '.join(GSCP)})")
    return marking


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


def validate(cells: Mapping[str, Any], settings: Settings | None = None) -> tuple[AssetRecord | None, list[str]]:
    """Validate one asset's cells (file columns -> raw values). Returns (record, []) or (None, problems),
    each problem as "column: what is wrong"."""
    settings = settings or Settings.from_env()
    problems: list[str] = []
    values: dict[str, Any] = {}
    locations: list[tuple[str, DatasetId]] = []
    status = None
    for col in COLUMNS:
        raw = cells.get(col.name)
        try:
            if col.kind == "text":
                parsed = _text(raw)
                if parsed and col.max_length and len(parsed) > col.max_length:
                    raise ValueError(f"longer than {col.max_length} characters")
            elif col.kind == "bool":
                parsed = parse_bool(raw)
                if parsed is None and not col.required:
                    parsed = False
            elif col.kind == "date":
                parsed = parse_date(raw)
            elif col.kind == "marking":
                parsed = parse_marking(raw)
            elif col.kind == "categories":
                parsed = parse_categories(raw)
            elif col.kind == "disposal":
                parsed = parse_choice(raw, DISPOSAL_ACTIONS, "disposal action")
            elif col.kind == "status":
                status = parse_choice(raw, STATUSES, "status")
                continue
            else:  # locations
                locations = parse_locations(raw, region=settings.default_region, account=settings.default_account)
                continue
        except ValueError as exc:
            problems.append(f"{col.name}: {exc}")
            continue
        if parsed is None and col.required:
            problems.append(f"{col.name}: required")
            continue
        values[col.column] = parsed
    asset_id = values.get("asset_id")
    if asset_id and not ASSET_ID.match(asset_id):
        problems.append(f"asset_id: {asset_id!r} is not a valid id (letters, digits, '.', '_', '-'; at most 32)")
    if not problems and not values["personal_data"]:
        if values.get("special_categories"):
            problems.append("personal_data: 'no', yet special_categories are given (they are personal data)")
        if values.get("criminal_offence_data"):
            problems.append("personal_data: 'no', yet criminal_offence_data is 'yes' (it is personal data)")
    if problems:
        return None, problems
    return AssetRecord(values.pop("asset_id"), values, locations, status), []


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
    from zipfile import BadZipFile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

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
    records: list[AssetRecord] = []
    problems: list[str] = []
    first_row: dict[str, int] = {}
    for number, cells in read_rows(path):
        record, row_problems = validate(cells, settings)
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


# --------------------------------------------------------------------------- reading the register


def _locations_by_asset(conn: Connection, asset_ids: Iterable[str] | None = None) -> dict[str, list[str]]:
    query = select(asset_location.c.asset_id, asset_location.c.uri).order_by(
        asset_location.c.asset_id, asset_location.c.location_id)
    if asset_ids is not None:
        query = query.where(asset_location.c.asset_id.in_(list(asset_ids)))
    result: dict[str, list[str]] = {}
    for row in conn.execute(query):
        result.setdefault(row.asset_id, []).append(row.uri)
    return result


def get(conn: Connection, asset_id: str) -> dict[str, Any] | None:
    """One asset as a dict (with its ``locations``), or None."""
    row = conn.execute(select(asset).where(asset.c.asset_id == asset_id)).mappings().first()
    if row is None:
        return None
    return {**row, "locations": _locations_by_asset(conn, [asset_id]).get(asset_id, [])}


def all_assets(conn: Connection) -> list[dict[str, Any]]:
    """Every asset, ordered by id, each with its ``locations`` (URIs as written)."""
    locations = _locations_by_asset(conn)
    rows = conn.execute(select(asset).order_by(asset.c.asset_id)).mappings()
    return [{**row, "locations": locations.get(row["asset_id"], [])} for row in rows]


def by_id(conn: Connection, asset_ids: list[str], batch: int = 500) -> dict[str, dict[str, Any]]:
    """The assets among ``asset_ids`` that exist, with their locations."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(asset_ids), batch):
        ids = asset_ids[start:start + batch]
        locations = _locations_by_asset(conn, ids)
        for row in conn.execute(select(asset).where(asset.c.asset_id.in_(ids))).mappings():
            found[row["asset_id"]] = {**row, "locations": locations.get(row["asset_id"], [])}
    return found


def next_asset_id(conn: Connection, prefix: str = "IA-") -> str:
    """The next free id in the IA-nnnn series."""
    ids = conn.execute(select(asset.c.asset_id).where(asset.c.asset_id.like(f"{prefix}%"))).scalars()
    numbers = [int(i[len(prefix):]) for i in ids if i[len(prefix):].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1:04d}"


# --------------------------------------------------------------------------- writing the register


class AssetError(AdcError):
    """A change to an asset that cannot be made (unknown id, already exists, retired...)."""


def create(conn: Connection, record: AssetRecord, *, actor: str, cause_kind: str, cause: str | None) -> None:
    """Add a new asset and its locations, with a "created" history row (inside the caller's transaction)."""
    at = now()
    status = "retired" if record.status == "retired" else "active"
    conn.execute(insert(asset).values(asset_id=record.asset_id, **record.values, status=status,
                                      created_at=at, updated_at=at))
    _insert_locations(conn, record.asset_id, record.locations)
    changes = history.diff({}, record.values)
    if record.locations:
        changes["location"] = [None, record.uris]
    if status != "active":
        changes["status"] = [None, status]
    history.record(conn, entity_kind="asset", entity_id=record.asset_id, action="created", actor=actor,
                   cause_kind=cause_kind, cause=cause, changes=changes, at=at)


def _insert_locations(conn: Connection, asset_id: str, locations: list[tuple[str, DatasetId]]) -> None:
    if locations:
        conn.execute(insert(asset_location), [
            {"asset_id": asset_id, "uri": uri, "namespace": identity.namespace, "name": identity.name}
            for uri, identity in locations
        ])


def change(
    conn: Connection,
    asset_id: str,
    *,
    values: Mapping[str, Any] | None = None,
    locations: list[tuple[str, DatasetId]] | None = None,
    status: str | None = None,
    actor: str,
    cause_kind: str,
    cause: str | None,
    reason: str | None = None,
    current: Mapping[str, Any] | None = None,
) -> dict[str, list[Any]]:
    """Apply what differs from the asset as it is; one history row naming the actor and cause.

    ``locations`` replaces the asset's locations (None keeps them); ``status`` "retired" retires,
    "active" reinstates a retired asset, anything else keeps the status (missing belongs to
    reconciliation). Returns the changes ({} when there were none: nothing is written).
    """
    before = current if current is not None else get(conn, asset_id)
    if before is None:
        raise AssetError(f"no asset {asset_id!r} in the register")
    changes = history.diff(before, dict(values or {}))
    if locations is not None and [uri for uri, _ in locations] != list(before["locations"]):
        changes["location"] = [list(before["locations"]), [uri for uri, _ in locations]]
    new_status = before["status"]
    if status == "retired" and before["status"] != "retired":
        new_status = "retired"
    elif status in ("active", "missing") and before["status"] == "retired":
        new_status = "active"  # reinstated; reconciliation decides whether it is missing
    if new_status != before["status"]:
        changes["status"] = [before["status"], new_status]
    if not changes:
        return {}
    at = now()
    row = {k: v[1] for k, v in changes.items() if k in VALUE_COLUMNS}
    for key in row:  # history holds plain values; the table wants dates
        row[key] = values[key]  # type: ignore[index]
    if new_status != before["status"]:
        row["status"] = new_status
        if new_status == "active":
            row["missing_since"] = None
    conn.execute(update(asset).where(asset.c.asset_id == asset_id).values(**row, updated_at=at))
    if "location" in changes:
        conn.execute(delete(asset_location).where(asset_location.c.asset_id == asset_id))
        _insert_locations(conn, asset_id, locations or [])
    action = {"retired": "retired", "active": "reinstated"}.get(new_status, "updated") if "status" in changes \
        else "updated"
    if reason:
        changes["reason"] = [None, reason]
    history.record(conn, entity_kind="asset", entity_id=asset_id, action=action, actor=actor,
                   cause_kind=cause_kind, cause=cause, changes=changes, at=at)
    return changes


def import_records(
    engine: Engine, records: list[AssetRecord], *, actor: str, cause_kind: str = "import", cause: str | None = None
) -> ImportResult:
    """Apply validated records in one transaction: create new assets, change what differs, keep the rest."""
    result = ImportResult()
    with engine.begin() as conn:
        exclusive(conn, "register")
        existing = by_id(conn, [r.asset_id for r in records])
        for record in records:
            before = existing.get(record.asset_id)
            if before is None:
                create(conn, record, actor=actor, cause_kind=cause_kind, cause=cause)
                result.created += 1
                continue
            changes = change(conn, record.asset_id, values=record.values, locations=record.locations,
                             status=record.status, actor=actor, cause_kind=cause_kind, cause=cause, current=before)
            if not changes:
                result.unchanged += 1
            elif changes.get("status", [None, None])[1] == "retired":
                result.retired += 1
            else:
                result.updated += 1
    return result


def import_file(engine: Engine, path: str | Path, *, actor: str = history.SYSTEM_ACTOR,
                settings: Settings | None = None) -> ImportResult:
    """Validate the whole file, then apply it all or nothing (ImportFileError names every bad row)."""
    records = parse_file(path, settings)
    return import_records(engine, records, actor=actor, cause_kind="import", cause=Path(path).name)


# --------------------------------------------------------------------------- export


def _cell(col: Column, value: Any, record: Mapping[str, Any]) -> str:
    if col.kind == "locations":
        return f"{LOCATION_SEPARATOR} ".join(record["locations"])
    if value is None:
        return ""
    if col.kind == "bool":
        return "yes" if value else "no"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def export_rows(conn: Connection) -> list[list[str]]:
    """The register as rows of cells (header first), in the import file's columns."""
    return rows_of(all_assets(conn))


def rows_of(records: Iterable[Mapping[str, Any]]) -> list[list[str]]:
    """Assets (as ``all_assets`` gives them) as rows of cells, header first (the audit pack's register
    as of a date goes through here too, so it reads exactly like an export)."""
    rows = [[c.name for c in COLUMNS]]
    for record in records:
        rows.append([_cell(c, record.get(c.column), record) for c in COLUMNS])
    return rows


def spreadsheet_text(text: str) -> str:
    """Stop a spreadsheet running a cell as a formula (CSV injection); import strips the guard."""
    return "'" + text if text.startswith(FORMULA_START) else text


def workbook_text(text: str) -> str:
    """Text an XLSX cell can hold: the format has no room for most control characters, which openpyxl
    refuses (failing the whole workbook), so each shows as U+FFFD instead."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)


def write_csv(conn: Connection, out: TextIO) -> int:
    return write_csv_rows(export_rows(conn), out)


def write_csv_rows(rows: list[list[str]], out: TextIO) -> int:
    """Rows from ``export_rows``/``rows_of`` as the register's CSV; returns the number of assets."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows([[spreadsheet_text(cell) for cell in row] for row in rows])
    return len(rows) - 1


def write_xlsx(conn: Connection, out: BinaryIO | str | Path) -> int:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    rows = export_rows(conn)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Register"
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            cell = sheet.cell(row=r, column=c)
            cell.value = workbook_text(value)
            cell.data_type = "s"  # text, never a formula, whatever it starts with
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "B2"
    workbook.save(out)
    return len(rows) - 1


def write_json(conn: Connection, out: TextIO) -> int:
    records = all_assets(conn)
    json.dump([{k: (v.isoformat() if isinstance(v, (date, datetime)) else v) for k, v in r.items()}
               for r in records], out, indent=2)
    out.write("\n")
    return len(records)


EXPORTERS = {"csv": write_csv, "xlsx": write_xlsx, "json": write_json}


def export(engine: Engine, fmt: str, out: TextIO | BinaryIO | str | Path) -> int:
    """Write the register in ``fmt`` (csv, xlsx, json) to ``out``; returns the number of assets."""
    if fmt not in EXPORTERS:
        raise AdcError(f"unknown export format {fmt!r} (use {', '.join(EXPORTERS)})")
    with engine.connect() as conn:
        return EXPORTERS[fmt](conn, out)


def export_text(engine: Engine, fmt: str = "csv") -> str:
    buffer = io.StringIO()
    export(engine, fmt, buffer)
    return buffer.getvalue()


def count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(asset)).scalar_one()
