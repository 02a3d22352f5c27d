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
them missing, *Reject* (or no answer within a day) keeps them as they were and records who
decided. See docs/register.md.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import Asset, TriggerRule, dag, task
from airflow.sdk.exceptions import AirflowSkipException

from adc.airflow_bridge import DEFAULT_ARGS, HARVEST_ASSET_URI, AsksOnce, lineage_task
from adc.config import Settings
from adc.register import FINDINGS_ASSET_URI

APPROVAL_TASK = "approve_absence"


class AbsenceApproval(AsksOnce, ApprovalOperator):
    """The mass-absence question, asked once per task instance (AsksOnce).

    ``body`` is the only template field and it is an XComArg: Airflow resolves it to the question
    ADC built in a task (asset names and locations from the register) without rendering anything
    inside it. Without it as a template field the XComArg itself would reach Airflow, which refuses it.
    """

    template_fields = ("body",)


def _decide(result: dict, approved: bool, by: str) -> dict:
    from adc.register import reconcile
    from adc.register.db import register_engine

    decision = reconcile.AbsenceDecision(result["harvest_run_id"], approved, by)
    return reconcile.reconcile(register_engine(), policy=reconcile.Policy.from_sources(), decision=decision).to_dict()


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
        from adc.airflow_bridge import report_lineage
        from adc.lineage import tasks
        from adc.register import reconcile as reconciliation
        from adc.register.db import register_engine

        report_lineage(*tasks.reconcile())  # the register tables it reads and writes, for OpenLineage

        result = reconciliation.reconcile(register_engine(), policy=reconciliation.Policy.from_sources())
        print(f"{result.run_id}: {result.status}; changes {result.changes}; live findings {result.findings}")
        return result.to_dict()

    @task
    def absence_question(result: dict) -> str:
        from adc.register.reconcile import absence_question as question

        if not any(info["decision"] == "pending" for info in result["absence"].values()):
            raise AirflowSkipException("no withheld mass absence: nothing to approve")
        return question(result)

    @task
    def apply_absence(result: dict, approval: dict) -> dict:
        """Approve was chosen (Reject skips this task): mark the withheld assets missing."""
        return _decide(result, True, approval["responded_by_user"]["id"])

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def record_refusal(result: dict, **context) -> dict | None:
        """After a Reject (or no answer), record who kept the assets as they were."""
        approval = context["ti"].xcom_pull(task_ids=APPROVAL_TASK)
        if not approval or approval.get("chosen_options") != [AbsenceApproval.REJECT]:
            return None
        who = (approval.get("responded_by_user") or {}).get("id") or "nobody (no answer in time)"
        return _decide(result, False, who)

    result = reconcile()
    team = Settings.from_env().data_protection_team
    approval = AbsenceApproval(
        task_id=APPROVAL_TASK,
        subject="Mark assets missing after a mass absence?",
        body=absence_question(result),
        assigned_users=[{"id": user, "name": user} for user in team],
        defaults=AbsenceApproval.REJECT,  # silence keeps the assets as they were
        response_timeout=timedelta(days=1),
    )
    apply_absence(result, approval.output) >> record_refusal(result)


adc_reconcile()
