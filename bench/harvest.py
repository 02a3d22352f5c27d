"""The harvest against a bare listing of the same estate.

An estate of N datasets x 20 objects (Hive partitions day=01..20; Parquet, CSV or JSON lines; 25 rows
a file) spread over 5 buckets, plus N Glue tables (one per dataset, 5 databases), is generated once
in a moto server. In the same run the benchmark measures, each as a subprocess:

- the baseline: a bare boto3 listing of the same buckets (ListObjectsV2) and tables (GetTables);
- ``adc harvest``: listing, bucket settings, schema inference (one ranged read per dataset),
  classification, and the run merged into a SQLite register.

Targets at N=1000: harvest at most 2.5x the bare listing; peak RSS under 200 MB, not growing with N.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.common import OUT, Measured, measure, moto_server, table

REGION = "eu-west-2"
BUCKETS = 5
OBJECTS_PER_DATASET = 20
ROWS_PER_FILE = 25
FORMATS = ("parquet", "csv", "jsonl")

LISTING = """
import sys, boto3
from botocore.config import Config
url, buckets, databases = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(",")
config = Config(retries={"mode": "adaptive", "max_attempts": 8})
s3 = boto3.client("s3", endpoint_url=url, region_name="eu-west-2", config=config)
glue = boto3.client("glue", endpoint_url=url, region_name="eu-west-2", config=config)
pages = (p for b in buckets for p in s3.get_paginator("list_objects_v2").paginate(Bucket=b))
objects = sum(len(p.get("Contents", [])) for p in pages)
tables = sum(len(p["TableList"]) for d in databases for p in glue.get_paginator("get_tables").paginate(DatabaseName=d))
print(objects, tables)
"""


def rows(seed: int) -> list[dict]:
    return [{"applicant_id": f"A{seed}-{i}", "full_name": f"Person {i}", "email": f"p{i}@example.org",
             "postcode": "SW1A 1AA", "amount": i * 1.5, "status": "open" if i % 2 else "closed",
             "notes": "Called about the application."} for i in range(ROWS_PER_FILE)]


def generate(url: str, n: int) -> tuple[list[str], list[str]]:
    """The estate in moto (threads: moto answers requests concurrently). Returns (buckets, databases)."""
    import boto3

    from adc.demo.files import encode

    keys = {"endpoint_url": url, "region_name": REGION, "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing"}
    s3, glue = boto3.client("s3", **keys), boto3.client("glue", **keys)
    bodies = {fmt: encode(rows(0), fmt) for fmt in FORMATS}
    buckets = [f"bench-lake-{b}" for b in range(BUCKETS)]
    databases = [f"bench_db_{b}" for b in range(BUCKETS)]
    for name, database in zip(buckets, databases, strict=True):
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        glue.create_database(DatabaseInput={"Name": database})

    def dataset(i: int) -> None:
        fmt, name = FORMATS[i % len(FORMATS)], f"table_{i:05d}"
        for day in range(1, OBJECTS_PER_DATASET + 1):
            s3.put_object(Bucket=buckets[i % BUCKETS], Key=f"{name}/year=2024/month=05/day={day:02d}/part-0.{fmt}",
                          Body=bodies[fmt])
        glue.create_table(DatabaseName=databases[i % BUCKETS], TableInput={
            "Name": name, "Parameters": {"classification": fmt},
            "PartitionKeys": [{"Name": k, "Type": "string"} for k in ("year", "month", "day")],
            "StorageDescriptor": {"Location": f"s3://{buckets[i % BUCKETS]}/{name}/",
                                  "Columns": [{"Name": c, "Type": "string"} for c in rows(0)[0]]}})

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(dataset, range(n)))
    return buckets, databases


def measure_both(url: str, n: int, buckets: list[str], databases: list[str], repeat: int
                 ) -> tuple[Measured, Measured, dict]:
    """The fastest of ``repeat`` listings and of ``repeat`` harvests (each into a fresh register), taken
    alternately so that load from elsewhere on the machine falls on both alike; peak RSS is the largest."""
    aws = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
           "AWS_EC2_METADATA_DISABLED": "true"}
    listings, harvests = [], []
    for _ in range(repeat):
        listing = measure([sys.executable, "-c", LISTING, url, ",".join(buckets), ",".join(databases)], env=aws)
        assert listing.stdout.split() == [str(n * OBJECTS_PER_DATASET), str(n)], listing.stdout
        work = Path(tempfile.mkdtemp(prefix=f"harvest-{n}-", dir=OUT))
        (work / "sources.yaml").write_text(
            f"sources:\n  - name: bench\n    region: {REGION}\n    services: [s3, glue]\n")
        env = {**aws, "ADC_REGISTER_URL": f"sqlite:///{work / 'register.db'}",
               "ADC_SOURCES": str(work / "sources.yaml"), "AWS_ENDPOINT_URL": url}
        harvest = measure([sys.executable, "-m", "adc.cli", "harvest", "--json"], env=env)
        summary = json.loads(harvest.stdout)
        assert summary["datasets"] == 2 * n and not summary["errors"], summary["errors"]
        listings.append(listing)
        harvests.append(harvest)
    return _best(listings), _best(harvests), summary


def _best(runs: list[Measured]) -> Measured:
    fastest = min(runs, key=lambda m: m.seconds)
    return Measured(fastest.seconds, max(m.peak_rss_mb for m in runs), fastest.returncode, fastest.stdout)


def run(quick: bool) -> str:
    sizes = [int(s) for s in os.environ.get("ADC_BENCH_HARVEST_SIZES", "").split(",") if s] or (
        [20] if quick else [100, 1000])
    OUT.mkdir(parents=True, exist_ok=True)
    results = []
    for n in sizes:
        with moto_server() as url:
            print(f"  generating N={n}: {n * OBJECTS_PER_DATASET} objects, {n} Glue tables", flush=True)
            buckets, databases = generate(url, n)
            listing, harvest, summary = measure_both(url, n, buckets, databases, repeat=3 if n <= 1000 else 1)
            results.append((n, listing, harvest, summary))
            print(f"  N={n}: listing {listing.seconds:.2f} s, harvest {harvest.seconds:.2f} s "
                  f"({harvest.ratio_to(listing):.2f}x), peak RSS {harvest.peak_rss_mb:.0f} MB", flush=True)
    rows_ = [[n, n * OBJECTS_PER_DATASET, listing.seconds, harvest.seconds, f"{harvest.ratio_to(listing):.2f}x",
              f"{listing.peak_rss_mb:.0f}", f"{harvest.peak_rss_mb:.0f}", summary["datasets"]]
             for n, listing, harvest, summary in results]
    return "\n".join([
        "## Harvest",
        "",
        f"N datasets x {OBJECTS_PER_DATASET} objects (Hive partitions; Parquet, CSV, JSON lines; {ROWS_PER_FILE} rows "
        f"a file) in {BUCKETS} buckets, plus N Glue tables, in a moto server on this machine. Baseline: a bare boto3 "
        "listing of the same buckets and tables. `adc harvest` adds bucket settings, one ranged read per dataset "
        "for its schema, GetTags per Glue database, classification of every column, and the merge into a SQLite "
        "register. Both are measured as subprocesses (wall time including interpreter start; peak RSS of the "
        "process), alternately, three times up to N=1000 (the fastest of each is shown; the machine is shared).",
        "",
        table(["N", "objects", "listing s", "adc harvest s", "ratio", "listing MB", "harvest MB", "datasets"], rows_),
        "",
        "Targets at N=1000: ratio at most 2.5x, peak RSS under 200 MB and not growing between N=1000 and N=5000.",
    ])
