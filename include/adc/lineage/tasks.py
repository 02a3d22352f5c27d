"""What ADC's Airflow tasks read and write, as OpenLineage datasets, for the provider's run events.

Each function returns (inputs, outputs) for a ``@lineage_task`` to pass to ``report_lineage``:
the AWS datasets a harvest unit read, and the register's tables each step reads and writes (named
from the register's URL, adc.naming.database_table), so a consumer draws the whole chain: AWS
datasets -> harvest_unit -> observation -> finish -> observed_dataset -> reconcile -> finding, asset.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine

from adc.lineage.estate import datasets_seen, register_tables
from adc.naming import DatasetId
from adc.register.db import register_engine

Lineage = tuple[list[DatasetId], list[DatasetId]]


def _engine(engine: Engine | None) -> Engine:
    return engine or register_engine()


def harvest_unit(run_id: str, unit: Mapping[str, Any], engine: Engine | None = None) -> Lineage:
    """A harvest unit: the datasets it staged (what it read from AWS) -> the register's staging. (The
    harvest DAG never plans a sealed organisation's source, so none of its datasets is named here.)"""
    engine = _engine(engine)
    # the staging key of each scope of the unit (ScopeOutcome.unit)
    keys = [f"{unit['source']}|{unit['service']}|{unit['region']}|{scope}" for scope in unit["scopes"]]
    with engine.connect() as conn:
        return datasets_seen(conn, run_id, keys), register_tables(conn, "harvest_scope", "observation")


def harvest_finish(engine: Engine | None = None) -> Lineage:
    """Merging a harvest run: staging -> the versioned estate."""
    engine = _engine(engine)
    return (register_tables(engine, "harvest_scope", "observation"),
            register_tables(engine, "harvest_run", "observed_dataset"))


def reconcile(engine: Engine | None = None) -> Lineage:
    """Reconciliation: the estate and the register -> findings, asset states and their history."""
    engine = _engine(engine)
    return (register_tables(engine, "asset", "asset_location", "finding", "harvest_run", "harvest_scope",
                            "observed_dataset"),
            register_tables(engine, "asset", "finding", "history", "reconciliation_run"))


def lineage_replay(engine: Engine | None = None) -> Lineage:
    """adc_lineage: what building the estate's events reads (the events go to the consumer)."""
    return register_tables(_engine(engine), "asset", "asset_location", "history", "observed_dataset"), []
