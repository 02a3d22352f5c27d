"""The review task of adc_ropa_review: renders nothing, passes every answer on with its step."""

import importlib.util
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adc.ropa import forms

DAG_FILE = Path(__file__).resolve().parents[3] / "dags" / "adc_ropa_review.py"


@pytest.fixture(scope="module")
def dag_module():
    spec = importlib.util.spec_from_file_location("adc_ropa_review_under_test", DAG_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def task(dag_module):
    return dag_module.ReviewTask(
        task_id="owner_review_under_test",
        step_id="PA-001/2026-01-01/owner/1",
        review_label="PA-001 Casework",
        subject="{{ conn.aws_default.password }}",
        body="<script>{{ var.value.secret }}</script>",
        options=forms.OWNER_OPTIONS,
        defaults=[forms.ESCALATE],
        params=dag_module._params(forms.OWNER_PARAMS),
        assigned_users=[{"id": "alice", "name": "alice"}],
    )


def test_nothing_in_a_review_task_is_a_template(task):
    assert tuple(task.template_fields) == ()


def test_a_timeout_passes_on_as_timed_out_with_the_step(task):
    event = {"chosen_options": [forms.ESCALATE], "params_input": {}, "responded_at": datetime.now(UTC),
             "responded_by_user": None, "timedout": True}
    answer = task.execute_complete(context={}, event=event)
    assert answer["step_id"] == "PA-001/2026-01-01/owner/1"
    assert answer["timedout"] is True and answer["responded_by_user"] is None


def test_form_values_pass_through_unvalidated_for_adc_to_judge(task):
    """The API does not validate params; a bad value must reach ADC (to be refused), not fail the task."""
    params = {"comment": 42, "proposed_changes": "not json", "surprise": True}
    event = {"chosen_options": [forms.CHANGE], "params_input": params, "responded_at": datetime.now(UTC),
             "responded_by_user": {"id": "alice", "name": "alice"}}
    answer = task.execute_complete(context={}, event=event)
    assert answer["params_input"] == params and answer["timedout"] is False


def test_the_form_fields_are_airflow_params(dag_module):
    params = dag_module._params(forms.OWNER_PARAMS)
    assert set(params) == {"comment", "proposed_changes"}
    assert params["proposed_changes"].schema["type"] == ["object", "null"]  # optional in the UI: ADC decides
