"""The register UI at 100,000 assets: how long each page takes, against a trivial route in the same run.

For SQLite and PostgreSQL (when one is reachable): the register and estate of bench/reconcile.py
(100,000 assets, one S3 dataset each, 1,000 per bucket) plus 10,000 Glue tables over those datasets
(symlinks, for the asset page's lineage neighbours) and the demo RoPA, reconciled twice with 1% of
the estate changed in between (so there are findings and history). Each page is requested through
the app in this process (FastAPI's TestClient: routing, the login dependency, the queries, the
templates; no network), once to warm up and then REPEAT times; the table gives the median and the
slowest, and the median as a multiple of the baseline route (/adc/api/me: the login dependency and
a JSON answer, no database). The register and audit-pack downloads are timed once.

Then the same pages again under organisations.yaml (docs/organisations.md): a tenth of the assets
and datasets belong to an agency, a twentieth to a sealed unit, a fifth are marked SECRET, and the
reader is the department's analyst cleared to OFFICIAL-SENSITIVE. The last column is that run's
median over the median without the file, measured in the same run: what the visibility rule costs.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from fastapi import Request

from adc.ui.auth import Person
from bench.common import OUT, table
from bench.reconcile import (
    SOURCE,
    T0,
    Database,
    Loader,
    apply_changes,
    bucket,
    fields,
    load_base,
    postgres_admin_url,
)

FULL, QUICK = 100_000, 5_000
GLUE_EVERY = 10  # one Glue table over every tenth dataset
REPEAT, QUICK_REPEAT = 15, 3
SECRET = b"bench-secret-0123456789abcdef"


def glue_tables(n: int):
    """observed_dataset rows: a Glue table over every GLUE_EVERY-th S3 dataset (its symlink)."""
    from bench.reconcile import DATASET_COLUMNS

    for i in range(0, n, GLUE_EVERY):
        namespace, name = "arn:aws:glue:eu-west-2:123456789012", f"table/db_{i // 1000:05d}/t_{i:07d}"
        link = [{"namespace": f"s3://{bucket(i)}", "name": f"ds-{i:07d}"}]
        rec = {"id": {"namespace": namespace, "name": name}, "service": "glue", "source": SOURCE,
               "scope": f"db_{i // 1000:05d}", "kind": "table", "format": "parquet", "fields": fields(i % 2 == 0),
               "partition_keys": [], "tags": {}, "symlinks": link, "properties": {}, "classification": "none",
               "personal_data": False, "special_categories": None, "criminal_offence_data": False,
               "schema_status": "catalogue"}
        row = dict.fromkeys(DATASET_COLUMNS)
        row.update(namespace=namespace, name=name, service="glue", source=SOURCE, region="eu-west-2",
                   scope=rec["scope"], kind="table", format="parquet", classification="none", personal_data=False,
                   criminal_offence_data=False, schema_status="catalogue", tags="{}", symlinks=json.dumps(link),
                   content_hash=f"glue-{i}", first_seen_run="h1", first_seen_at=T0, last_seen_run="h1",
                   last_seen_at=T0, gone=False, record=json.dumps(rec))
        yield tuple(row[c] for c in DATASET_COLUMNS)


def build(url: str, n: int) -> None:
    from adc.demo import ropa as demo_ropa
    from adc.demo.content import ROPA_CSV
    from adc.register import reconcile
    from adc.register.db import make_engine
    from bench.reconcile import DATASET_COLUMNS

    load_base(url, n)
    loader = Loader(url)
    loader.write("observed_dataset", DATASET_COLUMNS, glue_tables(n))
    loader.close()
    engine = make_engine(url)
    demo_ropa.load(engine, ROPA_CSV)
    reconcile.reconcile(engine)
    apply_changes(url, n)
    reconcile.reconcile(engine)
    engine.dispose()


ORGANISATIONS = """\
organisations:
  - {id: dept, name: Department}
  - {id: cra, name: Agency, parent: dept}
  - {id: psu, name: Sealed unit, parent: dept, sealed: true}
