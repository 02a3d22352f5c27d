"""OpenLineage events: a static DatasetEvent per dataset version, RunEvents for ADC's own runs.

Deterministic by construction: an event's time is the time the state it describes began (the
version's first sighting, or the later change of its asset), its ids come from
generate_static_uuid over stable inputs, and its facets are sorted. Emitting the same thing twice
gives the same bytes, which a consumer deduplicates.

Run events are only built for runs Airflow's OpenLineage provider does not report: a harvest run
from the shell (``adc harvest``). Runs inside Airflow are reported by the provider, with the
inputs and outputs ADC's tasks declare (adc.airflow.lineage.lineage_task).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from openlineage.client.event_v2 import (
    DatasetEvent,
    InputDataset,
    Job,
    OutputDataset,
    Run,
    RunEvent,
    RunState,
    StaticDataset,
)
from openlineage.client.facet_v2 import JobFacet, RunFacet, error_message_run, job_type_job, tags_run
from openlineage.client.uuid import generate_static_uuid
from sqlalchemy import Connection, select

from adc.errors import AdcError
from adc.lineage.estate import (
    Assets,
    AssetState,
    Version,
    datasets_seen,
    during,
    linked_from,
    register_tables,
    versions_during,
    versions_of_run,
)
from adc.lineage.facets import PRODUCER, dataset_facets
from adc.naming import DatasetId
from adc.register.tables import harvest_run

HARVEST_JOB = "adc_harvest"  # the harvest DAG's id: shell runs and Airflow runs are the same job


def iso(moment: datetime) -> str:
    """RFC 3339 with an explicit UTC offset."""
    return moment.astimezone(UTC).isoformat()


def static_id(moment: datetime, *parts: str) -> str:
    return str(generate_static_uuid(moment, "\n".join(parts).encode()))


def dataset_event(version: Version, assets: Assets, *, at: datetime | None = None, reconstructed: bool = False,
                  links: Mapping[DatasetId, list[DatasetId]] | None = None) -> DatasetEvent:
    """The event describing one version, with its asset as it was at ``at`` (None: now).

    ``links`` (estate.linked_from) says which datasets name this one as a symlink: their asset is
    its asset when nothing covers it directly.
    """
    state = assets.covering(version.id, version.symlinks, at, (links or {}).get(version.id, ()))
    return described(version, state, reconstructed=reconstructed)


def described(version: Version, state: AssetState | None, *, reconstructed: bool) -> DatasetEvent:
    """The event of one version under one state of its asset.

    The lifecycle change (CREATE, ALTER, DROP) is reported by the event of the version's own
    moment; an event moved later by a change of the asset reports that change, not a new dataset.
    """
    event_time = max(version.first_seen_at, state.since) if state else version.first_seen_at
    change = version.change if version.gone or event_time == version.first_seen_at else None
    facets = dataset_facets(
        version.id,
        version.record,
        state.as_facet_input() if state else None,
        version=static_id(version.first_seen_at, version.id.namespace, version.id.name, version.content_hash),
        change=change,
        reconstructed=reconstructed,
    )
    return DatasetEvent(
        eventTime=iso(event_time),
        producer=PRODUCER,
        dataset=StaticDataset(namespace=version.id.namespace, name=version.id.name, facets=facets),
    )


class Recent:
    """The events of the previous interval of a backfill: a dataset whose version and asset state
    are unchanged the next day has the same event, so it is reused rather than built again."""

    def __init__(self) -> None:
        self.previous: dict[tuple, DatasetEvent] = {}
        self.current: dict[tuple, DatasetEvent] = {}

    def event(self, version: Version, state: AssetState | None) -> DatasetEvent:
        key = (version.id, version.content_hash, version.first_seen_at,
               state.asset_id if state else None, state.since if state else None)
        event = self.previous.get(key) or described(version, state, reconstructed=True)
        self.current[key] = event
        return event

    def next_interval(self) -> None:
        self.previous, self.current = self.current, {}


def harvest_events(conn: Connection, run_id: str, assets: Assets, *, namespace: str) -> Iterator[Any]:
    """After a harvest: its run events when it ran outside Airflow, then its new, changed and gone datasets."""
    run = conn.execute(select(harvest_run).where(harvest_run.c.run_id == run_id)).mappings().first()
    if run is None:
        raise AdcError(f"no harvest run {run_id!r} in the register")
    if run["triggered_by"] == "cli":
        yield from run_events(
            namespace=namespace, job=HARVEST_JOB, run_key=run_id, started_at=run["started_at"],
            finished_at=run["finished_at"], failed=run["status"] != "complete",
            error=(run["summary"] or {}).get("error"), inputs=datasets_seen(conn, run_id),
            outputs=register_tables(conn, "observed_dataset"),
        )
    links = linked_from(conn)
    for version in versions_of_run(conn, run_id):
        yield dataset_event(version, assets, links=links)


def interval_events(conn: Connection, start: datetime, end: datetime, assets: Assets,
                    recent: Recent | None = None) -> Iterator[DatasetEvent]:
    """The estate as it was in [start, end): every version valid then, with its asset as it was at ``end``."""
    recent = recent or Recent()
    links = linked_from(conn, during(start, end))
    for version in versions_during(conn, start, end):
        yield recent.event(version, assets.covering(version.id, version.symlinks, end, links.get(version.id, ())))
    recent.next_interval()


def run_events(
    *,
    namespace: str,
    job: str,
    run_key: str,
    started_at: datetime,
    finished_at: datetime | None,
    failed: bool,
    inputs: list[DatasetId],
    outputs: list[DatasetId],
    error: str | None = None,
) -> list[RunEvent]:
    """START, then COMPLETE or FAIL (when finished), for a run ADC made outside Airflow."""
    run_id = static_id(started_at, namespace, job, run_key)
    job_facets: dict[str, JobFacet] = {
        "jobType": job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration="ADC", jobType="JOB", producer=PRODUCER
        )
    }

    def run_facets() -> dict[str, RunFacet]:
        # the client adds its version tag to this facet; given here, the facet keeps ADC as its producer
        return {"tags": tags_run.TagsRunFacet(tags=[], producer=PRODUCER)}

    events = [
        RunEvent(eventType=RunState.START, eventTime=iso(started_at), producer=PRODUCER,
                 run=Run(runId=run_id, facets=run_facets()), job=Job(namespace=namespace, name=job, facets=job_facets))
    ]
    if finished_at is None:
        return events
    facets = run_facets()
    if failed and error:
        facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=error, programmingLanguage="python", producer=PRODUCER
        )
    events.append(
        RunEvent(
            eventType=RunState.FAIL if failed else RunState.COMPLETE,
            eventTime=iso(finished_at),
            producer=PRODUCER,
            run=Run(runId=run_id, facets=facets),
            job=Job(namespace=namespace, name=job, facets=job_facets),
            inputs=[InputDataset(namespace=d.namespace, name=d.name) for d in inputs],
            outputs=[OutputDataset(namespace=d.namespace, name=d.name) for d in outputs],
        )
    )
    return events
