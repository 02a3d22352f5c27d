"""DynamoDB: one scope per table. Key schema, TTL, item count and tags from the service; the other
attribute names from one bounded Scan page (``sample_rows`` items), classified and then dropped
(attribute names that look like personal data are one map column, see :func:`adc.harvest.schema.record_columns`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from adc import naming
from adc.aws import AwsClients
from adc.config import Source
from adc.harvest.base import Listing, Located, locate_arn
from adc.harvest.classify import classify_columns
from adc.harvest.context import ScopeContext, failure, retention, tag_dict
from adc.harvest.schema import json_type, record_columns
from adc.model import ObservedDataset, SchemaStatus, Service
from adc.naming import DatasetId

name = Service.DYNAMODB
regional = True
scopes_per_unit = 20
_KEY_TYPES = {"S": "string", "N": "number", "B": "binary"}
_DESERIALIZER = TypeDeserializer()


def covers(region: str, account: str, table: str) -> DatasetId:
    return naming.dynamodb(region, account, table)


def locate(location: DatasetId) -> Located | None:
    return locate_arn(location, name, r"^table/([^/]+)")


def wants(source: Source, table: str) -> bool:
    return source.wants(table)


def list_scopes(clients: AwsClients, source: Source, region: str) -> Listing:
    dynamodb = clients.client("dynamodb")
    names = [n for page in dynamodb.get_paginator("list_tables").paginate() for n in page.get("TableNames", ())]
    return Listing(wanted={region: [n for n in names if wants(source, n)]}, found=set(names))


def harvest(scope: ScopeContext) -> Iterator[ObservedDataset]:
    dynamodb = scope.clients.client("dynamodb")
    table = dynamodb.describe_table(TableName=scope.name)["Table"]  # ResourceNotFound fails the scope
    problems: list[str] = []
    ttl = _ttl(dynamodb, scope.name, problems)
    tags = _tags(dynamodb, table["TableArn"], problems)
    items = _sample(dynamodb, scope.name, scope.source.sample_rows, problems)

    definitions = {a["AttributeName"]: _KEY_TYPES.get(a["AttributeType"], a["AttributeType"])
                   for a in table.get("AttributeDefinitions", ())}
    key_schema = [{"name": k["AttributeName"], "key_type": k["KeyType"], "type": definitions.get(k["AttributeName"])}
                  for k in table.get("KeySchema", ())]
    # the key attributes are the table's definition, so their names stay names whatever they look like
    seen, keyed_problem = record_columns(items, declared=[k["name"] for k in key_schema])
    if keyed_problem:
        problems.append(keyed_problem)
    columns = [(name, json_type(values) if values else definitions.get(name, "string"))
               for name, values in seen.items()]
    if ttl is None:
        retained = retention("unknown", None, "the table's TTL setting could not be read")
    elif ttl["status"] in ("ENABLED", "ENABLING"):
        retained = retention("dynamodb_ttl", True,
                             f"TTL deletes items after the time in attribute {ttl['attribute']!r}")
    else:
        retained = retention("dynamodb_ttl", False, "TTL is off: items are kept until deleted")
    yield scope.dataset(
        covers(scope.region, scope.account, scope.name),
        kind="table",
        fields=classify_columns(columns, items),
        schema_status=SchemaStatus.INFERRED if items else SchemaStatus.CATALOGUE,
        object_count=table.get("ItemCount"),
        size_bytes=table.get("TableSizeBytes"),
        metrics={"row_count": table.get("ItemCount")},  # DescribeTable's (six-hourly) item count
        tags=tags,
        problems=problems,
        properties={
            "key_schema": key_schema,
            "ttl": ttl,
            "item_count": table.get("ItemCount"),
            "billing_mode": (table.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED"),
            "encryption": (table.get("SSEDescription") or {}).get("SSEType", "AWS_OWNED"),
            "retention_control": retained,
        },
    )


def _ttl(dynamodb: Any, table: str, problems: list[str]) -> dict[str, Any] | None:
    try:
        description = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    except ClientError as exc:
        problems.append(f"TTL unreadable: {failure(exc)}")
        return None
    return {"status": description.get("TimeToLiveStatus"), "attribute": description.get("AttributeName")}


def _tags(dynamodb: Any, arn: str, problems: list[str]) -> dict[str, str]:
    tags: dict[str, str] = {}
    try:
        for page in dynamodb.get_paginator("list_tags_of_resource").paginate(ResourceArn=arn):
            tags.update(tag_dict(page.get("Tags")))
    except ClientError as exc:
        problems.append(f"tags unreadable: {failure(exc)}")
    return tags


def _sample(dynamodb: Any, table: str, limit: int, problems: list[str]) -> list[dict[str, Any]]:
    """One Scan page of at most ``limit`` items, as Python values (kept in memory by the caller only)."""
    try:
        items = dynamodb.scan(TableName=table, Limit=limit).get("Items", [])
    except ClientError as exc:
        problems.append(f"attribute sample skipped: {failure(exc)}")
        return []
    return [{key: _DESERIALIZER.deserialize(value) for key, value in item.items()} for item in items]
