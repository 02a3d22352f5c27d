"""A backfill of adc_lineage on the running Airflow (scheduler and all), twice: the same events.

The test stages its own history in the shared register, in May 2024 (long before anything the
other tests write): a bucket of its own with two datasets on 1 May, a change on 3 May, and a last
complete listing on 20 May that finds it empty, so nothing of it is present for other tests.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "integration" / "lineage"))
from lineage_support import day, harvest_at, s3_dataset  # noqa: E402

pytestmark = pytest.mark.airflow

BUCKET = "lineage-e2e-backfill"


def backfill_runs(airflow) -> list[dict]:
    data = airflow.api("admin").get("/dags/adc_lineage/dagRuns", limit=100, run_type="backfill")
    return [r for r in data["dag_runs"] if r["logical_date"].startswith("2024-05-0")]


def backfill(airflow, reprocess: str = "none") -> None:
    """What `airflow backfill create --dag-id adc_lineage --from-date 2024-05-01 --to-date 2024-05-07
    --max-active-runs 1` does, through the REST API (the CLI writes Airflow's SQLite metadata DB
    itself and collides there with standalone's busy scheduler)."""
    before = {r["dag_run_id"]: r.get("end_date") for r in backfill_runs(airflow)}
    api = airflow.api("admin")
    api.wait_for_dag("adc_lineage")
    body = {"dag_id": "adc_lineage", "from_date": "2024-05-01T00:00:00Z", "to_date": "2024-05-07T00:00:00Z",
            "max_active_runs": 1, "reprocess_behavior": reprocess}

    def created():
        # SQLite (the demo's metadata DB) answers 503 (or a 500 "Database error") while the scheduler
        # holds its write lock: retry
        response = api.client.post("/backfills", json=body)
        assert response.status_code < 300 or response.status_code >= 500, response.text
        return response.json() if response.status_code < 300 else None

    backfill_id = airflow.wait(created, timeout=120, what="Airflow to accept the backfill", every=2)["id"]
    airflow.wait(lambda: api.get(f"/backfills/{backfill_id}")["completed_at"], timeout=600,
                 what=f"backfill {backfill_id} of adc_lineage to complete", every=2)

    def finished():
        runs = backfill_runs(airflow)
        fresh = [r for r in runs if r["state"] in ("success", "failed") and r.get("end_date") != before.get(r["dag_run_id"])]
        return runs if len(runs) == 7 and len(fresh) == 7 else None

    runs = airflow.wait(finished, timeout=60, what="the 7 backfill runs of adc_lineage to finish")
    assert {r["state"] for r in runs} == {"success"}, airflow.log_tail()


def ours(lines: list[str]) -> list[str]:
    return [line for line in lines if f'"namespace": "s3://{BUCKET}"' in line and '"dataset":' in line]


def test_airflow_backfill_emits_the_past_and_twice_the_same_bytes(airflow, monkeypatch, tmp_path):
    from adc.lineage import backfill as cli_backfill

    engine = airflow.engine
    harvest_at(engine, monkeypatch, "lineage-e2e-1", day(1), {BUCKET: [s3_dataset(BUCKET, "a", "name"),
                                                                     s3_dataset(BUCKET, "b", "email")]})
    harvest_at(engine, monkeypatch, "lineage-e2e-2", day(3), {BUCKET: [s3_dataset(BUCKET, "a", "name", "x"),
                                                                     s3_dataset(BUCKET, "b", "email")]})
    harvest_at(engine, monkeypatch, "lineage-e2e-3", day(20), {BUCKET: []})
    monkeypatch.undo()

    events = airflow.demo.lineage_file
    start = len(events.read_text().splitlines()) if events.exists() else 0
    backfill(airflow)
    middle = len(events.read_text().splitlines())
    backfill(airflow, "completed")
    lines = events.read_text().splitlines()
    first, second = ours(lines[start:middle]), ours(lines[middle:])
    assert len(first) == 2 + 2 + 3 + 2 * 4  # a, b; a, b; a, a', b; then a', b
    assert first == second

    # the same bytes as the shell's `adc lineage backfill` for those days
    cli = tmp_path / "cli.jsonl"
    for key, value in {"OPENLINEAGE__TRANSPORT__TYPE": "file", "OPENLINEAGE__TRANSPORT__LOG_FILE_PATH": str(cli),
                       "OPENLINEAGE__TRANSPORT__APPEND": "true"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AIRFLOW__OPENLINEAGE__TRANSPORT", raising=False)
    cli_backfill.backfill(engine, date(2024, 5, 1), date(2024, 5, 7))
    assert ours(cli.read_text().splitlines()) == first

    # Airflow's own events for those runs: the task read the register, the DAG runs started and completed
    provider = [json.loads(line) for line in lines[start:] if '"job":' in line and "adc_lineage" in line]
    task_complete = [e for e in provider if e["job"]["name"] == "adc_lineage.emit_estate" and e["eventType"] == "COMPLETE"
                     and e["run"]["facets"]["nominalTime"]["nominalStartTime"].startswith("2024-05-0")]
    assert len(task_complete) == 14
    assert {d["name"] for d in task_complete[0]["inputs"]} == {"asset", "asset_location", "history", "observed_dataset"}
    dag_events = {e["eventType"] for e in provider if e["job"]["name"] == "adc_lineage"}
    assert {"START", "COMPLETE"} <= dag_events
