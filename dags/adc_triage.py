"""
### adc_triage: the data protection team answers new high-severity findings

Runs after each reconciliation (scheduled on the Asset `adc://register/findings`). **questions**
picks the open high-severity findings nobody has been asked about and builds one question each from
the register; **triage** asks them in **Required Actions**, assigned to the data protection team
(`ADC_DATA_PROTECTION_TEAM`), one task per finding:

- unregistered dataset: *Register as a new asset*, *Add to an existing asset* or *Dismiss*;
- classification mismatch: *Update the asset's classification*, *Acknowledge* or *Dismiss*;
- missing asset: *Retire the asset*, *Acknowledge* or *Dismiss*; anything else: *Acknowledge* or *Dismiss*.

Each answer is checked by ADC and applied to the register at once, with a history row naming the
person; an answer ADC cannot apply changes nothing, is recorded as refused, and the question is
asked again (the task's retries). Runs are independent of reconciliation, so an unanswered question
never holds the next reconciliation back. See docs/register.md.
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import Asset, Param, dag, task

from adc.airflow_bridge import DEFAULT_ARGS, AsksOnce
from adc.register import FINDINGS_ASSET_URI
from adc.register.forms import PARAMS, TRIAGE_DAG_ID, TRIAGE_TASK


class TriageTask(AsksOnce, HITLOperator):
    """One finding's question; the answer is applied to the register when the person responds.

    No template fields: subject and body are data built by ADC from the register (bucket names,
    tags and descriptions from AWS and people), and Airflow renders expand_kwargs() values that are
    template fields. The form's values pass through unchecked here: adc.register.triage validates
    them and records a refusal instead of failing inside Airflow and losing the answer. A question
    is asked once per task instance (AsksOnce).
    """

    template_fields = ()

    def __init__(self, *, finding_id: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.finding_id = finding_id

    def validate_params_input(self, params_input) -> None:
        """Checked by ADC when applying (see the class docstring)."""

    def execute_complete(self, context, event):
        from adc.register import triage
        from adc.register.db import register_engine

        answer = super().execute_complete(context, event)
        applied = triage.apply(register_engine(), triage.Answer.from_event(self.finding_id, answer))
        print(f"finding {self.finding_id}: {applied['outcome']} (by {applied['by']})")
        return {**answer, **applied}


@task
def questions(**context) -> list[dict]:
    from adc.register import triage
    from adc.register.db import register_engine

    asked = triage.requests(register_engine(), asked_by_run=f"{TRIAGE_DAG_ID}:{context['run_id']}")
    print(f"asking about {len(asked)} finding(s): {[q['finding_id'] for q in asked]}")
    return asked


@dag(
    dag_id=TRIAGE_DAG_ID,
    schedule=[Asset(FINDINGS_ASSET_URI)],
    start_date=datetime(2024, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=100,  # a run lasts until its people answer; the next reconciliation's must still start
    default_args=DEFAULT_ARGS,
    tags=["adc", "register", "triage"],
    doc_md=__doc__,
)
def adc_triage():
    TriageTask.partial(
        task_id=TRIAGE_TASK,
        params={name: Param(spec["default"], type=["null", "string"],
                            **{k: v for k, v in spec.items() if k != "default"}) for name, spec in PARAMS.items()},
        map_index_template="finding {{ task.finding_id }}",
    ).expand_kwargs(questions())


adc_triage()
