"""RDS: one scope per DB instance. The instance is a dataset of kind ``database`` (engine, endpoint,
encryption, tags); with access configured for it in sources.yaml, so are its tables (PostgreSQL
engines), named postgres://<RDS endpoint>:<port> + database.schema.table."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from adc import naming
from adc.aws import AwsClients
from adc.config import Source
from adc.harvest import sql
from adc.harvest.base import Listing, Located, locate_arn
from adc.harvest.context import ScopeContext, failure, retention, tag_dict
from adc.model import ObservedDataset, Service
from adc.naming import DatasetId

name = Service.RDS
regional = True
scopes_per_unit = 10
PAGE_SIZE = 100  # DescribeDBInstances MaxRecords (20 to 100)


def covers(region: str, account: str, instance: str) -> DatasetId:
    return naming.rds_instance(region, account, instance)


def locate(location: DatasetId) -> Located | None:
    return locate_arn(location, name, r"^db:(.+)$")


def wants(source: Source, instance: str) -> bool:
    return source.wants(instance)


def list_scopes(clients: AwsClients, source: Source, region: str) -> Listing:
    pages = clients.client("rds").get_paginator("describe_db_instances").paginate(
        PaginationConfig={"PageSize": PAGE_SIZE})
    names = [i["DBInstanceIdentifier"] for page in pages for i in page.get("DBInstances", ())]
    return Listing(wanted={region: [n for n in names if wants(source, n)]}, found=set(names))


def harvest(scope: ScopeContext) -> Iterator[ObservedDataset]:
    rds = scope.clients.client("rds")
    instance = rds.describe_db_instances(DBInstanceIdentifier=scope.name)["DBInstances"][0]
    problems: list[str] = []
    tags = tag_dict(instance.get("TagList")) if "TagList" in instance else _tags(rds, instance, problems)
    endpoint = instance.get("Endpoint") or {}
    host, port = endpoint.get("Address"), endpoint.get("Port") or 5432
    engine = instance.get("Engine") or ""
    backups = instance.get("BackupRetentionPeriod")
    shared: dict[str, Any] = {
        "tags": tags,
        "properties": {"engine": engine, "endpoint": host, "port": port,
                       "encrypted": bool(instance.get("StorageEncrypted"))},
    }
    access = scope.source.databases.get(scope.name)
    if access and host:
        if "postgres" in engine:
            yield from sql.inspect_tables(
                scope, access, instance.get("DBName"),
                lambda database, schema, table: naming.postgres(host, port, database, schema, table),
                shared, problems,
            )
        else:
            problems.append(f"schema inspection skipped: engine {engine!r} is not PostgreSQL")
    yield scope.dataset(
        covers(scope.region, scope.account, scope.name),
        kind="database",
        format=engine or None,
        location=f"{host}:{port}" if host else None,
        tags=tags,
        problems=problems,
        properties={
            **shared["properties"],
            "engine_version": instance.get("EngineVersion"),
            "database_name": instance.get("DBName"),
            "publicly_accessible": instance.get("PubliclyAccessible"),
            "multi_az": instance.get("MultiAZ"),
            "retention_control": retention(
                "none", False, "no service-level expiry of rows"
                + (f" (automated backups kept {backups} days)" if backups is not None else "")),
        },
    )


def _tags(rds: Any, instance: dict[str, Any], problems: list[str]) -> dict[str, str]:
    try:
        return tag_dict(rds.list_tags_for_resource(ResourceName=instance["DBInstanceArn"]).get("TagList"))
    except ClientError as exc:
        problems.append(f"tags unreadable: {failure(exc)}")
        return {}
