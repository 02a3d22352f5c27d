"""The review workflow on the register: asking, recording, four eyes, escalation, refusals, idempotence."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, update

from adc.errors import ReviewRefused
from adc.register import history
from adc.ropa import activities
from adc.ropa.activities import add_months
from adc.ropa.forms import ACKNOWLEDGE, APPROVE, CHANGE, CONFIRM, ESCALATE, REJECT, RETIRE
from adc.ropa.outcomes import Answer, follow_up, note_unanswered, record
from adc.ropa.packs import sha256
from adc.ropa.reviews import issue, list_reviews
from adc.ropa.tables import review, review_step
from tests.integration.ropa.conftest import TEAM, add_finding


def _answer(step_id: str, option: str | None, by: str | None, **params) -> Answer:
    return Answer(step_id=step_id, option=option, params=params, responded_by=by, responded_at=datetime.now(UTC),
                  timed_out=by is None)


def _owner_step(engine, activity_id: str = "PA-004", run: str = "run-1") -> dict:
    asked = issue(engine, dag_run_id=run, team=TEAM)
    return next(q for q in asked if q["review_label"].startswith(activity_id) and q["kind"] == "owner")


def _step(engine, step_id: str) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(select(review_step).where(review_step.c.step_id == step_id)).mappings().one())


def _place(step: dict) -> dict:
    return {key: step[key] for key in ("dag_id", "dag_run_id", "task_id", "map_index")}


def _activity(engine, activity_id: str = "PA-004") -> dict:
    with engine.connect() as conn:
        return activities.get(conn, activity_id)


def _review(engine, activity_id: str = "PA-004") -> dict:
    with engine.connect() as conn:
        return list_reviews(conn, activity_id=activity_id)[0]


def test_asking_opens_one_review_per_cycle_for_the_owner_and_is_idempotent_per_run(ropa):
    asked = issue(ropa, dag_run_id="run-1", team=TEAM)
    assert issue(ropa, dag_run_id="run-1", team=TEAM) == asked  # a retried task gets the same questions
    assert issue(ropa, dag_run_id="run-2", team=TEAM) == []  # carol is already being asked
    [request] = asked
    assert request["kind"] == "owner"
    assert request["step_id"] == f"PA-004/{_activity(ropa)['next_review_due'].isoformat()}/owner/1"
    assert request["assigned_users"] == [{"id": "carol", "name": "carol"}]
    assert request["subject"].startswith("Review PA-004 Complaints handling: overdue since ")
    assert request["review_label"] == "PA-004 Complaints handling"
    assert request["response_timeout"].days == 14
    assert "### Linked assets (1)" in request["body"] and "#### IA-0031: not in the register" in request["body"]
    assert _activity(ropa)["status"] == "under_review"
    with ropa.connect() as conn:
        step = conn.execute(select(review_step).where(review_step.c.step_id == request["step_id"])).mappings().one()
    assert step["pack"] == request["body"] and step["pack_sha256"] == sha256(request["body"])
    assert (step["dag_run_id"], step["task_id"], step["map_index"]) == ("run-1", "review.question", 0)


def test_confirming_completes_the_review_and_sets_the_next_due_date(ropa):
    step = _owner_step(ropa)
    result = record(ropa, _answer(step["step_id"], CONFIRM, "carol", comment="still right"), team=TEAM)
    assert result["result"] == "confirmed"
    today = date.today()
    activity = _activity(ropa)
    assert (activity["status"], activity["last_reviewed"], activity["next_review_due"], activity["approved_by"]) == (
        "active", today, add_months(today, 12), "carol")
    done = _review(ropa)
    assert (done["status"], done["outcome"], done["answered_by"]) == ("completed", "confirmed", "carol")
    owner = done["steps"][0]
    assert (owner["status"], owner["answered_by"], owner["option"], owner["comment"]) == (
        "answered", "carol", CONFIRM, "still right")
    with ropa.connect() as conn:
        actions = [h["action"] for h in history.of(conn, "activity", "PA-004")]
    assert actions == ["created", "review opened", "reviewed"]
    assert issue(ropa, dag_run_id="run-2", team=TEAM) == []  # done for this cycle


def test_a_second_answer_to_the_same_step_records_nothing_new(ropa):
    step = _owner_step(ropa)
    record(ropa, _answer(step["step_id"], CONFIRM, "carol"), team=TEAM)
    again = record(ropa, _answer(step["step_id"], RETIRE, "carol", comment="changed my mind"), team=TEAM)
    assert again["result"] == "already recorded"
    assert _review(ropa)["outcome"] == "confirmed" and _activity(ropa)["status"] == "active"


def test_changes_go_to_the_other_person_in_the_team_and_apply_with_history_when_approved(ropa):
    step = _owner_step(ropa)
    changes = {"article_9_condition": "Art 9(2)(g); health data in complaints", "review_frequency_months": "6"}
    assert record(ropa, _answer(step["step_id"], CHANGE, "carol", comment="health data", proposed_changes=changes),
                  team=TEAM)["result"] == "awaiting_approval"
    approval = follow_up(ropa, step["step_id"])
    assert approval["kind"] == "approval" and approval["response_timeout"] is None
    assert approval["assigned_users"] == [{"id": "dana", "name": "dana"}, {"id": "erin", "name": "erin"}]
    assert "| `review_frequency_months` | 12 | 6 |" in approval["body"]
    assert _activity(ropa)["review_frequency_months"] == 12  # nothing applies before approval

    assert record(ropa, _answer(approval["step_id"], APPROVE, "erin"), team=TEAM)["result"] == "changed"
    activity = _activity(ropa)
    assert activity["review_frequency_months"] == 6 and activity["article_9_condition"].endswith("complaints")
    assert activity["next_review_due"] == add_months(date.today(), 6) and activity["approved_by"] == "erin"
    done = _review(ropa)
    assert (done["outcome"], done["answered_by"], done["approved_by"]) == ("changed", "carol", "erin")
    assert done["applied_changes"]["review_frequency_months"] == [12, 6]
    with ropa.connect() as conn:
        updated = [h for h in history.of(conn, "activity", "PA-004") if h["action"] == "updated"]
    assert updated[0]["actor"] == "erin" and updated[0]["cause"] == done["review_id"]


@pytest.mark.reliability("security")
def test_four_eyes_the_proposer_can_never_approve_even_if_the_task_reaches_them(ropa):
    # carol is in the team here: she is still left out of the approval, and refused if she answers it
    team = ("carol", "dana")
    step = _owner_step(ropa)
    record(ropa, _answer(step["step_id"], RETIRE, "carol", comment="complaints moved to a new service"), team=team)
    approval = follow_up(ropa, step["step_id"])
    assert approval["assigned_users"] == [{"id": "dana", "name": "dana"}]
    with ropa.begin() as conn:  # even if the assignment were wrong
        conn.execute(update(review_step).where(review_step.c.step_id == approval["step_id"])
                     .values(assigned_to=["carol", "dana"]))
    result = record(ropa, _answer(approval["step_id"], APPROVE, "carol"), team=team)
    assert result == {**result, "result": "refused",
                      "reason": "four eyes: carol proposed this and cannot also approve it"}
    assert _activity(ropa)["status"] == "under_review"
    assert _review(ropa)["status"] == "awaiting_approval"
    refused = _step(ropa, approval["step_id"])
    assert (refused["status"], refused["answered_by"]) == ("pending", None)  # still open for dana
    # its task ends without an answer from anyone entitled (settle notes it); the next run asks the team again
    assert note_unanswered(ropa, _place(refused), state="success", changes=[]) is not None
    [again] = issue(ropa, dag_run_id="run-2", team=team)
    assert again["kind"] == "approval"
    assert again["step_id"].endswith("/approval/2")
    assert record(ropa, _answer(again["step_id"], APPROVE, "dana"), team=team)["result"] == "retired"
    assert _activity(ropa)["status"] == "retired"


def test_a_rejected_change_is_recorded_and_the_record_stays_as_it_was(ropa):
    step = _owner_step(ropa)
    record(ropa, _answer(step["step_id"], CHANGE, "carol", comment="x",
                         proposed_changes={"retention_schedule": "RS-07: forever"}), team=TEAM)
    approval = follow_up(ropa, step["step_id"])
    refused = record(ropa, _answer(approval["step_id"], REJECT, "dana"), team=TEAM)
    assert refused["result"] == "refused" and "needs a comment" in refused["reason"]
    [again] = issue(ropa, dag_run_id="run-2", team=TEAM)
    assert record(ropa, _answer(again["step_id"], REJECT, "dana", comment="RS-07 is 3 years"),
                  team=TEAM)["result"] == "changes_rejected"
    activity = _activity(ropa)
    assert activity["retention_schedule"] == "RS-07: 3 years" and activity["status"] == "active"
    assert _review(ropa)["outcome"] == "changes_rejected"


def test_silence_escalates_to_the_team_and_the_owner_is_asked_again_later(ropa):
    step = _owner_step(ropa)
    assert record(ropa, _answer(step["step_id"], ESCALATE, None), team=TEAM)["result"] == "escalated"
    current = _review(ropa)
    assert current["status"] == "escalated" and current["steps"][0]["status"] == "timed_out"
    escalation = follow_up(ropa, step["step_id"])
    assert escalation["assigned_users"] == [{"id": "dana", "name": "dana"}, {"id": "erin", "name": "erin"}]
    assert "no answer from carol within the response time" in escalation["subject"]
    assert record(ropa, _answer(escalation["step_id"], ACKNOWLEDGE, "dana", comment="phoned carol"),
                  team=TEAM)["result"] == "acknowledged"
    [again] = issue(ropa, dag_run_id="run-2", team=TEAM)
    assert again["step_id"].endswith("/owner/2") and "escalated, asked again" in again["subject"]
    assert "no answer from carol; escalated" in again["body"]
    with ropa.connect() as conn:
        actions = [h["action"] for h in history.of(conn, "review", current["review_id"])]
    assert actions == ["opened", "escalated", "escalation acknowledged"]


def test_an_owner_can_choose_to_escalate_with_a_reason(ropa):
    step = _owner_step(ropa)
    assert record(ropa, _answer(step["step_id"], ESCALATE, "carol", comment="not my area any more"),
                  team=TEAM)["result"] == "escalated"
    escalation = follow_up(ropa, step["step_id"])
    assert "carol chose to escalate" in escalation["subject"] and "not my area any more" in escalation["body"]


@pytest.mark.parametrize(
    ("option", "params", "reason"),
    [
        (CHANGE, {"proposed_changes": {"retention_schedule": "RS-01"}}, "Needs changes needs a comment"),
        (RETIRE, {}, "Retire activity needs a comment"),
        (CHANGE, {"comment": "x"}, "needs at least one proposed change"),
        (CHANGE, {"comment": "x", "proposed_changes": {"retention_schedule": "RS-07: 3 years"}},
         "needs at least one proposed change"),  # no difference from the record
        (CHANGE, {"comment": "x", "proposed_changes": {"colour": "blue"}}, "not a field a review can change: colour"),
        (CHANGE, {"comment": "x", "proposed_changes": {"status": "retired"}}, "choose Retire activity"),
        (CHANGE, {"comment": "x", "proposed_changes": {"owner": "carol smith"}}, "proposed changes: owner:"),
        (CHANGE, {"comment": "x", "proposed_changes": '{"retention_schedule": '}, "not valid JSON"),
        (CHANGE, {"comment": "x", "proposed_changes": ["RS-07"]}, "must be a JSON object"),
        (CONFIRM, {"proposed_changes": {"retention_schedule": "RS-01"}}, "cannot carry proposed changes"),
        (CONFIRM, {"comment": 42}, "the comment must be text"),
        (CONFIRM, {"surprise": "x"}, "unexpected form field(s): surprise"),
        ("Maybe", {}, "is not one of"),
    ],
)
def test_invalid_answers_are_refused_recorded_and_asked_again(ropa, option, params, reason):
    step = _owner_step(ropa)
    result = record(ropa, _answer(step["step_id"], option, "carol", **params), team=TEAM)
    assert result["result"] == "refused" and reason in result["reason"]
    refused = _review(ropa)["steps"][0]
    assert refused["status"] == "refused" and reason in refused["refusal"]
    activity = _activity(ropa)
    assert activity["status"] == "under_review" and activity["retention_schedule"] == "RS-07: 3 years"
    [again] = issue(ropa, dag_run_id="run-2", team=TEAM)
    assert "was not accepted" in again["body"]


@pytest.mark.reliability("security")
def test_only_the_assigned_person_is_recorded(ropa):
    step = _owner_step(ropa)
    result = record(ropa, _answer(step["step_id"], CONFIRM, "bob"), team=TEAM)
    assert result["result"] == "refused" and result["reason"] == "bob is not assigned this task (carol)"


def test_without_another_person_in_the_team_the_approval_waits_with_a_note(ropa):
    step = _owner_step(ropa)
    record(ropa, _answer(step["step_id"], RETIRE, "carol", comment="stopped"), team=("carol",))
    assert follow_up(ropa, step["step_id"]) is None
    assert "no one in the data protection team other than carol" in _review(ropa)["note"]


def test_an_unknown_step_is_an_error_not_a_silent_success(ropa):
    with pytest.raises(ReviewRefused, match="no review step PA-999"):
        record(ropa, _answer("PA-999/2026-01-01/owner/1", CONFIRM, "carol"), team=TEAM)


def test_the_pack_shows_assets_findings_and_hostile_text_as_text(ropa):
    from tests.integration.ropa.conftest import add_dataset

    hostile = "{{ conn.aws_default.password }} <script>alert(1)</script>"
    with ropa.begin() as conn:
        activities.change(conn, "PA-001", {"purpose_of_processing": hostile}, action="updated", actor="test",
                          cause_kind="import", cause="test")
    add_dataset(ropa, "s3://dcr-sandbox", "tmp/{{ conn.aws_default.password }}", tags={"ropa:activity": "PA-001"})
    add_finding(ropa, "unregistered_dataset", namespace="s3://dcr-sandbox", name="tmp/{{ conn.aws_default.password }}",
                summary="<img src=x onerror=alert(1)> personal data")
    add_finding(ropa, "missing_asset", asset_id="IA-0042", summary="gone")
    body = _owner_step(ropa, "PA-001")["body"]
    assert not re.search(r"(?<!\\)<", body)  # every < escaped: no HTML reaches the UI
    assert r"{{ conn.aws\_default.password }} \<script\>alert(1)\</script\>" in body
    assert "#### IA-0042: not in the register" in body  # the demo RoPA is loaded without the IAR here
    assert "| high | missing\\_asset | IA-0042 | gone |" in body
    assert "No review recorded in ADC yet (last reviewed" in body


def test_reviews_list_hides_the_pack_but_keeps_its_hash(ropa):
    step = _owner_step(ropa)
    with ropa.connect() as conn:
        [item] = list_reviews(conn)
        assert conn.execute(select(review.c.reasons)).scalar_one()[0].startswith("overdue")
    assert "pack" not in item["steps"][0] and item["steps"][0]["pack_sha256"] == sha256(step["body"])


def test_the_pack_shows_what_the_last_harvest_found_in_a_linked_asset(ropa):
    from adc.register.tables import asset, asset_location
    from tests.integration.ropa.conftest import add_dataset

    at = datetime.now(UTC)
    with ropa.begin() as conn:
        conn.execute(asset.insert().values(
            asset_id="IA-0031", name="Complaints intake", owner="carol", personal_data=False, status="active",
            retention_schedule="RS-07", security_classification="OFFICIAL", created_at=at, updated_at=at))
        conn.execute(asset_location.insert().values(asset_id="IA-0031", uri="s3://dcr-prod-complaints-intake",
                                                    namespace="s3://dcr-prod-complaints-intake", name=""))
    add_dataset(ropa, "s3://dcr-prod-complaints-intake", "intake", tags={}, format="jsonl")
    add_dataset(ropa, "s3://elsewhere", "intake", tags={})
    body = _owner_step(ropa)["body"]
    assert "#### IA-0031 Complaints intake (active)" in body
    assert "Register: owner carol; personal data no; special categories none; retention RS-07" in body
    assert "| s3://dcr-prod-complaints-intake/intake | csv | personal |" in body
    assert "s3://elsewhere" not in body


@pytest.mark.reliability("security")
@pytest.mark.parametrize("by", ["bob", None])
def test_an_answer_from_someone_not_asked_leaves_the_step_open_and_names_only_who_answered(ropa, by):
    step = _step(ropa, _owner_step(ropa)["step_id"])
    result = record(ropa, _answer(step["step_id"], CONFIRM, by) if by else
                    Answer(step["step_id"], CONFIRM, {}, None, datetime.now(UTC), timed_out=False), team=TEAM)
    assert (result["result"], result["status"]) == ("refused", "pending")
    kept = _step(ropa, step["step_id"])
    assert (kept["status"], kept["answered_by"], kept["option"]) == ("pending", None, None)
    assert _review(ropa)["status"] == "open" and _activity(ropa)["status"] == "under_review"
    with ropa.connect() as conn:
        actors = {h["actor"] for h in history.of(conn, "review", step["review_id"])}
    assert actors == ({"adc", by} if by else {"adc"})


@pytest.mark.reliability("security")
def test_a_task_ended_by_hand_records_no_answer_notes_who_and_is_asked_again(ropa):
    step = _step(ropa, _owner_step(ropa)["step_id"])
    changes = [{"by": "carol", "at": "2026-12-03T09:00:00Z", "action": "set to success"}]
    noted = note_unanswered(ropa, _place(step), state="success", changes=changes)
    assert noted["changed_by"] == changes and noted["answer"] is None and noted["state"] == "success"
    assert note_unanswered(ropa, _place(step), state="success", changes=changes) is None  # once
    kept = _step(ropa, step["step_id"])
    assert (kept["status"], kept["answered_by"], kept["option"]) == ("pending", None, None)
    assert kept["ended_without_answer"]["changed_by"] == changes
    assert _review(ropa)["status"] == "open" and _review(ropa)["answered_by"] is None
    with ropa.connect() as conn:
        last = history.of(conn, "review", step["review_id"])[-1]
    assert (last["action"], last["actor"]) == ("task ended without an answer", "adc")
    [again] = issue(ropa, dag_run_id="run-2", team=TEAM)
    assert again["kind"] == "owner" and again["step_id"].endswith("/owner/2")
