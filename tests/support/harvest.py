"""Helpers for harvest tests: sources, AWS clients on the moto server, registered assets, results."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
from sqlalchemy import true

from adc import naming
from adc.config import SourcesFile
from adc.harvest import runner
from adc.register import assets, store

REGION, ACCOUNT = "eu-west-2", "123456789012"
# every dataset of the DCR demo estate as the harvest describes it (see test_dcr_estate.py)
GOLDEN = Path(__file__).resolve().parents[1] / "integration" / "harvest" / "golden" / "dcr_estate.json"


def sources(*specs: dict[str, Any]) -> SourcesFile:
    """A sources file of these sources (name, region default to one eu-west-2 source named src)."""
    specs = specs or ({},)
    return SourcesFile.model_validate({"sources": [
        {"name": "src", **({} if "regions" in spec else {"region": REGION}), **spec} for spec in specs]})


def aws(server, service: str, region: str = REGION, **keys: str):
    keys = keys or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    return boto3.client(service, endpoint_url=server.url, region_name=region, **keys)


def bucket(server, name: str, objects: dict[str, bytes] | None = None, region: str = REGION) -> None:
    s3 = aws(server, "s3", region)
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda item: s3.put_object(Bucket=name, Key=item[0], Body=item[1]), (objects or {}).items()))


def register_asset(engine, asset_id: str, *uris: str) -> None:
    """An asset in the register pointing at these locations (through the register's own API)."""
    record = assets.AssetRecord(asset_id, {"name": asset_id}, locations=[
        (uri, naming.parse_location(uri, region=REGION, account=ACCOUNT)) for uri in uris])
    with engine.begin() as conn:
        assets.create(conn, record, actor="test", cause_kind="import", cause=None)


def harvest(engine, config: SourcesFile | None = None, **kw: Any) -> dict[str, Any]:
    return runner.harvest(engine, config or sources(), **kw)


def current(engine) -> dict[tuple[str, str], dict[str, Any]]:
    """The register's current datasets by (namespace, name)."""
    everything = store.current_datasets(engine, visible=true())
    return {(d["id"]["namespace"], d["id"]["name"]): d for d in everything}


def scopes(summary: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """The run's coverage by (service, scope)."""
    return {(s["service"], s["scope"]): s for s in summary["coverage"]["scopes"]}


def fields(dataset: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    return {f["name"]: (f["classification"], f["category"]) for f in dataset["fields"]}


def projection(dataset: dict[str, Any]) -> dict[str, Any]:
    """What the golden file pins: identity, layout, format, schema and classification, links, retention."""
    return {
        "dataset": naming.DatasetId(dataset["id"]["namespace"], dataset["id"]["name"]).uri,
        "service": dataset["service"],
        "kind": dataset["kind"],
        "format": dataset["format"],
        "layout": dataset["properties"].get("layout"),
        "partition_keys": dataset["partition_keys"],
        "schema_status": dataset["schema_status"],
        "object_count": dataset["object_count"],
        "fields": [" ".join(filter(None, (f["name"], f["type"], f["classification"], f["category"])))
                   for f in dataset["fields"]],
        "symlinks": [naming.DatasetId(s["namespace"], s["name"]).uri for s in dataset["symlinks"]],
        "retention_control": [dataset["properties"]["retention_control"][k] for k in ("kind", "active")],
        "tags": dataset["tags"],
    }


def estate_projection(engine) -> list[dict[str, Any]]:
    """The register's current datasets as the golden file pins them."""
    return [projection(d) for d in current(engine).values()]
