"""Redshift: one scope per provisioned cluster. The cluster is a dataset of kind ``cluster``; with
access configured for it in sources.yaml, so are its tables, named by OpenLineage's Redshift rule
(redshift://<cluster>.<region>:<port> + database.schema.table)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from adc import naming
from adc.aws import AwsClients
from adc.config import Source
from adc.harvest import sql
from adc.harvest.base import Listing, Located, locate_arn
from adc.harvest.context import ScopeContext, retention, tag_dict
from adc.model import ObservedDataset, Service
from adc.naming import DatasetId

name = Service.REDSHIFT
regional = True
scopes_per_unit = 10


def covers(region: str, account: str, cluster: str) -> DatasetId:
    return naming.redshift_cluster(region, account, cluster)


def locate(location: DatasetId) -> Located | None:
    return locate_arn(location, name, r"^cluster:(.+)$")


def wants(source: Source, cluster: str) -> bool:
    return source.wants(cluster)


def list_scopes(clients: AwsClients, source: Source, region: str) -> Listing:
    pages = clients.client("redshift").get_paginator("describe_clusters").paginate()
    names = [c["ClusterIdentifier"] for page in pages for c in page.get("Clusters", ())]
    return Listing(wanted={region: [n for n in names if wants(source, n)]}, found=set(names))


def harvest(scope: ScopeContext) -> Iterator[ObservedDataset]:
    cluster = scope.clients.client("redshift").describe_clusters(ClusterIdentifier=scope.name)["Clusters"][0]
    problems: list[str] = []
    tags = tag_dict(cluster.get("Tags"))
    endpoint = cluster.get("Endpoint") or {}
    host, port = endpoint.get("Address"), endpoint.get("Port") or 5439
    shared: dict[str, Any] = {
        "tags": tags,
        "properties": {"engine": "redshift", "endpoint": host, "port": port,
                       "encrypted": bool(cluster.get("Encrypted"))},
    }
    access = scope.source.databases.get(scope.name)
    if access:
        yield from sql.inspect_tables(
            scope, access, cluster.get("DBName"),
            lambda database, schema, table: naming.redshift(scope.name, scope.region, port, database, schema, table),
            shared, problems,
        )
    yield scope.dataset(
        covers(scope.region, scope.account, scope.name),
        kind="cluster",
        format="redshift",
        location=f"{host}:{port}" if host else None,
        tags=tags,
        problems=problems,
        properties={
            **shared["properties"],
            "database_name": cluster.get("DBName"),
            "node_type": cluster.get("NodeType"),
            "nodes": cluster.get("NumberOfNodes"),
            "publicly_accessible": cluster.get("PubliclyAccessible"),
            "retention_control": retention("none", False, "no service-level expiry of rows"),
        },
    )
