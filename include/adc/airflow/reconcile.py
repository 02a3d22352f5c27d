"""The reconciliation DAG's plain tasks: reconcile, and the mass-absence question."""

from __future__ import annotations

import logging

from airflow.sdk.exceptions import AirflowSkipException

from adc.airflow.lineage import report_lineage
from adc.airflow.operators import _register, absence_deciders, refuse_without_team
from adc.lineage import tasks
from adc.register import reconcile as reconciliation
from adc.register.reconcile.state import ResultDict

log = logging.getLogger(__name__)


def reconcile() -> ResultDict:
    """Reconcile the latest snapshot with the register; the run's summary."""
    report_lineage(*tasks.reconcile())  # the register tables it reads and writes, for OpenLineage
    result = reconciliation.reconcile(_register(), policy=reconciliation.Policy.from_sources())
    log.info("%s: %s; changes %s; live findings %s", result.run_id, result.status, result.changes, result.findings)
    return result.to_dict()


def absence_question(result: ResultDict) -> str:
    """The body of the mass-absence question; skips when nothing was withheld or nobody may answer."""
    if not any(info["decision"] == "pending" for info in result["absence"].values()):
        raise AirflowSkipException("no withheld mass absence: nothing to approve")
    refuse_without_team(absence_deciders(result), "a mass absence")
    return reconciliation.absence_question(result)
