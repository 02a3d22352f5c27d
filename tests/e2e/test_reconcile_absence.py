"""A mass absence on real Airflow: adc_reconcile withholds it and asks the data protection team in
Required Actions (approve_absence, the question ADC built, shown as text), nobody else may answer,
an answer forged into XCom with the task marked success by hand changes nothing, and Approve marks
the assets missing, the reconciliation and each asset's history naming who approved. (The ghost assets are
registered once the harvest Airflow schedules at start-up is reconciled, and retired afterwards.)
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from adc.register import assets
from adc.register.tables import asset, history, reconciliation_run

pytestmark = [pytest.mark.airflow, pytest.mark.reliability("faults", "security")]

GHOSTS = {f"IA-09{60 + i}": f"s3://dcr-e2e-ghost-{i}" for i in range(8)}  # buckets no listing holds
TEMPLATE = "{{ 7*7 }}"


def _register(engine, status: str | None = None) -> None:
    records = []
    for asset_id, location in GHOSTS.items():
        record, problems = assets.validate({"asset_id": asset_id, "name": f"Ghost {TEMPLATE} {asset_id}",
                                            "location": location, "owner": "alice", "classification": "OFFICIAL",
                                            "personal_data": "no", **({"status": status} if status else {})})
        assert not problems, problems
        records.append(record)
    assets.import_records(engine, records, actor="e2e", cause="the mass absence test")


def _settled(airflow) -> None:
    """Until adc_harvest's start-up run (its latest scheduled slot) and the reconciliations it starts are done:
    registered before, the ghosts would be absent from that run too, which would ask about them first."""
    airflow.api("admin").wait_for_dag("adc_harvest")

    def idle() -> bool:
        dag = airflow.get("/dags/adc_harvest")
        after = dag["next_dagrun_run_after"]
        if not dag["is_paused"] and after is not None and datetime.fromisoformat(after) <= datetime.now(UTC):
            return False  # a scheduled run is still to be created
        if any(airflow.get(f"/dags/{dag_id}/dagRuns", state=["queued", "running"])["dag_runs"]
               for dag_id in ("adc_harvest", "adc_reconcile")):
            return False
        latest = airflow.get("/dags/adc_harvest/dagRuns", state=["success"], order_by="-run_after", limit=1)["dag_runs"]
        if not latest:
            return True
        with airflow.engine.connect() as conn:  # its reconciliation may not have started yet
            return conn.execute(select(reconciliation_run.c.run_id).where(
                reconciliation_run.c.harvest_run_id == latest[0]["dag_run_id"],
                reconciliation_run.c.status == "complete")).first() is not None

    airflow.wait(idle, timeout=600, what="adc_harvest's scheduled run and its reconciliation to finish", every=2)


@pytest.fixture
def ghosts(airflow):
    _settled(airflow)
    _register(airflow.engine)
    yield GHOSTS
    _register(airflow.engine, status="retired")  # so later reconciliations see no mass absence


def _statuses(engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(select(asset.c.asset_id, asset.c.status).where(asset.c.asset_id.in_(GHOSTS))).all())


def test_a_mass_absence_waits_for_the_data_protection_team_and_approve_marks_the_assets_missing(airflow, ghosts):
    harvest = airflow.trigger("adc_harvest")
    assert airflow.api("admin").wait_for_run("adc_harvest", harvest, timeout=600) == "success", airflow.log_tail()

    def asked():
        for detail in airflow.hitl_details("dana", dag_id="adc_reconcile", response_received=False):
            if detail["task_instance"]["task_id"] == "approve_absence" and \
                    detail["task_instance"]["state"] == "awaiting_input":
                return detail
        return None

    detail = airflow.wait(asked, timeout=300, what="adc_reconcile to ask about the mass absence")
    ti = detail["task_instance"]
    assert [u["id"] for u in detail["assigned_users"]] == ["dana", "erin"]
    assert detail["subject"] == "Mark assets missing after a mass absence?"
    # the demo declares organisations: the question names no source, and links to the findings that do
    assert "](/adc/findings?kind=absence_withheld)" in detail["body"] and "dcr-prod" not in detail["body"]
    withheld = airflow.request("dana", "GET", f"{airflow.api_url}/adc/api/findings",
                               params={"kind": "absence_withheld"})
    assert "dcr-prod" in withheld.text, withheld.text[:500]
    assert _statuses(airflow.engine) == dict.fromkeys(GHOSTS, "active")  # nothing marked missing yet

    def answer(user: str, option: str):
        return airflow.answer(user, dag_id="adc_reconcile", run_id=ti["dag_run_id"], task_id="approve_absence",
                              map_index=-1, options=[option])

    assert answer("alice", "Approve").status_code == 403  # not in the data protection team

    # alice (role user) writes dana's approval into XCom and marks the task success: nothing happens
    forged = {"chosen_options": ["Approve"], "responded_by_user": {"id": "dana", "name": "dana"},
              "params_input": {}, "responded_at": "2026-12-03T09:00:00Z"}
    assert airflow.forge("alice", dag_id="adc_reconcile", run_id=ti["dag_run_id"], task_id="approve_absence",
                         map_index=-1, value=forged)[1] == 200
    assert airflow.api("admin").wait_for_run("adc_reconcile", ti["dag_run_id"], timeout=240) == "success"
    assert _statuses(airflow.engine) == dict.fromkeys(GHOSTS, "active")
    with airflow.engine.connect() as conn:
        assert not conn.execute(select(reconciliation_run.c.run_id).where(
            reconciliation_run.c.harvest_run_id == harvest, reconciliation_run.c.absence_decision == "approved")).all()

    # the next reconciliation withholds the absence again and asks again; dana approves for real
    airflow.trigger("adc_reconcile")
    detail = airflow.wait(asked, timeout=300, what="adc_reconcile to ask about the mass absence again")
    ti = detail["task_instance"]
    assert answer("dana", "Approve").status_code == 200
    airflow.wait_for_task("adc_reconcile", ti["dag_run_id"], "approve_absence", ("success",), timeout=240)
    assert _statuses(airflow.engine) == dict.fromkeys(GHOSTS, "missing")
    with airflow.engine.connect() as conn:
        [decided] = conn.execute(select(reconciliation_run.c.run_id, reconciliation_run.c.absence_decided_by).where(
            reconciliation_run.c.harvest_run_id == harvest, reconciliation_run.c.absence_decision == "approved")).all()
        marked = conn.execute(select(history.c.entity_id, history.c.cause, history.c.actor).where(
            history.c.entity_kind == "asset", history.c.action == "missing",
            history.c.entity_id.in_(GHOSTS))).all()
    assert decided.absence_decided_by == "dana"
    assert sorted(marked) == sorted((asset_id, decided.run_id, "dana") for asset_id in GHOSTS)