people:
  - {user: bench, organisations: [dept], clearance: OFFICIAL-SENSITIVE}
"""


def organise(url: str) -> float:
    """Spread the register over the organisations: a tenth of the assets (and their datasets) the agency's,
    a twentieth the sealed unit's, a fifth marked SECRET; the pages' own assets stay the department's.
    Returns how long recomputing every dataset's covering marking took (adc.register.markings.refresh)."""
    from sqlalchemy import Integer, case, cast, func, update

    from adc.register import markings
    from adc.register.db import make_engine
    from adc.register.tables import asset, observed_dataset

    number = cast(func.substr(asset.c.asset_id, 4), Integer)
    position = cast(func.substr(observed_dataset.c.name, 4, 7), Integer)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(update(asset).values(
            organisation=case((number % 20 == 3, "psu"), (number % 10 == 7, "cra"), else_=None),
            security_classification=case((number % 5 == 1, "SECRET"), else_=asset.c.security_classification)))
        conn.execute(update(observed_dataset).where(observed_dataset.c.name.like("ds-%")).values(
            organisation=case((position % 20 == 3, "psu"), (position % 10 == 7, "cra"), else_=None),
            marking=case((position % 5 == 1, "SECRET"), else_=None)))
        # the assets were reclassified behind the register's back: their datasets take it, as after an import
        started = time.perf_counter()
        markings.refresh(conn)
        seconds = time.perf_counter() - started
    engine.dispose()
    print(f"covering markings of every dataset refreshed in {seconds:.1f} s", flush=True)
    return seconds


def identify(request: Request) -> Person:
    """The benchmark's login: one person who may change the register, with a session cookie."""
    return Person("bench", "Bench", can_change=True, session=request.cookies.get("_token"), can_read=True)


def client(url: str):
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from adc.register.db import make_engine
    from adc.ui.app import create_app

    reader, writer = make_engine(url, reader=True), make_engine(url)
    outer = FastAPI()
    outer.mount("/adc", create_app(identify=identify, csrf_secret=SECRET, reader=lambda: reader, writer=lambda: writer))
    test_client = TestClient(outer)
    test_client.cookies.set("_token", "bench-session")
    return test_client


def pages(n: int) -> list[tuple[str, str]]:
    middle, deep = f"IA-{n // 2:07d}", f"IA-{n - 2 * 50:07d}"
    return [
        ("baseline: /api/me (login, no database)", "/adc/api/me"),
        ("dashboard", "/adc/"),
        ("assets, first page", "/adc/assets"),
        ("assets, a page near the end (by key)", f"/adc/assets?after={deep}"),
        ("assets by name (words, rare)", f"/adc/assets?text=Dataset+{n // 3}"),
        ("assets by id prefix", f"/adc/assets?text={middle[:-2]}"),
        ("assets by location (a bucket: 1,000 assets)", f"/adc/assets?location=s3://{bucket(n // 2)}"),
        ("assets by location (one dataset)", f"/adc/assets?location=s3://{bucket(n // 2)}/ds-{n // 2:07d}/day=1"),
        ("assets by owner", "/adc/assets?owner=owner-7"),
        ("assets by classification and personal data", "/adc/assets?classification=OFFICIAL&personal=yes"),
        ("assets: missing", "/adc/assets?status=missing"),
        ("an asset (datasets, schema, lineage, history)", f"/adc/assets/{middle}"),
        ("findings, open", "/adc/findings"),
        ("findings, one kind", "/adc/findings?kind=unregistered_dataset"),
        ("findings, a later page", "/adc/findings?status=&after=1:{last}"),
        ("processing activities", "/adc/activities"),
    ]


@contextmanager
def organisations_file(folder: Path) -> Iterator[None]:
    path = folder / "organisations.yaml"
    path.write_text(ORGANISATIONS, encoding="utf-8")
    before = os.environ.get("ADC_ORGANISATIONS")
    os.environ["ADC_ORGANISATIONS"] = str(path)
    try:
        yield
    finally:
        if before is None:
            del os.environ["ADC_ORGANISATIONS"]
        else:
            os.environ["ADC_ORGANISATIONS"] = before


