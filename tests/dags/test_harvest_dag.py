"""adc_harvest: its shape, its schedule from sources.yaml, a bad sources.yaml as a one-line import
error, and a real run with Airflow (plan, mapped units with readable labels, finish and its Asset)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

DAG_FILE = Path(__file__).resolve().parents[2] / "dags" / "adc_harvest.py"


def dagbag(monkeypatch, tmp_path, sources_yaml: str):
    from airflow.dag_processing.dagbag import DagBag

    path = tmp_path / "sources.yaml"
    path.write_text(sources_yaml)
    monkeypatch.setenv("ADC_SOURCES", str(path))
    return DagBag(dag_folder=str(DAG_FILE)), path


@pytest.mark.reliability("input")
def test_a_bad_sources_file_is_a_one_line_import_error_naming_file_and_field(monkeypatch, tmp_path):
    bag, path = dagbag(monkeypatch, tmp_path,
                       "sources:\n  - name: dcr-prod\n    region: eu-west-2\n    servics: [s3]\n")
    (error,) = bag.import_errors.values()
    assert error == f"AirflowTimetableInvalid: {path}: sources[0].servics: Extra inputs are not permitted"
    bag, path = dagbag(monkeypatch, tmp_path, "sources: [\n")
    assert list(bag.import_errors.values())[0].startswith(f"AirflowTimetableInvalid: {path}: line ")


def test_the_shape_and_the_union_schedule(monkeypatch, tmp_path):
    bag, _ = dagbag(monkeypatch, tmp_path, "sources:\n"
                    "  - {name: a, region: eu-west-2, schedule: '@daily'}\n"
                    "  - {name: b, region: eu-west-2, schedule: '0 6 * * 1'}\n"
                    "  - {name: c, region: eu-west-2, schedule: null}\n")
    dag = bag.dags["adc_harvest"]
    assert type(dag.timetable).__name__ == "MultipleCronTriggerTimetable"
    assert [t.expression for t in dag.timetable.timetables] == ["0 0 * * *", "0 6 * * 1"]
    assert (dag.max_active_runs, dag.catchup) == (1, False)
    assert set(dag.task_ids) == {"plan", "harvest_unit", "finish", "lineage"}
    finish = dag.get_task("finish")
    assert finish.trigger_rule == "all_done"
    assert [o.uri for o in finish.outlets] == ["adc://register/harvest"]
    assert dag.get_task("harvest_unit").map_index_template
    bag, _ = dagbag(monkeypatch, tmp_path, "sources:\n  - {name: a, region: eu-west-2, schedule: null}\n")
    assert bag.dags["adc_harvest"].timetable.can_be_scheduled is False


@pytest.mark.airflow
def test_a_run_with_airflow(tmp_path, dcr_estate):
    """`airflow dags test`, with the AWS credentials in an Airflow connection, as in production."""
    home = tmp_path / "airflow"
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n  - name: dcr-prod\n    region: eu-west-2\n    aws_conn_id: aws_default\n")
    connection = {"conn_type": "aws", "login": "testing", "password": "testing",
                  "extra": {"endpoint_url": dcr_estate.url, "region_name": "eu-west-2"}}
    env = {**os.environ, "AIRFLOW_HOME": str(home), "ADC_SOURCES": str(sources),
           "ADC_REGISTER_URL": f"sqlite:///{tmp_path / 'register.db'}",
           "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(connection), "AIRFLOW__CORE__UNIT_TEST_MODE": "False"}
    env.pop("AWS_ENDPOINT_URL", None)
    airflow = str(Path(sys.executable).parent / "airflow")
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
    run = subprocess.run([airflow, "dags", "test", "adc_harvest"], env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    from adc.register.db import make_engine
    from adc.register.store import count_current, latest_complete_run

    register = make_engine(f"sqlite:///{tmp_path / 'register.db'}")
    assert latest_complete_run(register).startswith("manual__")
    assert count_current(register) == 27
    with sqlite3.connect(home / "airflow.db") as db:
        labels = {r[0] for r in db.execute("SELECT rendered_map_index FROM task_instance WHERE task_id='harvest_unit'")}
        events = db.execute("SELECT count(*) FROM asset_event JOIN asset ON asset.id = asset_event.asset_id "
                            "WHERE asset.uri = 'adc://register/harvest'").fetchone()[0]
    assert "dcr-prod eu-west-2 s3: dcr-prod-legal-holds" in labels
    assert "dcr-prod eu-west-2 dynamodb: dcr-prod-case-status, dcr-prod-appointment-bookings" in labels
    assert events == 1
