"""The review task of adc_ropa_review: asks what the register holds for its place, records what Airflow
recorded, renders nothing, and asks once per task instance."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from adc.ropa import forms
from adc.ropa.reviews import issue
from adc.ropa.tables import review_step
from tests.integration.ropa.conftest import TEAM

HOSTILE = "{{ conn.aws_default.password }} <script>alert(1)</script>"
FORGED = {"step_id": "PA-004/forged", "kind": "approval", "subject": HOSTILE, "body": HOSTILE,
          "assigned_users": [{"id": "carol", "name": "carol"}], "review_label": "forged", "response_timeout": None}


@pytest.fixture
def asked(ropa, monkeypatch):
    """PA-004's owner question, issued for run-1 (carol), and the team in the environment."""
    monkeypatch.setenv("ADC_DATA_PROTECTION_TEAM", ",".join(TEAM))
    [question] = issue(ropa, dag_run_id="run-1", team=TEAM)
    return question


def _step(engine, step_id: str) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(select(review_step).where(review_step.c.step_id == step_id)).mappings().one())


def _context(task_id: str = forms.QUESTION_TASK, ti_id: str = "ti-1", map_index: int = 0) -> dict:
    ti = SimpleNamespace(id=ti_id, try_number=1, dag_id=forms.DAG_ID, run_id="run-1", task_id=task_id,
                         map_index=map_index)
    return {"ti": ti, "task_instance": ti, "run_id": "run-1"}


def _task(question=FORGED, task_id=forms.QUESTION_TASK):
    from adc.airflow.operators import ReviewTask

    task = ReviewTask(task_id=task_id.split(".")[-1], question="(an XComArg in the DAG)")
    task.question = question  # what Airflow resolves the XComArg to, without rendering it
    return task


def _event(option: str, by: str | None, **params) -> dict:
    return {"chosen_options": [option], "params_input": params, "responded_at": datetime.now(UTC),
            "responded_by_user": {"id": by, "name": by} if by else None, "timedout": by is None}


def test_only_the_question_is_a_template_field_and_it_is_resolved_not_rendered():
    from adc.airflow.operators import ReviewTask

    assert tuple(ReviewTask.template_fields) == ("question",)


@pytest.mark.reliability("security")
def test_what_is_asked_and_whom_comes_from_the_register_never_from_xcom(ropa, asked):
    """A forged XCom (another step, carol assigned to an approval, hostile text) changes nothing asked."""
    task = _task(FORGED)
    task._ask(_context())
    assert task.subject == asked["subject"] and task.body == asked["body"]
    assert task.options == forms.OPTIONS["owner"] and task.defaults == forms.DEFAULTS["owner"]
    assert task.assigned_users == [{"id": "carol", "name": "carol"}] == asked["assigned_users"]
    assert set(task.params) == set(forms.FIELDS_OF["owner"])
    assert task.response_timeout == asked["response_timeout"] and task.question["step_id"] == asked["step_id"]


def test_no_step_at_the_place_skips_the_task(ropa, asked):
    from airflow.sdk.exceptions import AirflowSkipException

    with pytest.raises(AirflowSkipException):
        _task()._ask(_context(forms.DPO_TASK))  # the owner has not answered: no approval to ask


def test_an_answer_is_recorded_from_the_event_the_task_resumes_with(ropa, asked):
    summary = _task().execute_complete(context=_context(), event=_event(forms.CONFIRM, "carol", comment="fine"))
    assert (summary["step_id"], summary["result"], summary["by"]) == (asked["step_id"], "confirmed", "carol")
    step = _step(ropa, asked["step_id"])
    assert (step["status"], step["answered_by"], step["option"], step["comment"]) == (
        "answered", "carol", forms.CONFIRM, "fine")


def test_a_timeout_is_recorded_as_timed_out_and_escalates(ropa, asked):
    summary = _task().execute_complete(context=_context(), event=_event(forms.ESCALATE, None))
    assert summary["result"] == "escalated"
    assert _step(ropa, asked["step_id"])["status"] == "timed_out"


