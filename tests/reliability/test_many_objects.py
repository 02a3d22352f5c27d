"""Millions of tiny objects under one prefix: one dataset, counted exactly, listed once, in memory that
does not grow with the number of objects (DESIGN.md: a unit holds a page, not the estate).

moto cannot hold a million objects in reasonable time, so the fault proxy answers S3's listing of
the prefix itself (tests/support/faults.py: TinyObjects), page by page in S3's own XML; the
bucket and everything else about it are real, in moto. `adc harvest` runs as its own process so its
peak memory is its own (os.wait4).
"""

from __future__ import annotations

import json
import math

import boto3
import pytest

from bench.common import measure
from tests.reliability.conftest import ADC, SOURCES
from tests.support.faults import FaultProxy, TinyObjects

pytestmark = pytest.mark.reliability("input")

BUCKET, PREFIX = "dcr-prod-sensor-pings", "pings/"
GROWTH_MB = 40  # a million keys held in memory would be well over 100 MB


@pytest.fixture
def tiny_bucket(moto):
    s3 = boto3.client("s3", endpoint_url=moto.url, region_name="eu-west-2")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
    s3.put_bucket_tagging(Bucket=BUCKET, Tagging={"TagSet": [{"Key": "iar:asset-id", "Value": "IA-0900"}]})
    return moto


def harvest_tiny_objects(moto, tmp_path, count: int) -> tuple[dict, TinyObjects, float]:
    """Harvest the bucket holding ``count`` tiny objects; (the summary's dataset, the lister, peak RSS MB)."""
    objects = TinyObjects(BUCKET, PREFIX, count)
    sources = tmp_path / "sources.yaml"
    sources.write_text(SOURCES + "    services: [s3]\n")
    register = f"sqlite:///{tmp_path / f'register-{count}.db'}"
    with FaultProxy(upstream=moto.url, answerers=[objects]) as proxy:
        run = measure([ADC, "harvest", "--config", str(sources), "--json"],
                      env={"AWS_ENDPOINT_URL": proxy.url, "ADC_REGISTER_URL": register})
        datasets = measure([ADC, "datasets", "--json"], env={"ADC_REGISTER_URL": register})
    summary = json.loads(run.stdout)
    assert summary["status"] == "complete" and summary["errors"] == [], summary
    [dataset] = json.loads(datasets.stdout)
    return dataset, objects, run.peak_rss_mb


def _check(dataset: dict, objects: TinyObjects) -> None:
    assert (dataset["namespace"], dataset["name"]) == (f"s3://{BUCKET}", PREFIX.rstrip("/"))
    assert dataset["object_count"] == objects.count and dataset["size_bytes"] == objects.count * objects.size
    assert [f["name"] for f in dataset["fields"]] == ["case_id", "status"]
    assert dataset["tags"] == {"iar:asset-id": "IA-0900"}
    assert objects.listed_pages == math.ceil(objects.count / 1000)  # each page once, never listed again


@pytest.mark.parametrize("count", [200_000, pytest.param(2_000_000, marks=pytest.mark.slow)])
def test_many_tiny_objects_are_one_dataset_in_memory_that_does_not_grow_with_them(tiny_bucket, tmp_path, count):
    small, small_objects, small_rss = harvest_tiny_objects(tiny_bucket, tmp_path, 10_000)
    big, big_objects, big_rss = harvest_tiny_objects(tiny_bucket, tmp_path, count)
    _check(small, small_objects)
    _check(big, big_objects)
    assert big_rss - small_rss < GROWTH_MB, (small_rss, big_rss)
