"""Configuration: sources.yaml (the harvest's public interface) and the process settings.

Every error names the file, the field path and what is wrong, on one line, so a DAG shows it as a
readable import error and the CLI prints it as is.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Hashable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Annotated, Any, TypeVar, cast

import yaml
from croniter import croniter
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from adc import connections
from adc.errors import ConfigError
from adc.model import Marking, Service

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # the checkout, when adc runs from one
DEFAULT_SOURCES = PROJECT_ROOT / "include" / "config" / "sources.yaml"


def _default_home() -> Path:
    """ADC's own state: .adc in the checkout, else in the working directory (a plain pip install)."""
    return (PROJECT_ROOT if (PROJECT_ROOT / "pyproject.toml").exists() else Path.cwd()) / ".adc"


def _check_glob(pattern: str) -> str:
    if not pattern or not pattern.strip():
        raise ValueError("a glob may not be empty")
    if pattern.count("[") != pattern.count("]"):
        raise ValueError(f"unbalanced brackets in glob {pattern!r}")
    try:
        re.compile(fnmatch.translate(pattern))
    except re.error as exc:
        raise ValueError(f"bad glob {pattern!r}: {exc}") from exc
    return pattern


# An organisation's id in organisations.yaml (docs/organisations.md).
OrganisationId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]

# Every glob of the file (include, exclude, a database's schemas) is checked where it is declared.
Glob = Annotated[str, Field(min_length=1), AfterValidator(_check_glob)]

# Cron presets a source's schedule may use (Airflow's, less @once and @continuous).
CRON_PRESETS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
}


def _check_schedule(value: str | None) -> str | None:
    if value is None:
        return None
    if value not in CRON_PRESETS and (len(value.split()) != 5 or not croniter.is_valid(value)):
        raise ValueError(
            f"{value!r} is not a five-field cron expression or one of {', '.join(CRON_PRESETS)} (null for manual)"
        )
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_Model = TypeVar("_Model", bound=BaseModel)


class DatabaseAccess(_Strict):
    """How to read the schemas inside one RDS instance or Redshift cluster."""

    conn_id: str | None = Field(None, description="Airflow connection holding the database credentials.")
    url: str | None = Field(
        None, description="SQLAlchemy URL instead of a connection (local use only: it holds the secret)."
    )
    databases: list[str] = Field(default_factory=list, description="Databases to inspect; empty means the default.")
    schemas: list[Glob] = Field(default_factory=lambda: ["*"], description="Schema name globs to inspect.")

    @model_validator(mode="after")
    def _one_way_in(self) -> DatabaseAccess:
        if bool(self.conn_id) == bool(self.url):
            raise ValueError("give exactly one of conn_id or url")
        return self


class Source(_Strict):
    """One AWS account (and role) to harvest, in one or more regions."""

    name: str = Field(
        ..., pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="Unique name; lower case, digits, '-' and '_'."
    )
    region: str | None = Field(None, pattern=r"^[a-z]{2}(-[a-z]+)+-\d$", description="The AWS region.")
    regions: list[Annotated[str, Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")]] | None = Field(
        None, description="Several regions instead of one."
    )
    aws_conn_id: str | None = Field(
        None, description="Airflow AWS connection; without it boto3's default chain and AWS_ENDPOINT_URL apply."
    )
    role_arn: str | None = Field(
        None, pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$", description="Role assumed through STS."
    )
    external_id: str | None = Field(None, description="External id for the assumed role.")
    services: list[Service] = Field(default_factory=lambda: list(Service), description="Services to harvest.")
    include: list[Glob] = Field(default_factory=lambda: ["*"], description="Name globs for buckets, databases, tables.")
    exclude: list[Glob] = Field(default_factory=list, description="Name globs to skip; exclude wins over include.")
    schedule: str | None = Field("@daily", description="Cron or preset for this source's harvest; null for manual.")
    databases: dict[str, DatabaseAccess] = Field(
        default_factory=dict, description="RDS instance or Redshift cluster id -> how to read its schemas."
    )
    sample_rows: int = Field(100, ge=1, le=1000, description="Rows read in memory per dataset to classify columns.")
    glue_table_tags: bool = Field(
        False, description="Also read each Glue table's own tags (one GetTags call per table); a table always "
        "carries its database's tags."
    )
    missing_threshold: float = Field(
        0.25, ge=0, le=1, description="Share of the source's assets that may go missing before a person must approve."
    )
    organisation: OrganisationId | None = Field(
        None, description="The organisation in organisations.yaml whose data this is; none: the department."
    )
    marking: Marking | None = Field(
        None, description="The GSCP marking of its datasets at least (a marking tag may raise it); none: OFFICIAL."
    )

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        return _check_schedule(value)

    @property
    def cron(self) -> str | None:
        """The schedule as a cron expression (presets resolved); None for a manual-only source."""
        return CRON_PRESETS.get(self.schedule, self.schedule) if self.schedule else None

    @field_validator("services")
    @classmethod
    def _services(cls, value: list[Service]) -> list[Service]:
        if not value:
            raise ValueError("list at least one service")
        if len(set(value)) != len(value):
            raise ValueError("a service is listed twice")
        return value

    @model_validator(mode="after")
    def _region_or_regions(self) -> Source:
        if bool(self.region) == bool(self.regions):
            raise ValueError("give exactly one of region or regions")
        return self

    @property
    def all_regions(self) -> list[str]:
        return list(self.regions or [self.region])  # type: ignore[list-item]

    def wants(self, name: str, *qualified: str) -> bool:
        """True if a bucket/database/table name is included and not excluded.

        A Glue table is also matched as 'database.table' so globs can pick tables out of a database.
        """
        names = (name, *qualified)
        included = any(fnmatch.fnmatchcase(n, p) for p in self.include for n in names)
        return included and not any(fnmatch.fnmatchcase(n, p) for p in self.exclude for n in names)


class TagConventions(_Strict):
    """Tag keys on AWS resources that reconciliation compares with the register."""

    asset_id: str = "iar:asset-id"
    owner: str = "iar:owner"
    custodian: str = "iar:custodian"
    marking: str = "gscp:marking"
    personal: str = "data:personal"
    special: str = "data:special"
    retention: str = "retention:schedule"
    activity: str = "ropa:activity"


class SourcesFile(_Strict):
    sources: list[Source] = Field(..., min_length=1)
    tags: TagConventions = Field(default_factory=TagConventions)

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, value: list[Source]) -> list[Source]:
        seen: set[str] = set()
        for source in value:
            if source.name in seen:
                raise ValueError(f"duplicate source name {source.name!r}")
            seen.add(source.name)
        return value

    def source(self, name: str) -> Source:
        for source in self.sources:
            if source.name == name:
                return source
        raise ConfigError(f"no source named {name!r} (have: {', '.join(s.name for s in self.sources)})")


