"""Glue Data Catalog: one scope per database; one dataset per table, view or Iceberg table.

A table whose location is on S3 is linked to the S3 dataset there (a symlink), so the catalogue
entry and the files are known to be the same data. Columns come from the catalogue (partition keys
included) and are classified by name; the catalogue holds no values to sample. Tags: the
database's (one GetTags per database), with each table's own on top when the source asks for them
(``glue_table_tags``: one more call per table, the slowest part of a large catalogue's harvest).

Globs: a database is harvested when its name is included (or an include glob names tables in it,
``database.table_glob``); a table is left out when ``database.table`` matches an exclude glob.
A database with tables left out is recorded as a *partial* scope: its absences prove nothing.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from adc import naming
from adc.aws import AwsClients
from adc.config import Source
from adc.harvest.base import Listing, Located, locate_arn
from adc.harvest.classify import classify_columns
from adc.harvest.context import ScopeContext, failure, retention
from adc.model import ObservedDataset, SchemaStatus, ScopeStatus, Service
from adc.naming import DatasetId

name = Service.GLUE
regional = True
scopes_per_unit = 1

# Table parameters worth keeping: descriptive and stable (counts and commit pointers change on every
# write and would make a new version of the dataset each harvest; free text may hold anything).
SAFE_PARAMETERS = (
    "classification", "table_type", "compressionType", "typeOfData", "delimiter", "skip.header.line.count",
    "EXTERNAL", "format", "projection.enabled", "has_encrypted_data", "write.format.default", "UPDATED_BY_CRAWLER",
)
_FORMATS_BY_CLASS = (("parquet", "parquet"), ("orc", "orc"), ("avro", "avro"), ("json", "json"),
                     ("opencsv", "csv"), ("lazysimple", "csv"), ("textinput", "csv"), ("iceberg", "iceberg"))


def covers(region: str, account: str, database: str) -> DatasetId:
    return naming.glue_database(region, account, database)


def locate(location: DatasetId) -> Located | None:
    return locate_arn(location, name, r"^table/([^/]+)")


def wants(source: Source, database: str) -> bool:
    """Its name is included, or an include glob picks tables in it (``database.table_glob``)."""
    return source.wants(database) or any(
        "." in glob and fnmatch.fnmatchcase(database, glob.split(".", 1)[0]) for glob in source.include
    )


def table_wanted(source: Source, database: str, table: str) -> bool:
    qualified = f"{database}.{table}"
    if any(fnmatch.fnmatchcase(qualified, glob) for glob in source.exclude):
        return False
    return source.wants(database) or source.wants(qualified)


def list_scopes(clients: AwsClients, source: Source, region: str) -> Listing:
    glue = clients.client("glue")
    names = [d["Name"] for page in glue.get_paginator("get_databases").paginate() for d in page.get("DatabaseList", ())]
    return Listing(wanted={region: [n for n in names if wants(source, n)]}, found=set(names))


def harvest(scope: ScopeContext) -> Iterator[ObservedDataset]:
    """The tables of one database (GetTables, 100 a page). Raises when the listing fails."""
    glue = scope.clients.client("glue")
    database = scope.name
    problems: list[str] = []
    database_tags = resource_tags(glue, f"arn:aws:glue:{scope.region}:{scope.account}:database/{database}", problems)
    left_out = 0
    with ThreadPoolExecutor(scope.readers) as pool:
        for page in glue.get_paginator("get_tables").paginate(DatabaseName=database):
            tables = [t for t in page.get("TableList", ()) if table_wanted(scope.source, database, t["Name"])]
            left_out += len(page.get("TableList", ())) - len(tables)
            yield from pool.map(lambda t: describe(scope, glue, t, database_tags, problems), tables)
    if left_out:
        scope.outcome.status = ScopeStatus.PARTIAL
        scope.outcome.error = f"{left_out} table(s) left out by the source's globs"


def describe(scope: ScopeContext, glue: Any, table: dict[str, Any], database_tags: dict[str, str],
             database_problems: list[str]) -> ObservedDataset:
    database, name = scope.name, table["Name"]
    storage = table.get("StorageDescriptor") or {}
    parameters = table.get("Parameters") or {}
    table_type = table.get("TableType") or ""
    view = table_type.upper() == "VIRTUAL_VIEW"
    iceberg = parameters.get("table_type", "").upper() == "ICEBERG"
    problems = list(database_problems)
    location = s3_location(storage.get("Location"))
    try:
        symlinks = [naming.parse_location(location)] if location else []
    except naming.LocationError as exc:
        problems.append(f"no link to the files: {exc}")
        symlinks = []
    columns = [(c["Name"], c.get("Type") or "string") for c in storage.get("Columns", ())]
    partitions = [(c["Name"], c.get("Type") or "string") for c in table.get("PartitionKeys", ())]
    serde = (storage.get("SerdeInfo") or {}).get("SerializationLibrary")
    tags = dict(database_tags)  # a table carries its database's tags, as an S3 dataset its bucket's
    if scope.source.glue_table_tags:
        tags.update(resource_tags(glue, f"arn:aws:glue:{scope.region}:{scope.account}:table/{database}/{name}",
                                  problems))
    if view:
        retained = retention("none", False, "a view holds no data of its own")
    elif location:
        retained = retention("none", False,
                             f"a catalogue entry: the data at {location} follows that bucket's lifecycle")
    else:
        retained = retention("unknown", None, "a catalogue entry without an S3 location")
    return scope.dataset(
        naming.glue(scope.region, scope.account, database, name),
        kind="view" if view else "iceberg" if iceberg else "table",
        format=None if view else table_format(parameters, storage, iceberg),
        location=location,
        description=table.get("Description"),
        partition_keys=[n for n, _ in partitions],
        fields=classify_columns(columns + partitions),
        schema_status=SchemaStatus.CATALOGUE,
        tags=tags,
        symlinks=symlinks,
        problems=problems,
        properties={
            "table_type": table_type or None,
            "serde": serde,
            "input_format": storage.get("InputFormat"),
            "view": view,
            "iceberg": iceberg,
            "parameters": {k: parameters[k] for k in SAFE_PARAMETERS if k in parameters},
            "retention_control": retained,
        },
        # GetTables says when the table last changed (never updated: when it was created)
        metrics={"newest": table.get("UpdateTime") or table.get("CreateTime")},
    )


def s3_location(location: str | None) -> str | None:
    """s3://bucket/prefix without a trailing slash (s3a:// and s3n:// are the same place); None off S3."""
    if not location:
        return None
    for scheme in ("s3a://", "s3n://"):
        if location.startswith(scheme):
            location = "s3://" + location[len(scheme):]
    return location.rstrip("/") if location.startswith("s3://") else None


def table_format(parameters: dict[str, str], storage: dict[str, Any], iceberg: bool) -> str | None:
    if iceberg:
        return "iceberg"
    declared = (parameters.get("classification") or "").lower()
    if declared:
        return declared
    serde = (storage.get("SerdeInfo") or {}).get("SerializationLibrary")
    described = f"{storage.get('InputFormat')} {serde}".lower()
    return next((fmt for key, fmt in _FORMATS_BY_CLASS if key in described), None)


def resource_tags(glue: Any, arn: str, problems: list[str]) -> dict[str, str]:
    try:
        return dict(glue.get_tags(ResourceArn=arn).get("Tags") or {})
    except ClientError as exc:
        problems.append(f"tags of {arn.rsplit(':', 1)[-1]} unreadable: {failure(exc)}")
        return {}
