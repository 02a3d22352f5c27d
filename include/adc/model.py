"""The domain records every room shares: observed datasets, their fields and classifications, and
the coverage of a harvest. This is the ground floor: it imports nothing of adc but naming/errors.

Values are never part of these records: a field carries its name, type and classification (with
the reason), never a sample.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # annotations only: adc.config imports this module for Service, and adc.naming loads OpenLineage
    from adc.naming import DatasetId


class Service(StrEnum):
    """The services ADC harvests, the one list of them: sources.yaml's ``services`` and the CLI's choices
    come from it, and each has its harvester, the module ``adc.harvest.<value>`` (see adc.harvest.base)."""

    S3 = "s3"
    GLUE = "glue"
    DYNAMODB = "dynamodb"
    RDS = "rds"
    REDSHIFT = "redshift"


class Classification(StrEnum):
    """What a column holds, in UK GDPR terms. Ordered by sensitivity (see RANK)."""

    NONE = "none"
    PERSONAL = "personal"
    SPECIAL = "special_category"  # Art 9
    CRIMINAL = "criminal_offence"  # Art 10


# UK GDPR Art 9 special categories, as ADC names them everywhere (classification, register, RoPA).
SPECIAL_CATEGORIES = (
    "racial_or_ethnic_origin",
    "political_opinions",
    "religious_or_philosophical_beliefs",
    "trade_union_membership",
    "genetic",
    "biometric",
    "health",
    "sex_life_or_sexual_orientation",
)

RANK = {Classification.NONE: 0, Classification.PERSONAL: 1, Classification.SPECIAL: 2, Classification.CRIMINAL: 2}


class SchemaStatus(StrEnum):
    """How a dataset's schema was obtained, so a missing schema is never mistaken for an empty one."""

    INFERRED = "inferred"  # read from files (Parquet footer, CSV header, JSON records)
    CATALOGUE = "catalogue"  # declared by the service (Glue, DynamoDB keys, SQL inspector)
    SKIPPED = "skipped"  # not attempted (no permission to read objects, unsupported format)
    UNREADABLE = "unreadable"  # attempted and failed (truncated, binary, access denied)
    NONE = "none"  # the service has no schema (an RDS instance without a connection)


class ScopeStatus(StrEnum):
    COMPLETE = "complete"  # listed to the end: absence inside it means something
    FAILED = "failed"  # listing stopped: absence inside it means nothing
    PARTIAL = "partial"  # listed to the end, but names in it were left out by configuration: as failed


@dataclass
class Field:
    name: str
    type: str = "string"
    classification: Classification = Classification.NONE
    category: str | None = None  # e.g. "email", "health", "trade_union_membership"
    reason: str | None = None  # why it was classified, e.g. "name matches 'email'"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "classification": str(self.classification),
            "category": self.category,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Field:
        return cls(
            name=data["name"],
            type=data.get("type") or "string",
            classification=Classification(data.get("classification") or "none"),
            category=data.get("category"),
            reason=data.get("reason"),
        )


# Government Security Classifications Policy markings, weakest first. OFFICIAL-SENSITIVE is a handling
# caveat on OFFICIAL; for clearance it stands between OFFICIAL and SECRET.
GSCP = ("OFFICIAL", "OFFICIAL-SENSITIVE", "SECRET", "TOP SECRET")
Marking = Literal["OFFICIAL", "OFFICIAL-SENSITIVE", "SECRET", "TOP SECRET"]


def parse_marking(text: str) -> str:
    """A GSCP marking as people and tags write it ("official sensitive", "SECRET"); ValueError otherwise."""
    marking = re.sub(r"[\s_]+", " ", text.strip().upper()).replace("OFFICIAL SENSITIVE", "OFFICIAL-SENSITIVE")
    if marking not in GSCP:
        raise ValueError(f"{text!r} is not a GSCP marking ({', '.join(GSCP)})")
    return marking