def _field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part not in ("function-after", "function-before") and not str(part).startswith("function-"):
            path += f".{part}" if path else str(part)
    return path or "(top level)"


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping. PyYAML keeps the last one
    silently, which would drop a source's first ``exclude`` list (or its first name) without a word."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        first: dict[object, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                continue  # a merge (<<) may be overridden; an unhashable key the safe loader refuses itself
            key = self.construct_object(key_node)
            if key in first:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice in one mapping (first on line {first[key] + 1})",
                    key_node.start_mark)
            first[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def load_yaml(file: Path, model: type[_Model], expected: str) -> _Model:
    """Read a YAML file into a pydantic model; raise ConfigError naming the file, field and problem."""
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{file}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read: {exc}") from None
    return cast(_Model, _validated(file, model, expected, text))  # lru_cache keeps no generic type


# Keyed by the file's content, so an edit applies at the next read: the files are small and read
# often (sources.yaml and organisations.yaml by every question a review or triage run builds, every
# register page), and a frozen model is safe to share.
@lru_cache(maxsize=16)
def _validated(file: Path, model: type[_Model], expected: str, text: str) -> _Model:
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{file}:{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{file}: expected {expected}")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        # a check across the whole file names its own field in the message
        field = f"{_field_path(first['loc'])}: " if first["loc"] else ""
        raise ConfigError(f"{file}: {field}{message}{more}") from None


def load_sources(path: str | os.PathLike[str] | None = None) -> SourcesFile:
    """Read and validate sources.yaml; raise ConfigError naming file, field and problem."""
    file = Path(path or os.environ.get("ADC_SOURCES") or DEFAULT_SOURCES)
    return load_yaml(file, SourcesFile, "a mapping with a 'sources' list at the top")


@dataclass(frozen=True)
class Settings:
    """Process settings, from the environment. Secrets never live here: they are Airflow connections."""

    home: Path
    default_region: str
    default_account: str | None
    data_protection_team: tuple[str, ...]

    @classmethod
    def from_env(cls) -> Settings:
        home = Path(os.environ.get("ADC_HOME") or _default_home())
        team = os.environ.get("ADC_DATA_PROTECTION_TEAM", "dpo")
        return cls(
            home=home,
            default_region=os.environ.get("ADC_DEFAULT_AWS_REGION", "eu-west-2"),
            default_account=os.environ.get("ADC_DEFAULT_AWS_ACCOUNT") or None,
            data_protection_team=tuple(u.strip() for u in team.split(",") if u.strip()),
        )

    @cached_property
    def register_url(self) -> str:
        """ADC_REGISTER_URL, else the Airflow connection adc_register, else SQLite under ADC_HOME."""
        return connections.register_url(self.home)
