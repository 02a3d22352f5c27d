"""adc_ropa_review end to end on real Airflow: answered through the REST API, checked in the register.

This module's own copies of demo activities (tests/e2e/ropa/conftest.py), asked in its own review run:
- PA-101, Residency application casework (alice): a hostile purpose and a hostile unregistered
  dataset tagged with it; alice confirms it;
- PA-104, Complaints handling (carol): carol proposes changes and dana approves them;
- PA-105, Equality monitoring (gita): asked, not answered;
- PA-106, Payroll and HR (frank): a new special-category finding and a 15 s response time, left
  unanswered so it escalates.
"""

from __future__ import annotations

import html
import sqlite3
from datetime import date
from pathlib import Path

import httpx
import pytest

from adc.register import history
from adc.ropa.activities import add_months
from adc.ropa.forms import ACKNOWLEDGE, APPROVE, CHANGE, CONFIRM, ESCALATE
from adc.ropa.outcomes import Answer, record
from adc.ropa.packs import sha256
from adc.ropa.schedule import as_of, candidates

pytestmark = pytest.mark.airflow
TEAM = ("dana", "erin")


@pytest.fixture(scope="module")
def review_run(start_reviews):
    return start_reviews({"PA-101": "PA-001", "PA-104": "PA-004", "PA-105": "PA-005", "PA-106": "PA-006"},
                         hostile=("PA-101",), changes={"PA-106": {"response_time": "PT15S"}},
                         special_category={"PA-106": ("IA-0006", "union_subs_deduction is trade union membership")})


def _hitl(run, step, user="admin") -> dict:
    [detail] = [d for d in run.airflow.hitl_details(user, dag_id=step["dag_id"], run_id=step["dag_run_id"])
                if d["task_instance"]["task_id"] == step["task_id"]
                and d["task_instance"]["map_index"] == step["map_index"]]
    return detail


def _evidence(run, step, user: str) -> str:
    """The register UI's page of the pack ``user`` is asked about (the question in Airflow links to it)."""
    response = run.airflow.request(user, "GET", f"{run.airflow.api_url}/adc/evidence/{step['step_id']}")
    assert response.status_code == 200, response.text
    return html.unescape(response.text)


def test_each_owner_is_asked_with_a_link_to_the_pack_the_register_built(review_run):
    # the demo declares organisations: a question in Airflow names only the activity's id and links to
    # the register UI, which shows the pack to those who may see it (docs/organisations.md)
    for activity_id, owner in (("PA-101", "alice"), ("PA-104", "carol"), ("PA-105", "gita")):
        step = review_run.step(activity_id)
        review_run.wait_for_task(step, state=("awaiting_input", "success"))  # alice's confirmation may come first
        detail = _hitl(review_run, step, owner)
        assert detail["assigned_users"] == [{"id": owner, "name": owner}]
        assert detail["subject"] == f"RoPA review of {activity_id}: owner"
        assert f"](/adc/evidence/{step['step_id']})" in detail["body"] and step["pack"] not in detail["body"]
        assert step["pack"] in _evidence(review_run, step, owner) and step["pack_sha256"] == sha256(step["pack"])
        assert detail["options"] == ["Confirm accurate", "Needs changes", "Retire activity", "Escalate to the DPO"]
        assert detail["defaults"] == [ESCALATE]
        label = [ti for ti in review_run.airflow.task_instances(step["dag_id"], step["dag_run_id"], step["task_id"])
                 if ti["map_index"] == step["map_index"]][0]["rendered_map_index"]
        assert label == activity_id


@pytest.mark.reliability("input")
def test_text_from_aws_and_people_is_never_rendered_by_airflow(review_run):
    step = review_run.step("PA-101")
    assert r"{{ conn.aws\_default.password }} \<script\>alert(1)\</script\>" in _evidence(review_run, step, "alice")
    every = review_run.airflow.hitl_details("admin")
    assert review_run.secret not in str(every) and "alert(1)" not in str(every)
    rendered = review_run.airflow.get(
        f"/dags/{step['dag_id']}/dagRuns/{step['dag_run_id']}/taskInstances/{step['task_id']}/{step['map_index']}")
    assert review_run.secret not in str(rendered)


@pytest.mark.reliability("security")
def test_only_the_assigned_owner_may_answer(review_run):
    step = review_run.step("PA-104")
    review_run.wait_for_task(step)
    assert review_run.answer("bob", step, CONFIRM).status_code == 403
    assert review_run.answer("victor", step, CONFIRM).status_code == 403
    anonymous = httpx.patch(f"{review_run.airflow.api_url}/api/v2/dags/{step['dag_id']}/dagRuns/{step['dag_run_id']}"
                            f"/taskInstances/{step['task_id']}/{step['map_index']}/hitlDetails",
                            json={"chosen_options": [CONFIRM], "params_input": {}}, timeout=60)
    assert anonymous.status_code == 401
    assert review_run.step("PA-104")["status"] == "pending"


