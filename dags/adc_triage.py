"""
### adc_triage: the data protection team answers new high-severity findings

Runs after each reconciliation (scheduled on the Asset `adc://register/findings`). **questions**
picks the open high-severity findings nobody has been asked about and builds one question each from
the register; **triage** asks them in **Required Actions**, assigned to the data protection team
(`ADC_DATA_PROTECTION_TEAM`), one task per finding:

- unregistered dataset: *Register as a new asset*, *Add to an existing asset* or *Dismiss*;
- classification mismatch: *Update the asset's classification*, *Acknowledge* or *Dismiss*;
- missing asset: *Retire the asset*, *Acknowledge* or *Dismiss*; anything else: *Acknowledge* or *Dismiss*.

Each answer is taken from Airflow's own record of the response (never from XCom), checked by ADC
(the person must be in the data protection team, and this run must have asked about the finding)
and applied to the register at once, with a history row naming the person; an answer ADC cannot
apply changes nothing, is recorded as refused, and the question is asked again (the task's
retries). With nobody in the team, ADC does not ask. Runs are independent of reconciliation, so an unanswered question
never holds the next reconciliation back. See docs/register.md.
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import Asset, Param, dag, task

from adc.airflow import DEFAULT_ARGS
from adc.airflow.operators import TriageTask
from adc.register import FINDINGS_ASSET_URI
from adc.register.forms import PARAMS, TRIAGE_DAG_ID, TRIAGE_TASK


@task
def questions(**context) -> list[dict]:
    # imported when the task runs: keeps DAG parsing fast
    from adc.airflow.triage import questions as ask

    return ask(f"{TRIAGE_DAG_ID}:{context['run_id']}")


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
