"""The register file's columns, and the validated asset record that import, the store and export share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from adc.model import SPECIAL_CATEGORIES
from adc.naming import DatasetId
from adc.register import DISPOSAL_ACTIONS, GSCP

STATUSES = ("active", "missing", "retired")  # missing is set by reconciliation, retired by a person
LOCATION_SEPARATOR = ";"


@dataclass(frozen=True)
class Column:
    """One column of the register file: how a cell is read, and what it means."""

    name: str
    kind: str  # id, text, bool, date, marking, categories, disposal, status, locations
    description: str
    required: bool = False
    max_length: int | None = None
    db: str | None = None  # the asset table's column, when the name differs

    @property
    def column(self) -> str:
        return self.db or self.name


COLUMNS: tuple[Column, ...] = (
    Column("asset_id", "id", "Unique id, e.g. IA-0001 (letters, digits, '.', '_', '-'; at most 32).", True, 32),
    Column("name", "text", "Name of the asset.", True, 300),
    Column("description", "text", "What the information is and why it is held."),
    Column("location", "locations", "Where the data lives: URIs separated by ';' (s3://bucket/prefix, "
           "glue://database[/table], dynamodb://table, rds://instance, redshift://cluster, an ARN, "
           "postgres://host:port/db.schema.table)."),
    Column("owner", "text", "Information Asset Owner (IAO): an Airflow user id or a name.", True, 200),
    Column("custodian", "text", "Information Asset Manager who looks after it day to day.", False, 200),
    Column("business_unit", "text", "Business unit that holds the asset.", False, 200),
    Column("organisation", "text", "The organisation in organisations.yaml whose asset it is (its id, e.g. cra); "
           "empty: the department.", False, 40),
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
