"""
### adc_lineage: the estate as OpenLineage, one daily data interval at a time

Each run sends a static OpenLineage DatasetEvent for every dataset version the register held during
its data interval (a dataset dropped in it as DROP), with ownership and classification as they were
then, marked `reconstructed` in the `adc_asset` facet. Events are deterministic: re-running an
interval sends identical events, which the consumer deduplicates.

Re-emit the past with `airflow backfill create --dag-id adc_lineage --from-date 2024-05-01
--to-date 2024-05-07` (or `adc lineage backfill --from ... --to ...` from a shell). Events go where
Airflow's [openlineage] section, or else the openlineage-python client's own configuration, sends
them. The harvest sends the changes it finds as it finds them; this DAG is the replay. See
docs/lineage.md.
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import CronDataIntervalTimetable, dag

from adc.airflow import DEFAULT_ARGS
from adc.airflow.lineage import lineage_task, report_lineage


@dag(
    dag_id="adc_lineage",
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=datetime(2024, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,  # intervals in order: a file consumer sees them oldest first, never interleaved
    default_args=DEFAULT_ARGS,
    tags=["adc", "lineage", "openlineage"],
    doc_md=__doc__,
)
def adc_lineage():
    @lineage_task
    def emit_estate(data_interval_start=None, data_interval_end=None) -> dict:
        """Send the estate as it was in this run's data interval."""
        # imported when the task runs: keeps DAG parsing fast
        from adc.lineage import tasks
        from adc.lineage.backfill import emit_interval
        from adc.register.db import register_engine

        report_lineage(*tasks.lineage_replay())
        return emit_interval(register_engine(), data_interval_start, data_interval_end).to_dict()

    emit_estate()


adc_lineage()
