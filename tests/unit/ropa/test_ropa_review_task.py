"""The review task of adc_ropa_review: takes everything from ADC's question, renders none of it."""

import importlib.util
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adc.ropa import forms

DAG_FILE = Path(__file__).resolve().parents[3] / "dags" / "adc_ropa_review.py"
HOSTILE = "{{ conn.aws_default.password }} <script>alert(1)</script>"


@pytest.fixture(scope="module")
def dag_module():
    spec = importlib.util.spec_from_file_location("adc_ropa_review_under_test", DAG_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _question(kind="owner"):
    return {"step_id": f"PA-001/2026-01-01/{kind}/1", "kind": kind, "review_label": "PA-001 Casework",
            "subject": f"Review PA-001 {HOSTILE}", "body": f"## Pack\n{HOSTILE}",
            "assigned_users": [{"id": "alice", "name": "alice"}],
            "response_timeout": timedelta(days=14) if kind == "owner" else None}


def _task(dag_module, question):
    task = dag_module.ReviewTask(task_id="question_under_test", question="(an XComArg in the DAG)")
    task.question = question  # what Airflow resolves the XComArg to, without rendering it
    return task


def test_only_the_question_is_a_template_field_and_it_is_resolved_not_rendered(dag_module):
    assert tuple(dag_module.ReviewTask.template_fields) == ("question",)


@pytest.mark.parametrize("kind", ["owner", "approval", "escalation"])
def test_a_question_sets_what_airflow_shows_and_asks(dag_module, kind):
    task = _task(dag_module, _question(kind))
    task._ask()
    assert task.subject == f"Review PA-001 {HOSTILE}" and task.body.endswith(HOSTILE)
    assert task.options == forms.OPTIONS[kind] and task.defaults == forms.DEFAULTS[kind]
    assert task.assigned_users == [{"id": "alice", "name": "alice"}]
    assert set(task.params) == set(forms.FIELDS_OF[kind])
    assert task.response_timeout == (timedelta(days=14) if kind == "owner" else None)


def test_no_question_skips_the_task(dag_module):
    from airflow.sdk.exceptions import AirflowSkipException

    with pytest.raises(AirflowSkipException):
        _task(dag_module, {})._ask()


def test_a_timeout_passes_on_as_timed_out_with_the_step(dag_module):
    event = {"chosen_options": [forms.ESCALATE], "params_input": {}, "responded_at": datetime.now(UTC),
             "responded_by_user": None, "timedout": True}
    answer = _task(dag_module, _question()).execute_complete(context={}, event=event)
    assert answer["step_id"] == "PA-001/2026-01-01/owner/1"
    assert answer["timedout"] is True and answer["responded_by_user"] is None


def test_form_values_pass_through_unvalidated_for_adc_to_judge(dag_module):
    """The API does not validate params; a bad value must reach ADC (to be refused), not fail the task."""
    params = {"comment": 42, "proposed_changes": "not json", "surprise": True}
    event = {"chosen_options": [forms.CHANGE], "params_input": params, "responded_at": datetime.now(UTC),
             "responded_by_user": {"id": "alice", "name": "alice"}}
    answer = _task(dag_module, _question()).execute_complete(context={}, event=event)
    assert answer["params_input"] == params and answer["timedout"] is False


def test_the_form_fields_are_optional_in_the_ui(dag_module):
    """Whether a comment or changes are needed depends on the option: ADC decides, not the form."""
    task = _task(dag_module, _question())
    assert task.params.get_param("proposed_changes").schema["type"] == ["object", "null"]
    assert task.params.get_param("comment").schema["type"] == ["string", "null"]


def test_a_retry_of_the_task_instance_that_asked_reads_its_request(dag_module, tmp_path, monkeypatch):
    """Airflow may retry a task answered just after it parked, keeping its task instance id: writing the
    request again would clear the answer, so that retry defers to the provider's HITLTrigger, which reads
    the answer already given (or waits for one until the step's deadline). A try after a failure of its
    own has a new id and asks afresh (adc.airflow_bridge.AsksOnce)."""
    from types import SimpleNamespace

    from airflow.providers.standard.triggers.hitl import HITLTrigger
    from airflow.sdk.exceptions import TaskAwaitingInput, TaskDeferred

    from adc.register.db import make_engine, migrate

    url = f"sqlite:///{tmp_path / 'register.db'}"
    monkeypatch.setenv("ADC_REGISTER_URL", url)
    engine = make_engine(url)
    migrate(engine)
    question = {**_question(), "deadline": datetime(2026, 12, 15, 9, 0, tzinfo=UTC)}
    written = []
    monkeypatch.setattr("airflow.providers.standard.operators.hitl.upsert_hitl_detail",
                        lambda **request: written.append(request["subject"]))

    def run(ti_id: str, expect: type[Exception]) -> Exception:
        with pytest.raises(expect) as raised:
            _task(dag_module, question).execute(context={"ti": SimpleNamespace(id=ti_id, try_number=1),
                                                         "task_instance": SimpleNamespace(id=ti_id)})
        return raised.value

    run("ti-1", TaskAwaitingInput)
    assert written == [question["subject"]]
    deferred = run("ti-1", TaskDeferred)  # the same task instance again: reads its request, writes nothing
    assert written == [question["subject"]]
    trigger = deferred.trigger
    assert isinstance(trigger, HITLTrigger) and deferred.method_name == "execute_complete"
    assert trigger.ti_id == "ti-1" and trigger.timeout_datetime == question["deadline"]
    assert trigger.options == forms.OPTIONS["owner"] and trigger.defaults == forms.DEFAULTS["owner"]
    assert len(trigger.params) == 0  # nothing for the trigger to refuse: ADC judges the values
    run("ti-2", TaskAwaitingInput)  # a new try after a failure of its own: asks again
    assert written == [question["subject"]] * 2
    engine.dispose()
