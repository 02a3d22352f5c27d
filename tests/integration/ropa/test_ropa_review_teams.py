"""RoPA reviews under organisations.yaml: each activity's data protection team is its organisation's, and
the questions Airflow shows every reader of the DAG carry only an id and a link."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from adc.organisations import DataProtectionTeams
from adc.ropa.forms import APPROVE, CHANGE
from adc.ropa.outcomes import Answer, follow_up, record
from adc.ropa.reviews import issue
from adc.ropa.tables import processing_activity
from tests.support.organisations import declare, organisations_yaml

ORGANISATIONS = organisations_yaml(
    "{user: dana, organisations: [dept], clearance: SECRET, data_protection: true}",
    "{user: carol, organisations: [psu]}",
    "{user: sam, organisations: [psu], clearance: TOP SECRET, data_protection: true}",
)


@pytest.fixture
def sealed_activity(ropa, tmp_path, monkeypatch):
    """PA-004 (carol's, due for review) belongs to the sealed unit."""
    declare(tmp_path, monkeypatch, ORGANISATIONS)
    with ropa.begin() as conn:
        conn.execute(update(processing_activity).where(processing_activity.c.activity_id == "PA-004")
                     .values(organisation="psu"))
    return ropa


def _answer(step_id: str, option: str, by: str, **params) -> Answer:
    return Answer(step_id=step_id, option=option, params=params, responded_by=by, responded_at=datetime.now(UTC),
                  timed_out=False)


def test_a_sealed_units_change_goes_to_its_own_team_and_the_departments_cannot_approve_it(sealed_activity):
    teams = DataProtectionTeams.from_env()
    [owner] = issue(sealed_activity, dag_run_id="run-1", team=teams)
    proposed = {"review_frequency_months": "6"}
    assert record(sealed_activity, _answer(owner["step_id"], CHANGE, "carol", comment="x", proposed_changes=proposed),
                  team=teams)["result"] == "awaiting_approval"
    approval = follow_up(sealed_activity, owner["step_id"])
    assert approval["assigned_users"] == [{"id": "sam", "name": "sam"}]

    refused = record(sealed_activity, _answer(approval["step_id"], APPROVE, "dana"), team=teams)
    assert refused["result"] == "refused" and refused["status"] == "pending"
    assert "dana is not assigned" in refused["reason"] or "not in the data protection team" in refused["reason"]
    assert record(sealed_activity, _answer(approval["step_id"], APPROVE, "sam"), team=teams)["result"] == "changed"


def test_questions_in_airflow_carry_only_the_activitys_id_and_a_link(sealed_activity):
    [owner] = issue(sealed_activity, dag_run_id="run-1", team=DataProtectionTeams.from_env())
    assert owner["review_label"] == "PA-004"
    assert owner["subject"] == "RoPA review of PA-004: owner"
    assert f"(/adc/evidence/{owner['step_id']})" in owner["body"]
    shown = owner["subject"] + owner["body"] + owner["review_label"]
    assert "Complaints" not in shown and "carol" not in shown
