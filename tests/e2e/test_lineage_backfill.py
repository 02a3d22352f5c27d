"""`airflow backfill create --dag-id adc_lineage` against a running Airflow, twice: the same events.

Airflow here runs as in production, on a PostgreSQL metadata database (a throwaway one): with
SQLite, Airflow creates a backfill's runs in several commits and, when the scheduler holds the
lock, deletes them again while the scheduler may already be scheduling them (its API answers "not
supported on SQLite under concurrent access"; its scheduler can crash). The DAG folder holds
adc_lineage only; the register is a SQLite file with a staged history in May 2024.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from adc.demo.runner import Processes, free_port, wait_for
from adc.register.db import make_engine, migrate
from tests.openlineage_spec import validation
from tests.support.lineage import change_asset, day, register_asset, two_harvests

pytestmark = pytest.mark.airflow

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW = str(Path(sys.executable).parent / "airflow")
FIRST, LAST = "2024-05-01", "2024-05-07"


@pytest.fixture
def airflow_on_postgres(tmp_path, postgres_databases, monkeypatch):
    """Airflow standalone on a throwaway PostgreSQL metadata DB, with adc_lineage and a staged register."""
    if postgres_databases is None:
        pytest.skip("no PostgreSQL reachable: Airflow's backfills need a metadata database other than SQLite")
    register_url = f"sqlite:///{tmp_path / 'register.db'}"
    register = make_engine(register_url)
    migrate(register)
    two_harvests(register, monkeypatch)
    register_asset(register, "IA-0001", "s3://b", day(2, 12), owner="bob")
    change_asset(register, "IA-0001", day(5, 9, 30), owner="carol")
    monkeypatch.undo()
    register.dispose()

    metadata = postgres_databases.create()
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "adc_lineage.py").symlink_to(ROOT / "dags" / "adc_lineage.py")
    port = free_port()
    events = tmp_path / "events.jsonl"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "OPENLINEAGE"))},
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": metadata.replace("+psycopg://", "+psycopg_async://", 1),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__API_AUTH__JWT_SECRET": "lineage-e2e-" + "x" * 64,
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "adc-e2e",
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps({"type": "file", "log_file_path": str(events), "append": True}),
        "ADC_REGISTER_URL": register_url,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
    processes = Processes()
    try:
        airflow = processes.start("airflow", [AIRFLOW, "standalone"], env=env, log=tmp_path / "airflow.log")
        wait_for(f"http://127.0.0.1:{port}/api/v2/monitor/health", timeout=180, what="Airflow", process=airflow)
        yield env, events, make_engine(metadata), tmp_path / "airflow.log"
    finally:
        processes.stop()
        postgres_databases.drop(metadata)


def backfill(env: dict[str, str], metadata, log: Path, *extra: str) -> None:
    """`airflow backfill create` for 1-7 May, then wait until the backfill has completed."""
    from sqlalchemy import text

    deadline = time.monotonic() + 120
    while True:  # the DAG must be parsed first
        result = subprocess.run([AIRFLOW, "backfill", "create", "--dag-id", "adc_lineage", "--from-date", FIRST,
                                 "--to-date", LAST, "--max-active-runs", "1", *extra],
                                env=env, capture_output=True, text=True, timeout=300)
        if result.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(3)
    assert result.returncode == 0, result.stderr[-2000:]
    deadline = time.monotonic() + 600
    with metadata.connect() as conn:
        backfill_id = conn.execute(text("SELECT max(id) FROM backfill WHERE dag_id = 'adc_lineage'")).scalar()
    while time.monotonic() < deadline:
        with metadata.connect() as conn:
            done = conn.execute(text("SELECT completed_at FROM backfill WHERE id = :id"), {"id": backfill_id}).scalar()
            states = [r[0] for r in conn.execute(text(
                "SELECT state FROM dag_run WHERE backfill_id = :id"), {"id": backfill_id})]
        if done is not None:
            assert states == ["success"] * 7, f"{states}; Airflow's log: {log}"
            return
        time.sleep(2)
    pytest.fail(f"backfill {backfill_id} did not complete in 600 s; Airflow's log: {log}")


def scheduled_run_done(metadata, log: Path) -> None:
    """The DAG's own run for the latest day (it is unpaused; catchup is off): done, so that what
    follows in the events file is the backfills' alone."""
    from sqlalchemy import text

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        with metadata.connect() as conn:
            states = [r[0] for r in conn.execute(text(
                "SELECT state FROM dag_run WHERE dag_id = 'adc_lineage' AND backfill_id IS NULL"))]
        if states and all(state in ("success", "failed") for state in states):
            return
        time.sleep(2)
    pytest.fail(f"adc_lineage's scheduled run did not finish in 300 s; Airflow's log: {log}")


def dataset_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if '"dataset":' in line and '"run":' not in line]


def test_airflow_backfill_create_twice_sends_the_same_events_as_the_cli(airflow_on_postgres, tmp_path, monkeypatch):
    env, events, metadata, log = airflow_on_postgres
    scheduled_run_done(metadata, log)
    before = len(dataset_lines(events)) if events.exists() else 0
    backfill(env, metadata, log)
    first = dataset_lines(events)[before:]
    backfill(env, metadata, log, "--reprocess-behavior", "completed")
    second = dataset_lines(events)[before + len(first):]
    assert len(first) == 17 and second == first  # 2 + 2 + 5 + 2 * 4, identical the second time

    from adc.lineage.backfill import backfill as cli_backfill

    cli = tmp_path / "cli.jsonl"
    for key, value in {"OPENLINEAGE__TRANSPORT__TYPE": "file", "OPENLINEAGE__TRANSPORT__LOG_FILE_PATH": str(cli),
                       "OPENLINEAGE__TRANSPORT__APPEND": "true", "ADC_REGISTER_URL": env["ADC_REGISTER_URL"]}.items():
        monkeypatch.setenv(key, value)
    cli_backfill(make_engine(env["ADC_REGISTER_URL"]), date.fromisoformat(FIRST), date.fromisoformat(LAST))
    assert dataset_lines(cli) == first

    # Airflow's own events: every run started and completed, each task named the register tables it read
    everything = validation.read_jsonl(events)
    assert validation.invalid_events(everything) == []
    runs = [e for e in everything if e.get("job", {}).get("name") == "adc_lineage"]
    assert sum(e["eventType"] == "START" for e in runs) >= 14 and sum(e["eventType"] == "COMPLETE" for e in runs) >= 14
    tasks = [e for e in everything if e.get("job", {}).get("name") == "adc_lineage.emit_estate"
             and e["eventType"] == "COMPLETE"]
    assert {d["name"] for d in tasks[0]["inputs"]} == {"asset", "asset_location", "history", "observed_dataset"}
