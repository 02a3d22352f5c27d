"""The register UI on the session's real Airflow (tests/e2e/conftest.py), after a real harvest.

``reconciled`` triggers adc_harvest and waits for the adc_reconcile run its Asset event starts, so the
register holds what `make demo` shows: the planted inconsistencies as findings.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from adc.register.tables import reconciliation_run


@pytest.fixture(scope="session")
def reconciled(airflow) -> str:
    """adc_harvest run through Airflow and reconciled by adc_reconcile; returns the harvest's run id."""
    run_id = airflow.trigger("adc_harvest")
    state = airflow.api("admin").wait_for_run("adc_harvest", run_id, timeout=600)
    assert state == "success", airflow.log_tail()

    def done():
        with airflow.engine.connect() as conn:
            return conn.execute(select(reconciliation_run.c.run_id).where(
                reconciliation_run.c.harvest_run_id == run_id, reconciliation_run.c.status == "complete")).scalar()

    airflow.wait(done, timeout=300, what=f"adc_reconcile to reconcile {run_id}", every=2)
    return run_id
