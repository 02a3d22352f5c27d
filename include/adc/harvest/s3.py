"""S3: one scope per bucket. Its objects are grouped into datasets (see layout.py), one per table.

The bucket is listed page by page (ListObjectsV2, 1,000 keys a page, in key order); a dataset is
described as soon as the listing has moved past its prefix, its schema read from one file (two when
the first is unreadable) on a bounded thread pool while the listing goes on. Memory is a page, the
open datasets and the datasets waiting for their schema, whatever the number of objects.

Without s3:GetObject the datasets are still listed; their schemas are recorded as skipped.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from adc import naming
from adc.aws import AwsClients, error_kind
from adc.config import Source
from adc.harvest import layout, schema
from adc.harvest.base import Listing, Located
from adc.harvest.classify import classify_columns
from adc.harvest.context import ScopeContext, failure, log_failure, retention, tag_dict
from adc.model import ObservedDataset, SchemaStatus, Service
from adc.naming import DatasetId

log = logging.getLogger(__name__)

name = Service.S3
regional = False  # ListBuckets lists every region, and bucket names are global
scopes_per_unit = 1
PAGE_SIZE = 1000
MAX_WAITING = 64  # described datasets waiting for their schema before the listing pauses


def covers(region: str, account: str, bucket: str) -> DatasetId:
    return naming.s3(bucket)


def locate(location: DatasetId) -> Located | None:
    return Located(location.namespace.removeprefix("s3://")) if location.namespace.startswith("s3://") else None


def wants(source: Source, bucket: str) -> bool:
    return source.wants(bucket)


# --------------------------------------------------------------------------- the account's buckets


def list_scopes(clients: AwsClients, source: Source, region: str) -> Listing:
    """Every bucket of the account, and the wanted ones by region (one region per bucket).

    ListBuckets is global: it is called once per source, in its first region. A bucket whose region
    cannot be read (its policy denies GetBucketLocation) goes to that region, where its unit reports why.
    """
    s3 = clients.client("s3")
    buckets: list[dict[str, Any]] = []
    for page in s3.get_paginator("list_buckets").paginate():
        buckets.extend(page.get("Buckets", ()))
    names = {b["Name"] for b in buckets}
    wanted = [b for b in buckets if source.wants(b["Name"])]
    regions = source.all_regions

    def region_of(bucket: dict[str, Any]) -> str:
        if bucket.get("BucketRegion"):
            return bucket["BucketRegion"]
        try:
            constraint = s3.get_bucket_location(Bucket=bucket["Name"]).get("LocationConstraint")
        except ClientError:
            return region
        return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(constraint, constraint)

    with ThreadPoolExecutor(8) as pool:
        located = list(pool.map(region_of, wanted))
    by_region: dict[str, list[str]] = {r: [] for r in regions}
    for bucket, where in zip(wanted, located, strict=True):
        if where in by_region:
            by_region[where].append(bucket["Name"])
    return Listing(wanted=by_region, found=names)


# --------------------------------------------------------------------------- one bucket


def harvest(scope: ScopeContext) -> Iterator[ObservedDataset]:
    """The datasets of one bucket. Raises (and so fails the scope) when the listing fails."""
    s3 = scope.clients.client("s3")
    bucket = scope.name
    settings, tags, problems = bucket_settings(s3, bucket)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": PAGE_SIZE})
    objects = (obj for page in pages for obj in page.get("Contents", ()) if storable(scope, obj["Key"]))
    pool = ThreadPoolExecutor(scope.readers, thread_name_prefix=f"adc-s3-{bucket}"[:40])
    waiting: deque[Future] = deque()
    try:
        for listing in layout.group(objects):
            waiting.append(pool.submit(describe, scope, s3, listing, settings, tags, problems))
            while waiting and (waiting[0].done() or len(waiting) > MAX_WAITING):
                yield waiting.popleft().result()
        while waiting:
            yield waiting.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def storable(scope: ScopeContext, key: str) -> bool:
    """False, with the key reported, for a key holding a NUL character: S3 allows one, PostgreSQL can
    keep it in no text column, and one such key must not fail the register's whole harvest."""
    if "\x00" not in key:
        return True
    shown = key.replace("\x00", "\\x00")
    scope.unreadable(f"s3://{scope.name}/{shown}: a NUL character in the key, which the register cannot keep")
    return False