def timed(test_client, path: str, repeat: int) -> list[float]:
    response = test_client.get(path)  # warm up (and check)
    assert response.status_code == 200, (path, response.status_code, response.text[:300])
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        test_client.get(path)
        times.append((time.perf_counter() - started) * 1000)
    return times


def once(test_client, path: str, params: dict[str, str] | None = None) -> tuple[float, int]:
    started = time.perf_counter()
    response = test_client.get(path, params=params)
    assert response.status_code == 200, (path, response.status_code)
    return time.perf_counter() - started, len(response.content)


def run(quick: bool) -> str:
    n, repeat = (QUICK, QUICK_REPEAT) if quick else (FULL, REPEAT)
    admin = postgres_admin_url()
    rows, downloads, visible, refreshed = [], [], [], []
    for kind in ["sqlite"] + (["postgresql"] if admin else []):
        db = Database(kind, admin)
        try:
            started = time.perf_counter()
            build(db.url, n)
            print(f"{kind}: built {n:,} assets in {time.perf_counter() - started:.0f} s", flush=True)
            test_client = client(db.url)
            last = test_client.get("/adc/api/findings", params={"status": "", "limit": 1}).json()["findings"][0]
            baseline, medians = None, {}
            for what, path in pages(n):
                times = timed(test_client, path.replace("{last}", str(last["finding_id"] + 200)), repeat)
                median = medians[what] = statistics.median(times)
                baseline = baseline or median
                rows.append([kind, what, f"{median:.1f}", f"{max(times):.1f}", f"{median / baseline:.1f}x"])
                print(rows[-1], flush=True)
            refreshed.append(f"{organise(db.url):.1f} s on {kind}")
            with organisations_file(OUT):
                for what, path in pages(n):
                    times = timed(test_client, path.replace("{last}", str(last["finding_id"] + 200)), repeat)
                    median = statistics.median(times)
                    visible.append([kind, what, f"{median:.1f}", f"{max(times):.1f}", f"{median / medians[what]:.2f}x"])
                    print(visible[-1], flush=True)
            for what, path, params in (
                    ("register.csv", "/adc/download/register.csv", None),
                    ("audit pack (as of now)", "/adc/download/audit-pack.zip", None),
                    ("audit pack (as of between the two harvests)", "/adc/download/audit-pack.zip",
                     {"as_of": (T0 + timedelta(hours=12)).isoformat()})):
                seconds, size = once(test_client, path, params)
                downloads.append([kind, what, f"{seconds:.2f}", f"{size / 1e6:.1f}"])
                print(downloads[-1], flush=True)
        finally:
            db.drop()
    return "\n".join([
        "## Register UI (bench/ui.py)",
        "",
        f"{n:,} assets with one S3 dataset each, {n // GLUE_EVERY:,} Glue tables over them, the demo RoPA, two "
        "reconciliations with 1% of the estate changed in between. Each page through the app in process (routing, "
        f"the login dependency, queries, templates; no network): median and slowest of {repeat} requests after one "
        "warm-up, in milliseconds, and the median as a multiple of the baseline route measured in the same run.",
        "",
        table(["database", "page", "median ms", "slowest ms", "x baseline"], rows),
        "",
        "Downloads, once each:",
        "",
        table(["database", "download", "seconds", "MB"], downloads),
        "",
        "The same pages under organisations.yaml, read by the department's analyst (OFFICIAL-SENSITIVE; an agency "
        "holds a tenth of the register, a sealed unit a twentieth, a fifth is SECRET), and the median over the "
        "median without the file, in the same run: the cost of the visibility rule. Setting the markings "
        "reclassifies a fifth of the assets straight in the tables, then recomputes every dataset's covering "
        f"marking (adc.register.markings.refresh, as a large IAR import would): {', '.join(refreshed)}, "
        "outside every page's time.",
        "",
        table(["database", "page", "median ms", "slowest ms", "x without the file"], visible),
    ])