def strongest(*markings: str | None) -> str | None:
    """The strongest of the markings given (None when none is)."""
    known = [m for m in markings if m]
    return max(known, key=GSCP.index) if known else None


@dataclass
class ObservedDataset:
    """One dataset as a harvest saw it: one per table, never one per file."""

    id: DatasetId
    service: Service
    source: str
    scope: str  # what was listed to find it: a bucket, a Glue database, a table, an instance
    organisation: str | None = None  # its source's (docs/organisations.md)
    marking: str | None = None  # the strongest of its source's default marking and its marking tag
    region: str | None = None
    kind: str = "table"  # table, view, iceberg, file, stream, database, cluster
    format: str | None = None  # parquet, csv, tsv, json, jsonl, avro, csv.gz, ...
    location: str | None = None  # where the data lives, e.g. s3://bucket/prefix for a Glue table
    description: str | None = None
    partition_keys: list[str] = field(default_factory=list)
    fields: list[Field] = field(default_factory=list)
    schema_status: SchemaStatus = SchemaStatus.NONE
    object_count: int | None = None
    size_bytes: int | None = None
    first_modified: datetime | None = None
    last_modified: datetime | None = None
    tags: dict[str, str] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)  # encryption, serde, ttl, engine, ...
    symlinks: list[DatasetId] = field(default_factory=list)  # the same data under another identity
    problems: list[str] = field(default_factory=list)  # e.g. "part-3.parquet: truncated footer"
    # What the harvest measured beyond object_count, size_bytes and last_modified, for the metrics
    # time series (adc.register.store.metrics_of; docs/quality.md): row_count, sampled_files,
    # null_counts (column -> nulls in the sampled files), newest. Counts and times only, never values;
    # not part of to_dict(): it changes every harvest and is kept in dataset_metrics instead.
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def classification(self) -> Classification:
        """The most sensitive classification among the fields."""
        return max((f.classification for f in self.fields), key=RANK.__getitem__, default=Classification.NONE)

    @property
    def special_categories(self) -> list[str]:
        return sorted({f.category for f in self.fields if f.classification == Classification.SPECIAL and f.category})

    @property
    def has_personal_data(self) -> bool:
        return self.classification != Classification.NONE

    @property
    def has_criminal_offence_data(self) -> bool:
        """Art 10 data among the fields (``classification`` may show a special category instead: same rank)."""
        return any(f.classification == Classification.CRIMINAL for f in self.fields)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["metrics"]
        data["id"] = {"namespace": self.id.namespace, "name": self.id.name}
        data["fields"] = [f.to_dict() for f in self.fields]
        data["symlinks"] = [{"namespace": s.namespace, "name": s.name} for s in self.symlinks]
        for key in ("first_modified", "last_modified"):
            value = getattr(self, key)
            data[key] = value.isoformat() if value else None
        data["service"] = str(self.service)
        data["schema_status"] = str(self.schema_status)
        data["classification"] = str(self.classification)
        data["personal_data"] = self.has_personal_data
        data["special_categories"] = ",".join(self.special_categories) or None
        data["criminal_offence_data"] = self.has_criminal_offence_data
        return data


@dataclass
class ScopeOutcome:
    """How one listed scope ended: the harvest's coverage, one row per scope.

    ``covers`` is the identity prefix the scope vouches for (a bucket covers s3://bucket, a Glue
    database covers table/<db>/...): only a complete scope can make a dataset under it missing.
    A registered bucket or database that a complete listing did not contain is recorded as a
    complete, empty scope: its absence is then known, not guessed.
    """

    source: str
    service: Service
    region: str
    scope: str
    covers: DatasetId
    status: ScopeStatus
    datasets: int = 0
    error_kind: str | None = None  # AccessDenied, NoSuchBucket, Throttling, EndpointUnreachable, ...
    error: str | None = None
    # files or tables inside a complete scope that could not be read (the scope stays complete)
    unreadable: list[str] = field(default_factory=list)

    @property
    def unit(self) -> str:
        return f"{self.source}|{self.service}|{self.region}|{self.scope}"
