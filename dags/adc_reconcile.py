"""
### adc_reconcile: the estate against the Information Asset Register

Runs after every completed harvest (scheduled on the Asset `adc://register/harvest`), one run at a
time. **reconcile** compares the current snapshot with the register in set-based SQL, in one
transaction: findings open, update and resolve themselves (unregistered datasets, missing assets,
classification, owner and retention mismatches, schema drift, unreadable sources), assets become
missing or active again, and every change is a history row. It then updates the Asset
`adc://register/findings`, which starts **adc_triage** (new high-severity findings go to the data
protection team) and the RoPA review.

Coverage before absence: only a completely listed scope can make an asset missing. If a run would
mark more than a source's `missing_threshold` of its assets missing, the absence is withheld and
**approve_absence** asks the data protection team (`ADC_DATA_PROTECTION_TEAM`): *Approve* marks
them missing (each asset's history names the approver), *Reject* (or no answer within a day) keeps
them as they were and records who decided. The decision is read from Airflow's own record of the
answer, by the task that asked, and only a member of the team can make it; with nobody in the team
ADC does not ask, and the absence stays withheld. See docs/register.md.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import Asset, dag, task

from adc.airflow import DEFAULT_ARGS, HARVEST_ASSET_URI
from adc.airflow.lineage import lineage_task
from adc.airflow.operators import AbsenceApproval
from adc.register import FINDINGS_ASSET_URI

APPROVAL_TASK = "approve_absence"


@dag(
    dag_id="adc_reconcile",
    schedule=[Asset(HARVEST_ASSET_URI)],
    start_date=datetime(2024, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,  # and the register lock: a second reconciliation waits for the first
    default_args=DEFAULT_ARGS,
    tags=["adc", "register", "reconcile"],
    doc_md=__doc__,
)
def adc_reconcile():
    @lineage_task(outlets=[Asset(FINDINGS_ASSET_URI)])
    def reconcile() -> dict:
        # imported when the task runs: keeps DAG parsing fast
        from adc.airflow.reconcile import reconcile as run

        return run()

    @task
    def absence_question(result: dict) -> str:
        # imported when the task runs: keeps DAG parsing fast
        from adc.airflow.reconcile import absence_question as question

        return question(result)

    result = reconcile()
    AbsenceApproval(
        task_id=APPROVAL_TASK,
        subject="Mark assets missing after a mass absence?",
        body=absence_question(result),
        result=result,  # whom it asks: the teams of the withheld sources' organisations
        defaults=AbsenceApproval.REJECT,  # silence keeps the assets as they were
        response_timeout=timedelta(days=1),
    )


adc_reconcile()
