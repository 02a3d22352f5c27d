"""OpenLineage emission: events per second, and a year's backfill.

1. An estate of 10,000 datasets (10 buckets; half with personal columns; 100 assets covering them)
   harvested into a SQLite register. `adc lineage emit --all` sends one DatasetEvent per dataset
   through the file transport and through the HTTP transport to a receiver on 127.0.0.1 (a
   threaded http.server answering 201, keep-alive).
2. A 1,000-dataset estate with a year of history (a harvest every 30 days changing 2% of the
   datasets, owners changing) and `adc lineage backfill` over 365 days, file transport.

Baselines, measured in the same run on the same machine: writing the same event lines with
json.dumps (file), and POSTing the same bodies with a bare requests session (HTTP). The ratio says
what building events from the register and the OpenLineage client cost on top of the bytes.

Each emission runs in its own process (`python -m bench.lineage worker ...`), so wall time and
peak RSS are its own; events/s is over the emission itself, the process start excluded.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench.common import OUT, measure, table

FULL, YEAR_ESTATE, DAYS = 10_000, 1_000, 365
QUICK, QUICK_YEAR_ESTATE, QUICK_DAYS = 1_000, 200, 30
T0 = datetime(2024, 1, 1, 6, tzinfo=UTC)


# --------------------------------------------------------------------------- the register


def build(url: str, datasets: int, days: int) -> None:
    """A register holding ``datasets`` datasets; over ``days`` days a harvest every 30 changes 2% of them."""
    from sqlalchemy import insert

    from adc import naming
    from adc.model import Classification, Field, ObservedDataset, ScopeOutcome, ScopeStatus, Service
    from adc.register import history, store
    from adc.register.db import make_engine, migrate
    from adc.register.tables import asset, asset_location

    engine = make_engine(url)
    migrate(engine)
    buckets = [f"bench-lineage-{b:02d}" for b in range(10)]

    def dataset(i: int, generation: int) -> ObservedDataset:
        b = buckets[i % len(buckets)]
        fields = [Field("id"), Field("created_at", "timestamp"), Field("amount", "double")]
        if i % 2 == 0:
            fields += [Field("email", classification=Classification.PERSONAL, category="email", reason="name"),
                       Field("full_name", classification=Classification.PERSONAL, category="name", reason="name")]
        if generation and i % 50 == generation % 50:
            fields.append(Field(f"added_{generation}"))
        return ObservedDataset(naming.s3(b, f"table-{i:06d}"), Service.S3, "bench", b, region="eu-west-2",
                               kind="table", format="parquet", partition_keys=["day"], fields=fields,
                               schema_status="inferred", object_count=10, size_bytes=1000)

    with engine.begin() as conn:
        for a in range(100):
            b = buckets[a % len(buckets)]
            row = {"asset_id": f"IA-{a:04d}", "name": f"Bench asset {a}", "owner": f"owner-{a % 7}",
                   "security_classification": "OFFICIAL", "personal_data": True, "retention_schedule": "RS-01",
                   "created_at": T0 - timedelta(days=1), "updated_at": T0 - timedelta(days=1)}
            conn.execute(insert(asset).values(**row))
            # ten assets per bucket: each covers a tenth of it by a prefix of the table names
            conn.execute(insert(asset_location).values(asset_id=row["asset_id"], uri=f"s3://{b}/table-00{a // 10}",
                                                       namespace=f"s3://{b}", name=f"table-00{a // 10}"))
            history.record(conn, entity_kind="asset", entity_id=row["asset_id"], action="created", actor="bench",
                           cause_kind="import", changes=history.diff({}, row), at=row["created_at"])
    for generation, day in enumerate(range(0, days, 30)):
        at = T0 + timedelta(days=day)
        store.now = lambda at=at: at  # the harvest's clock: its history lies in the past
        run = f"bench-{generation}"
        store.start_run(engine, run, ["bench"])
        for b in buckets:
            outcome = ScopeOutcome("bench", Service.S3, "eu-west-2", b, naming.s3(b), ScopeStatus.COMPLETE)
            store.record_unit(engine, run, outcome, (dataset(i, generation) for i in range(datasets)
                                                     if buckets[i % len(buckets)] == b))
        store.finish_run(engine, run)
        if generation:
            from adc.register.tables import asset as asset_table

            with engine.begin() as conn:  # an owner changes every month
                asset_id = f"IA-{generation:04d}"
                conn.execute(asset_table.update().where(asset_table.c.asset_id == asset_id).values(
                    owner="new-owner", updated_at=at))
                history.record(conn, entity_kind="asset", entity_id=asset_id, action="updated", actor="bench",
                               cause_kind="ui", changes={"owner": [f"owner-{generation % 7}", "new-owner"]}, at=at)
    engine.dispose()


# --------------------------------------------------------------------------- workers (own processes)


def worker(kind: str, url: str, target: str, *args: str) -> None:
    """emit-all | backfill FIRST LAST (events through the configured transport) | baseline-file |
    baseline-http (the bytes of a previous file emission, written or POSTed plainly)."""
    if kind in ("emit-all", "backfill"):
        from adc import connections

        connections.openlineage_config()  # import Airflow's provider now: process start, not emission
    started = time.perf_counter()
    if kind == "emit-all":
        from adc.lineage.emit import emit_current
        from adc.register.db import make_engine

        events = emit_current(make_engine(url)).events
    elif kind == "backfill":
        from adc.lineage.backfill import backfill
        from adc.register.db import make_engine

        events = backfill(make_engine(url), date.fromisoformat(args[0]), date.fromisoformat(args[1]))["events"]
    else:
        parsed = [json.loads(line) for line in Path(args[0]).read_text().splitlines()]
        gc.freeze()  # hundreds of thousands of parsed events: keep the collector from re-walking them
        started = time.perf_counter()
        if kind == "baseline-file":
            with open(target, "w") as out:
                for event in parsed:
                    out.write(json.dumps(event, sort_keys=True) + "\n")
        else:
            import requests

            with requests.Session() as session:
                for event in parsed:
                    session.post(target, data=json.dumps(event, sort_keys=True),
                                 headers={"Content-Type": "application/json"}).raise_for_status()
        events = len(parsed)
    print(json.dumps({"events": events, "seconds": time.perf_counter() - started}))


def run_worker(kind: str, url: str, target: str, *args: str, env: dict[str, str] | None = None) -> dict:
    measured = measure([sys.executable, "-m", "bench.lineage", "worker", kind, url, target, *args], env=env)
    result = json.loads(measured.stdout.strip().splitlines()[-1])
    rate = result["events"] / result["seconds"]
    return {**result, "wall": measured.seconds, "rss": measured.peak_rss_mb, "rate": rate}


def file_env(path: Path) -> dict[str, str]:
    return {"OPENLINEAGE__TRANSPORT__TYPE": "file", "OPENLINEAGE__TRANSPORT__LOG_FILE_PATH": str(path),
            "OPENLINEAGE__TRANSPORT__APPEND": "true", "OPENLINEAGE_CLIENT_LOGGING": "WARNING"}


def receiver():
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # answer at once, as a real consumer's server does

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(201)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def run(quick: bool) -> str:
    n, year_n, days = (QUICK, QUICK_YEAR_ESTATE, QUICK_DAYS) if quick else (FULL, YEAR_ESTATE, DAYS)
    work = OUT / "lineage"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    estate_url, year_url = f"sqlite:///{work / 'estate.db'}", f"sqlite:///{work / 'year.db'}"
    build(estate_url, n, 1)
    build(year_url, year_n, days)
    base_env = {"AIRFLOW_HOME": str(work / "airflow"), "ADC_DEFAULT_AWS_REGION": "eu-west-2"}

    events_file = work / "emit.jsonl"
    emitted = run_worker("emit-all", estate_url, "-", env={**base_env, **file_env(events_file)})
    baseline_file = run_worker("baseline-file", estate_url, str(work / "baseline.jsonl"), str(events_file))
    server = receiver()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        http = run_worker("emit-all", estate_url, "-", env={
            **base_env, "OPENLINEAGE__TRANSPORT__TYPE": "http", "OPENLINEAGE__TRANSPORT__URL": url,
            "OPENLINEAGE_CLIENT_LOGGING": "WARNING"})
        baseline_http = run_worker("baseline-http", estate_url, f"{url}/api/v1/lineage", str(events_file))
    finally:
        server.shutdown()
        server.server_close()
    last = (date(2024, 1, 1) + timedelta(days=days - 1)).isoformat()
    year_file = work / "year.jsonl"
    year = run_worker("backfill", year_url, "-", "2024-01-01", last, env={**base_env, **file_env(year_file)})
    baseline_year = run_worker("baseline-file", year_url, str(work / "year-baseline.jsonl"), str(year_file))
    for path in (events_file, year_file, work / "baseline.jsonl", work / "year-baseline.jsonl"):
        path.unlink(missing_ok=True)  # hundreds of MB otherwise

    def row(what, measured, baseline):
        return [what, measured["events"], f"{measured['seconds']:.1f}", f"{measured['rate']:,.0f}",
                f"{baseline['rate']:,.0f}", f"{measured['seconds'] / baseline['seconds']:.1f}x",
                f"{measured['wall']:.1f}", f"{measured['rss']:.0f}"]

    lines = [
        f"Estate of {n:,} datasets (100 assets), SQLite register; `adc lineage emit --all` and "
        f"`adc lineage backfill` over {days} days of a {year_n:,}-dataset estate with monthly changes.",
        "",
        table(["emission", "events", "emit s", "events/s", "baseline events/s", "vs baseline", "process wall s",
               "peak RSS MB"], [
            row(f"{n:,} datasets, file transport", emitted, baseline_file),
            row(f"{n:,} datasets, HTTP to 127.0.0.1", http, baseline_http),
            row(f"{days}-day backfill of {year_n:,} datasets, file", year, baseline_year),
        ]),
        "",
        "Baselines: json.dumps of the same events to a file; the same bodies POSTed with a bare requests "
        "session. The difference is reading the register (versions, asset history), building the facets "
        "as OpenLineage client objects and the client's serialisation. Process wall includes starting "
        "Python; a backfill reuses the previous day's event of an unchanged dataset (adc.lineage.events.Recent).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1:2] == ["worker"]:
        os.environ.setdefault("OPENLINEAGE_CLIENT_LOGGING", "WARNING")
        worker(*sys.argv[2:])