@pytest.mark.reliability("security")
def test_needs_changes_goes_to_a_second_pair_of_eyes_and_applies_when_approved(review_run, tmp_path):
    step = review_run.step("PA-104")
    changes = {"article_9_condition": "Art 9(2)(g); health and ethnic origin in complaints",
               "review_frequency_months": 6}
    response = review_run.answer("carol", step, CHANGE, comment="complaints hold health data", proposed_changes=changes)
    assert response.status_code == 200, response.text

    approval = review_run.wait_for_step("PA-104", "approval")
    assert approval["assigned_to"] == ["dana", "erin"]  # never carol
    assert (approval["task_id"], approval["map_index"]) == ("review.dpo_question", step["map_index"])
    review_run.wait_for_task(approval)
    # the first responder cannot approve: Airflow refuses her (not assigned) ...
    assert review_run.answer("carol", approval, APPROVE).status_code == 403
    # ... and so does ADC, were her answer to reach it (checked on a copy, so the real step stays open)
    copy = _copy_register(review_run, tmp_path)
    forged = Answer(step_id=approval["step_id"], option=APPROVE, params={}, responded_by="carol",
                    responded_at=approval["issued_at"])
    refused = record(copy, forged, team=("carol", *TEAM))
    assert refused["result"] == "refused" and refused["reason"].startswith("four eyes")

    assert review_run.answer("dana", approval, APPROVE, comment="agreed").status_code == 200
    review_run.airflow.wait(lambda: review_run.review("PA-104")["status"] == "completed", timeout=240,
                            what="the PA-104 review to complete")
    done = review_run.review("PA-104")
    assert (done["outcome"], done["answered_by"], done["approved_by"]) == ("changed", "carol", "dana")
    activity = review_run.activity("PA-104")
    assert activity["review_frequency_months"] == 6 and activity["article_9_condition"].startswith("Art 9(2)(g);")
    assert (activity["status"], activity["last_reviewed"], activity["approved_by"]) == ("active", date.today(), "dana")
    assert activity["next_review_due"] == add_months(date.today(), 6)
    with review_run.airflow.engine.connect() as conn:
        trail = [(h["action"], h["actor"]) for h in history.of(conn, "activity", "PA-104")]
    assert trail[-3:] == [("review opened", "adc"), ("updated", "dana"), ("reviewed", "dana")]


def test_a_confirmation_records_who_when_the_option_the_comment_and_the_evidence(review_run):
    step = review_run.step("PA-101")
    shown = step["pack"]
    comment = "Checked with casework. {{ conn.aws_default.password }} <script>alert(2)</script>"
    assert review_run.answer("alice", step, CONFIRM, comment=comment).status_code == 200
    review_run.airflow.wait(lambda: review_run.review("PA-101")["status"] == "completed", timeout=240,
                            what="the PA-101 review to complete")
    answered = review_run.step("PA-101")
    assert (answered["status"], answered["answered_by"], answered["option"]) == ("answered", "alice", CONFIRM)
    assert answered["comment"] == comment and answered["answered_at"] is not None
    assert answered["pack"] == shown and answered["pack_sha256"] == sha256(shown)
    assert review_run.activity("PA-101")["next_review_due"] == add_months(date.today(), 12)

    # a second answer records nothing new: Airflow says 409, and ADC would record nothing anyway
    assert review_run.answer("alice", step, ESCALATE, comment="again").status_code == 409
    again = record(review_run.airflow.engine, Answer(step_id=step["step_id"], option=ESCALATE, params={},
                                                     responded_by="alice", responded_at=answered["answered_at"]),
                   team=TEAM)
    assert again["result"] == "already recorded"
    assert review_run.review("PA-101")["outcome"] == "confirmed"


def test_no_answer_within_the_response_time_escalates_to_the_data_protection_team(review_run):
    timed_out = review_run.wait_for_step("PA-106", status="timed_out", timeout=240)
    assert timed_out["answered_by"] is None and timed_out["option"] == ESCALATE
    detail = _hitl(review_run, timed_out)
    assert detail["responded_by_user"] is None and detail["chosen_options"] == [ESCALATE]
    assert review_run.review("PA-106")["status"] == "escalated"

    escalation = review_run.wait_for_step("PA-106", "escalation")
    assert escalation["assigned_to"] == list(TEAM)
    review_run.wait_for_task(escalation)
    assert review_run.answer("frank", escalation, ACKNOWLEDGE).status_code == 403
    assert review_run.answer("erin", escalation, ACKNOWLEDGE, comment="phoned frank").status_code == 200
    review_run.wait_for_step("PA-106", "escalation", status="answered", timeout=240)
    # the review stays open and visible to operators (adc ropa due) until frank answers; the next run
    # (a reconciliation may already have started one) asks him again
    today, at = as_of()
    with review_run.airflow.engine.connect() as conn:
        due = {c.activity_id: c.to_dict() for c in candidates(conn, today=today, at=at)}
    waiting = due["PA-106"]["waiting_on"]
    assert due["PA-106"]["review_status"] == "escalated"
    assert waiting is None or (waiting["kind"], waiting["assigned_to"]) == ("owner", ["frank"])


def _copy_register(review_run, tmp_path: Path):
    """A consistent copy of the SQLite register (the backup API includes what is still in the WAL)."""
    from adc.register.db import make_engine

    source = review_run.airflow.register_url.removeprefix("sqlite:///")
    target = tmp_path / "register-copy.db"
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return make_engine(f"sqlite:///{target}")