def test_form_values_pass_through_unvalidated_for_adc_to_judge(ropa, asked):
    """The API does not validate params; a bad value must reach ADC (to be refused), not fail the task."""
    params = {"comment": 42, "proposed_changes": "not json", "surprise": True}
    summary = _task().execute_complete(context=_context(), event=_event(forms.CHANGE, "carol", **params))
    assert summary["result"] == "refused" and "unexpected form field" in summary["reason"]


@pytest.mark.reliability("security")
def test_an_approval_by_the_proposer_is_refused_and_the_approval_stays_open(ropa, asked):
    _task().execute_complete(context=_context(), event=_event(
        forms.CHANGE, "carol", comment="new retention", proposed_changes={"retention_schedule": "RS-07"}))
    approval = _task()
    approval._ask(_context(forms.DPO_TASK))
    assert approval.assigned_users == [{"id": u, "name": u} for u in TEAM]
    step_id = approval.question["step_id"]
    summary = approval.execute_complete(context=_context(forms.DPO_TASK), event=_event(forms.APPROVE, "carol"))
    assert summary["result"] == "refused" and summary["reason"].startswith("four eyes")
    assert _step(ropa, step_id)["status"] == "pending"
    done = approval.execute_complete(context=_context(forms.DPO_TASK), event=_event(forms.APPROVE, "dana"))
    assert done["result"] == "changed" and _step(ropa, step_id)["answered_by"] == "dana"


def test_the_form_fields_are_optional_in_the_ui():
    """Whether a comment or changes are needed depends on the option: ADC decides, not the form."""
    task = _task()
    assert task.params.get_param("proposed_changes").schema["type"] == ["object", "null"]
    assert task.params.get_param("comment").schema["type"] == ["string", "null"]


def test_a_retry_of_the_task_instance_that_asked_reads_its_request(ropa, asked, monkeypatch):
    """Airflow may retry a task answered just after it parked, keeping its task instance id: writing the
    request again would clear the answer, so that retry defers to the provider's HITLTrigger, which reads
    the answer already given (or waits for one until the step's deadline). A try after a failure of its
    own has a new id and asks afresh (adc.airflow.operators.AsksOnce)."""
    from airflow.providers.standard.triggers.hitl import HITLTrigger
    from airflow.sdk.exceptions import AirflowSkipException, TaskAwaitingInput, TaskDeferred

    written = []
    monkeypatch.setattr("airflow.providers.standard.operators.hitl.upsert_hitl_detail",
                        lambda **request: written.append(request["subject"]))

    def run(ti_id: str, expect: type[Exception]) -> Exception:
        with pytest.raises(expect) as raised:
            _task().execute(context=_context(ti_id=ti_id))
        return raised.value

    run("ti-1", TaskAwaitingInput)
    assert written == [asked["subject"]]
    deferred = run("ti-1", TaskDeferred)  # the same task instance again: reads its request, writes nothing
    assert written == [asked["subject"]]
    trigger = deferred.trigger
    assert isinstance(trigger, HITLTrigger) and deferred.method_name == "execute_complete"
    deadline = _step(ropa, asked["step_id"])["deadline"]
    assert trigger.ti_id == "ti-1" and trigger.timeout_datetime == deadline
    assert trigger.options == forms.OPTIONS["owner"] and trigger.defaults == forms.DEFAULTS["owner"]
    assert len(trigger.params) == 0  # nothing for the trigger to refuse: ADC judges the values
    run("ti-2", TaskAwaitingInput)  # a new try after a failure of its own: asks again
    assert written == [asked["subject"]] * 2
    _task().execute_complete(context=_context(ti_id="ti-2"), event=_event(forms.CONFIRM, "carol"))
    deferred = run("ti-2", TaskDeferred)  # answered: the retry of the one that asked still reads it
    run("ti-3", AirflowSkipException)  # a cleared task asks nothing already answered
