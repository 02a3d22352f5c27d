"""Answers that cannot be forged, on real Airflow: any Airflow ``user`` can write a task's XCom and set
its state over REST, and none of that is an answer. Only Airflow's HITL record of a response is.

PA-303, this module's own copy of the demo's PA-003 Appointment booking (carol; see conftest.py), is
asked in the module's own review run. Its owner step is forged by bob (an unassigned ``user``), then
carol proposes a change, and its approval is forged by carol (the proposer), marked failed by bob and
cleared by carol, before dana approves it for real.
"""

from __future__ import annotations

import pytest

from adc.register import history
from adc.ropa.forms import APPROVE, CHANGE, CONFIRM, DAG_ID

pytestmark = [pytest.mark.airflow, pytest.mark.reliability("security")]


@pytest.fixture(scope="module")
def review_run(start_reviews):
    return start_reviews({"PA-303": "PA-003"})


def _forged_answer(step: dict, option: str, by: str) -> dict:
    """What the review task's return value looked like when ADC trusted it (the forgery of issue 11)."""
    return {"chosen_options": [option], "params_input": {"comment": "forged"}, "responded_at": "2026-12-03T09:00:00Z",
            "responded_by_user": {"id": by, "name": by}, "step_id": step["step_id"], "timedout": False}


def _forge(run, user: str, step: dict, option: str, as_whom: str, state: str = "success") -> None:
    xcom, patch = run.airflow.forge(user, dag_id=step["dag_id"], run_id=step["dag_run_id"], task_id=step["task_id"],
                                    map_index=step["map_index"], value=_forged_answer(step, option, as_whom),
                                    state=state)
    assert xcom in (200, 201) and patch == 200, "Airflow must accept the forgery for this test to mean anything"


def _noted(run, step: dict) -> dict:
    """The step once the review group's settle task has noted that its task ended without an answer."""
    def probe():
        now = run.step("PA-303", step["kind"])
        return now if now["step_id"] == step["step_id"] and now["ended_without_answer"] else None

    return run.airflow.wait(probe, timeout=240, what=f"{step['step_id']} to be noted as ended without an answer")


def _next(run, kind: str, after: dict) -> dict:
    """The next step of that kind, from a new adc_ropa_review run (the forged one is asked again)."""
    run.airflow.trigger(DAG_ID)
    return run.airflow.wait(lambda: (s := run.step("PA-303", kind)) and s["attempt"] > after["attempt"] and s,
                            timeout=240, what=f"PA-303's {kind} step to be asked again")


def _names(run, step: dict) -> set[str]:
    with run.airflow.engine.connect() as conn:
        return {h["actor"] for h in history.of(conn, "review", step["review_id"])}


def test_forged_answers_record_nothing_and_only_the_real_approver_is_named(review_run):
    run = review_run
    owner = run.step("PA-303")
    run.wait_for_task(owner)

    # bob, not assigned, writes carol's "Confirm" into XCom and marks the question success
    _forge(run, "bob", owner, CONFIRM, "carol")
    noted = _noted(run, owner)
    assert (noted["status"], noted["answered_by"], noted["option"]) == ("pending", None, None)
    assert {"by": "bob", "action": "set to success"}.items() <= noted["ended_without_answer"]["changed_by"][-1].items()
    assert run.review("PA-303")["status"] == "open" and run.review("PA-303")["outcome"] is None

    # asked again; carol answers for real and proposes a change: the approval goes to dana and erin
    owner = _next(run, "owner", owner)
    run.wait_for_task(owner)
    proposal = {"retention_schedule": "RS-05: 6 months"}
    assert run.answer("carol", owner, CHANGE, comment="shorter retention", proposed_changes=proposal).status_code == 200
    approval = run.wait_for_step("PA-303", "approval")
    assert approval["assigned_to"] == ["dana", "erin"]
    run.wait_for_task(approval)

    # carol, the proposer, writes dana's "Approve" into XCom and marks the approval success
    _forge(run, "carol", approval, APPROVE, "dana")
    noted = _noted(run, approval)
    assert (noted["status"], noted["answered_by"]) == ("pending", None)
    assert noted["ended_without_answer"]["changed_by"][-1]["by"] == "carol"
    review = run.review("PA-303")
    assert (review["status"], review["approved_by"]) == ("awaiting_approval", None)
    assert run.activity("PA-303")["retention_schedule"] != proposal["retention_schedule"]

    # asked again; bob marks it failed: still no answer
    approval = _next(run, "approval", approval)
    run.wait_for_task(approval)
    _forge(run, "bob", approval, APPROVE, "erin", state="failed")
    assert _noted(run, approval)["ended_without_answer"]["changed_by"][-1]["by"] == "bob"

    # asked again; carol clears the task: Airflow asks again, and only the real answer counts
    approval = _next(run, "approval", approval)
    run.wait_for_task(approval)
    assert run.airflow.clear("carol", dag_id=approval["dag_id"], run_id=approval["dag_run_id"],
                             task_id=approval["task_id"], map_index=approval["map_index"]) == 200
    run.wait_for_task(approval)
    assert run.step("PA-303", "approval")["status"] == "pending"
    assert run.answer("dana", approval, APPROVE, comment="agreed").status_code == 200
    run.airflow.wait(lambda: run.review("PA-303")["status"] == "completed", timeout=240,
                     what="the PA-303 review to complete")
    done = run.review("PA-303")
    assert (done["outcome"], done["answered_by"], done["approved_by"]) == ("changed", "carol", "dana")
    assert run.activity("PA-303")["retention_schedule"] == proposal["retention_schedule"]
    # nobody who did not answer is named as answering: bob and carol appear only as who changed tasks
    assert _names(run, approval) <= {"adc", "carol", "dana"}
    with run.airflow.engine.connect() as conn:
        answered = {(h["action"], h["actor"]) for h in history.of(conn, "review", approval["review_id"])}
    assert ("answer refused", "bob") not in answered and ("proposed", "carol") in answered
