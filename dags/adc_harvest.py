"""
### adc_harvest: what exists in the AWS estate, into the register

**plan** lists the scopes of every source due (buckets, Glue databases, DynamoDB tables, RDS
instances, Redshift clusters, per region) and records the registered ones a complete listing
proves absent. **harvest_unit** runs once per unit (one bucket or database, or a small batch of
tables or instances), mapped, so a large estate spreads over workers; each stages what it saw and
how far it got (complete, partial or failed, and why). **finish** merges the run into the register
and updates the Asset `adc://register/harvest`, which schedules reconciliation; if a unit never
finished, the run is failed and changes nothing. **lineage** then sends the run's new, changed and
gone datasets as OpenLineage events (a transport failure fails only this task; its retry resends).

Schedule: each source's `schedule` in `include/config/sources.yaml` (UTC). The DAG runs whenever
one fires and harvests the sources due then. A manual run harvests every source, or those named
in the `sources` parameter. A wrong sources.yaml shows as this file's import error, on one line
naming the file and the field. See docs/harvest.md and docs/configuration.md.
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import Asset, Param, dag, task
from airflow.sdk.exceptions import AirflowFailException

from adc.airflow import DEFAULT_ARGS, HARVEST_ASSET_URI
from adc.airflow.lineage import lineage_task, report_lineage
from adc.airflow.schedule import harvest_schedule


@dag(
    dag_id="adc_harvest",
    schedule=harvest_schedule(),
    start_date=datetime(2024, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["adc", "harvest"],
    doc_md=__doc__,
    params={
        "sources": Param([], type="array", items={"type": "string"},
                         description="Sources to harvest on a manual run (names in sources.yaml); empty: all."),
    },
)
def adc_harvest():
    @task
    def plan(**context) -> list:
        """The units to map over (the return value); the listing errors go to finish as XCom "errors"."""
        # imported when the task runs: keeps DAG parsing fast
        from adc.harvest.runner import plan_run

        run = context["dag_run"]
        scheduled = run.run_type in ("scheduled", "backfill")  # the sources due at its logical date
        interval = (context["data_interval_start"], context["data_interval_end"])
        planned = plan_run(context["run_id"], requested=context["params"].get("sources") or None,
                           scheduled_at=run.logical_date if scheduled else None,
                           data_interval=interval if all(interval) else None)
        context["ti"].xcom_push(key="errors", value=planned["errors"])
        return planned["units"]

    @lineage_task(map_index_template="{{ task.op_kwargs['unit']['label'] }}")
    def harvest_unit(unit: dict, **context) -> list:
        # imported when the task runs: keeps DAG parsing fast
        from adc.harvest.runner import run_planned_unit
        from adc.lineage import tasks

        outcomes = run_planned_unit(unit, context["run_id"])
        report_lineage(*tasks.harvest_unit(context["run_id"], unit))  # the datasets it read, for OpenLineage
        return outcomes

    @lineage_task(trigger_rule="all_done", outlets=[Asset(HARVEST_ASSET_URI)])
    def finish(units: list, errors: list, **context) -> dict:
        # imported when the task runs: keeps DAG parsing fast
        from adc.harvest.runner import HarvestIncomplete, finish_planned_run
        from adc.lineage import tasks

        report_lineage(*tasks.harvest_finish())

        try:
            return finish_planned_run(context["run_id"], units, errors)
        except HarvestIncomplete as exc:
            raise AirflowFailException(str(exc)) from None  # retrying cannot bring a failed unit back

    @task
    def lineage(**context) -> dict:
        """Send the run's new, changed and gone datasets as OpenLineage events (docs/lineage.md)."""
        # imported when the task runs: keeps DAG parsing fast
        from adc.lineage.emit import emit_after_harvest
        from adc.register.db import register_engine

        return emit_after_harvest(register_engine(), context["run_id"])

    units = plan()
    harvest_unit.expand(unit=units) >> finish(units, units["errors"]) >> lineage()


adc_harvest()