def describe(scope: ScopeContext, s3: Any, listing: layout.DatasetListing, settings: dict[str, Any],
             tags: dict[str, str] | None, bucket_problems: list[str]) -> ObservedDataset:
    """One dataset from its listing, with its schema read from a sample file (runs on the pool)."""
    bucket = scope.name
    properties: dict[str, Any] = {
        "bucket": settings,
        "layout": listing.layout,
        "retention_control": lifecycle_retention(listing.name, settings["lifecycle_rules"]),
    }
    if listing.table_format:
        properties["table_format"] = listing.table_format
    if len(listing.formats) > 1:
        properties["formats"] = {str(k): v for k, v in sorted(listing.formats.items(), key=lambda i: str(i[0]))}
    problems = list(bucket_problems)
    if listing.layouts_differ:
        problems.append(f"{listing.layouts_differ} data file(s) do not follow the partition layout "
                        f"{'/'.join(listing.partition_keys) or '(none)'}")
    dataset = scope.dataset(
        naming.s3(bucket, listing.name),
        kind="file" if listing.layout == layout.FILE else "table",
        format=listing.format,
        location=f"s3://{bucket}/{listing.name}".rstrip("/"),
        partition_keys=list(listing.partition_keys),
        object_count=listing.object_count,
        size_bytes=listing.size_bytes,
        first_modified=listing.first_modified,
        last_modified=listing.last_modified,
        tags=dict(tags or {}),
        properties=properties,
        problems=problems,
    )
    read_schema(scope, s3, dataset, listing)
    return dataset


def read_schema(scope: ScopeContext, s3: Any, dataset: ObservedDataset, listing: layout.DatasetListing) -> None:
    """Fill the dataset's fields from its sample files; the sample rows die with this call."""
    samples = listing.sample_files()
    if not samples:
        dataset.schema_status = SchemaStatus.SKIPPED
        dataset.problems.append("no non-empty data file to read a schema from")
        return
    for sample in samples:
        def fetch(start: int, end: int, key: str = sample.key) -> bytes:
            return s3.get_object(Bucket=scope.name, Key=key, Range=f"bytes={start}-{end}")["Body"].read()

        try:
            found = schema.infer(fetch, sample.size, layout.file_format(sample.key),
                                 sample_rows=scope.source.sample_rows)
        except schema.Skipped as exc:
            dataset.schema_status = SchemaStatus.SKIPPED
            dataset.problems.append(f"{sample.key}: schema skipped: {exc}")
            return
        except schema.Unreadable as exc:
            _unreadable(scope, dataset, sample.key, str(exc))
            continue
        except ClientError as exc:
            if error_kind(exc) == "AccessDenied":  # no s3:GetObject: listed, not read
                dataset.schema_status = SchemaStatus.SKIPPED
                dataset.problems.append(f"schema skipped: no permission to read objects ({failure(exc)})")
                return
            _unreadable(scope, dataset, sample.key, failure(exc))
            continue
        except Exception as exc:  # noqa: BLE001 - one odd file must not fail its bucket
            log_failure(log, f"reading s3://{scope.name}/{sample.key}", exc)
            _unreadable(scope, dataset, sample.key, failure(exc))
            continue
        dataset.fields = classify_columns(found.columns, found.rows)
        if dataset.format in (None, "gz"):  # the name declared nothing useful: what the content is
            dataset.format = found.format
        dataset.schema_status = SchemaStatus.INFERRED
        if found.row_count is not None:  # a Parquet footer: counts of the one file read
            dataset.metrics.update(row_count=found.row_count, sampled_files=1, null_counts=found.null_counts or {})
        if found.problem:
            dataset.problems.append(f"{sample.key}: {found.problem}")
        return


def _unreadable(scope: ScopeContext, dataset: ObservedDataset, key: str, reason: str) -> None:
    dataset.problems.append(f"{key}: unreadable: {reason}")
    scope.unreadable(f"s3://{scope.name}/{key}: {reason}")
    if not dataset.fields:
        dataset.schema_status = SchemaStatus.UNREADABLE


# --------------------------------------------------------------------------- bucket settings

_ABSENT = {  # the error codes that mean "not configured", per setting
    "tags": "NoSuchTagSet",
    "encryption": "ServerSideEncryptionConfigurationNotFoundError",
    "public_access_block": "NoSuchPublicAccessBlockConfiguration",
    "lifecycle_rules": "NoSuchLifecycleConfiguration",
}


def bucket_settings(s3: Any, bucket: str) -> tuple[dict[str, Any], dict[str, str] | None, list[str]]:
    """(settings, tags, problems). A setting that cannot be read is None, with a problem saying why.

    NoSuchBucket is raised: the bucket went away between the plan and its unit, a failed scope.
    """
    problems: list[str] = []

    def read(name: str, call, parse, absent: Any):
        try:
            return parse(call(Bucket=bucket))
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code == "NoSuchBucket":
                raise
            if code == _ABSENT.get(name):
                return absent
            problems.append(f"bucket {name.replace('_', ' ')} unreadable: {failure(exc)}")
            return None

    tags = read("tags", s3.get_bucket_tagging, lambda r: tag_dict(r.get("TagSet")), {})
    settings = {
        "encryption": read("encryption", s3.get_bucket_encryption, _encryption, "none"),
        "versioning": read("versioning", s3.get_bucket_versioning,
                           lambda r: (r.get("Status") or "disabled").lower(), "disabled"),
        "public_access_block": read(
            "public_access_block", s3.get_public_access_block,
            lambda r: all(r["PublicAccessBlockConfiguration"].get(k) for k in (
                "BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")),
            False,
        ),
        "lifecycle_rules": read("lifecycle_rules", s3.get_bucket_lifecycle_configuration,
                                lambda r: [_lifecycle_rule(rule) for rule in r.get("Rules", ())], []),
    }
    return settings, tags, problems


def _encryption(response: dict[str, Any]) -> str:
    rules = response.get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
    default = rules[0].get("ApplyServerSideEncryptionByDefault", {}) if rules else {}
    return default.get("SSEAlgorithm") or "none"


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    filter_ = rule.get("Filter") or {}
    both = filter_.get("And") or {}
    prefix = filter_.get("Prefix", both.get("Prefix", rule.get("Prefix", ""))) or ""
    expiration = rule.get("Expiration") or {}
    return {
        "id": rule.get("ID"),
        "status": rule.get("Status"),
        "prefix": prefix,
        "tag_filter": bool(filter_.get("Tag") or both.get("Tags")),
        "expiration_days": expiration.get("Days"),
        "expiration_date": str(expiration["Date"]) if expiration.get("Date") else None,
        "noncurrent_expiration_days": (rule.get("NoncurrentVersionExpiration") or {}).get("NoncurrentDays"),
        "transitions": [{"days": t.get("Days"), "storage_class": t.get("StorageClass")}
                        for t in rule.get("Transitions", ())],
    }


def lifecycle_retention(prefix: str, rules: list[dict[str, Any]] | None) -> dict[str, Any]:
    """Whether an enabled lifecycle rule expires every object under the dataset's prefix."""
    if rules is None:
        return retention("unknown", None, "the bucket's lifecycle configuration could not be read")
    if not rules:
        return retention("none", False, "the bucket has no lifecycle rules")
    path = f"{prefix}/" if prefix else ""
    for rule in rules:
        expires = rule["expiration_days"] or rule["expiration_date"]
        if rule["status"] == "Enabled" and expires and not rule["tag_filter"] and path.startswith(rule["prefix"]):
            days, date = rule["expiration_days"], rule["expiration_date"]
            when = f"after {days} days" if days else f"on {date}"
            return retention("s3_lifecycle", True, f"lifecycle rule {rule['id']!r} expires objects {when}")
    return retention("s3_lifecycle", False,
                     f"{len(rules)} lifecycle rule(s), none expiring every object under {path or 'the bucket'}")
