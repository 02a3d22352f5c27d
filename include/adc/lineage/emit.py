"""Sending ADC's events through the openlineage-python client, configured the standard way.

Where events go is decided exactly as for Airflow's own OpenLineage events, in the CLI as in the
DAGs: Airflow's [openlineage] section (config_conn_id, config_path, transport) when it sets one,
otherwise the client's standard sources: the file named by OPENLINEAGE_CONFIG, ./openlineage.yml,
~/.openlineage/openlineage.yml, OPENLINEAGE__TRANSPORT__* variables, OPENLINEAGE_URL.
OPENLINEAGE_DISABLED=true turns ADC's events off ([openlineage] disabled only stops Airflow's).

Where organisations.yaml declares organisations, each dataset's event goes where its organisation
says (``Routes``): the openlineage.yml of its organisation, or of the nearest one above it that has
one, else the standard configuration; but never past a sealed organisation: a sealed unit's events
go only to a transport of its own, or nowhere, and no other event names its datasets.

A transport that refuses an event stops the emission with a LineageTransportError naming the
transport and the event. Nothing records what was sent: a retry sends everything again, and since
the events are deterministic the consumer deduplicates what it already had.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import attr
import yaml
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import DatasetEvent, RunEvent, RunState
from sqlalchemy import Connection, Engine, select

from adc import connections
from adc.errors import AdcError
from adc.lineage.estate import Assets, current_versions, linked_from
from adc.lineage.events import dataset_event, harvest_events
from adc.naming import DatasetId
from adc.organisations import Organisations, load_organisations
from adc.register.store import latest_complete_run
from adc.register.tables import observed_dataset

_C = TypeVar("_C", bound="_Closing")


class LineageTransportError(AdcError):
    """The OpenLineage transport did not accept an event."""


class LineageNotConfigured(AdcError):
    """No OpenLineage transport is configured anywhere."""


def make_client() -> OpenLineageClient:
    config = connections.openlineage_config()
    if not (config or configured_outside_airflow()):
        raise LineageNotConfigured(
            "no OpenLineage transport is configured: set OPENLINEAGE_URL, OPENLINEAGE__TRANSPORT__TYPE (and its "
            "settings), OPENLINEAGE_CONFIG or ./openlineage.yml, or Airflow's [openlineage] transport "
            "(see docs/lineage.md)"
        )
    return _quiet_client(config)


def configured_outside_airflow() -> bool:
    """Whether the client's own sources configure it (its last resort, the console, does not count)."""
    if os.environ.get("OPENLINEAGE_URL") or os.environ.get("OPENLINEAGE_DISABLED", "").lower() == "true":
        return True
    if any(key.startswith("OPENLINEAGE__TRANSPORT") for key in os.environ):
        return True
    files = (os.environ.get("OPENLINEAGE_CONFIG"), "openlineage.yml", "~/.openlineage/openlineage.yml")
    return any(path and Path(path).expanduser().is_file() for path in files)


def job_namespace() -> str:
    """The namespace of ADC's jobs: Airflow's [openlineage] namespace, else OPENLINEAGE_NAMESPACE."""
    return connections.openlineage_namespace() or os.environ.get("OPENLINEAGE_NAMESPACE") or "default"


def _quiet_client(config: dict[str, Any] | None) -> OpenLineageClient:
    # the client notes its transport at INFO; once Airflow is imported that lands on stdout, where the
    # CLI prints its results
    note = logging.getLogger("openlineage.client.client")
    level = note.level
    note.setLevel(max(level, logging.WARNING))
    try:
        return OpenLineageClient(config=config) if config else OpenLineageClient()
    finally:
        note.setLevel(level)


class Routes:
    """Where each event of one emission goes, by the organisation of the datasets it names."""

    def __init__(self, default: OpenLineageClient, organisations: Organisations,
                 organisation_of: dict[DatasetId, str]) -> None:
        self.default = default
        self.organisations = organisations
        self.organisation_of = organisation_of
        self.own = {org.id: _quiet_client(yaml.safe_load(org.openlineage.read_text(encoding="utf-8")))
                    for org in (organisations.file.organisations if organisations.file else []) if org.openlineage}

    @classmethod
    def load(cls, conn: Connection, default: OpenLineageClient) -> Routes:
        organisations = load_organisations()
        if not organisations.declared:
            return cls(default, organisations, {})
        rows = conn.execute(select(observed_dataset.c.namespace, observed_dataset.c.name,
                                   observed_dataset.c.organisation).distinct()
                            .where(observed_dataset.c.organisation.is_not(None)))
        return cls(default, organisations, {DatasetId(ns, name): org for ns, name, org in rows})

    def client_for(self, organisation: str | None) -> OpenLineageClient | None:
        """The organisation's transport, else its nearest ancestor's, else the default; None inside a
        seal without a transport of its own."""
        if not self.organisations.declared:
            return self.default
        org = organisation or self.organisations.root
        for at in self.organisations.ancestors(org) if org in self.organisations.by_id else []:
            if at in self.own:
                return self.own[at]
            if self.organisations.by_id[at].sealed:
                return None
        return self.default

    def route(self, event: DatasetEvent | RunEvent) -> tuple[OpenLineageClient | None, DatasetEvent | RunEvent]:
        """The event's destination, and the event as it goes there (a run event without sealed datasets)."""
        if isinstance(event, DatasetEvent):
            return self.client_for(self.organisation_of.get(DatasetId(event.dataset.namespace, event.dataset.name))), \
                event

        def shown(datasets: list | None) -> list:
            return [d for d in datasets or [] if not self.organisations.sealed(
                self.organisation_of.get(DatasetId(d.namespace, d.name)))]

        return self.default, attr.evolve(event, inputs=shown(event.inputs), outputs=shown(event.outputs))

    def close(self, timeout: float) -> bool:
        return all([client.close(timeout=timeout) for client in self.own.values()])


@dataclass
class Sent:
    """What one emission sent: counts by kind of event and dataset change, and what no transport took."""

    transport: str | None  # the client's transport kind (the client's types allow none)
    events: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    withheld: int = 0  # a sealed organisation's events without a transport of its own

    def add(self, event: Any) -> None:
        self.events += 1
        if isinstance(event, RunEvent):
            self.kinds[f"run {(event.eventType or RunState.OTHER).value}"] += 1
            return
        change = (event.dataset.facets or {}).get("lifecycleStateChange")
        self.kinds[f"dataset {change.lifecycleStateChange.value if change else 'state'}"] += 1

    def merge(self, other: Sent) -> None:
        self.events += other.events
        self.kinds.update(other.kinds)
        self.withheld += other.withheld

    def to_dict(self) -> dict[str, Any]:
        summary = {"transport": self.transport, "events": self.events, "by_kind": dict(sorted(self.kinds.items()))}
        return {**summary, "withheld": self.withheld} if self.withheld else summary


class _Closing(Protocol):
    def close(self, timeout: float) -> bool: ...


@contextmanager
def _confirmed(closing: _C, transport: str) -> Iterator[_C]:
    """``closing`` closed at the end: an asynchronous transport confirms then, and must confirm everything."""
    try:
        yield closing
    except BaseException:
        closing.close(timeout=0)
        raise
    if not closing.close(timeout=60):
        raise LineageTransportError(f"{transport} did not confirm every event")


@contextmanager
def lineage_client(client: OpenLineageClient | None = None) -> Iterator[OpenLineageClient]:
    """The given client, or a new one closed at the end."""
    if client is not None:
        yield client
        return
    client = make_client()
    with _confirmed(client, f"the OpenLineage {client.transport.kind} transport"):
        yield client


@contextmanager
def routes(conn: Connection, client: OpenLineageClient) -> Iterator[Routes]:
    """The emission's routes; the organisations' own transports are closed at the end."""
    with _confirmed(Routes.load(conn, client), "an organisation's OpenLineage transport") as routed:
        yield routed


def send(events: Iterable[DatasetEvent | RunEvent], client: OpenLineageClient, routes: Routes) -> Sent:
    """Emit every event in order, each where ``routes`` sends it; stop at the first one a transport refuses."""
    sent = Sent(transport=client.transport.kind)
    for original in events:
        target, event = routes.route(original)
        if target is None:
            sent.withheld += 1
            continue
        try:
            target.emit(event)
        except Exception as exc:  # every transport raises its own kinds
            what = event.dataset if isinstance(event, DatasetEvent) else event.job
            raise LineageTransportError(
                f"the OpenLineage {sent.transport} transport refused event {sent.events + 1} "
                f"({type(event).__name__} {what.namespace} {what.name}): {type(exc).__name__}: {str(exc)[:300]}. "
                f"{sent.events} event(s) went before it; nothing is recorded as sent, so run it again: "
                "the events are identical and the consumer deduplicates them"
            ) from exc
        sent.add(event)
    return sent


def emit_harvest(engine: Engine, run_id: str | None = None, client: OpenLineageClient | None = None) -> Sent:
    """After a harvest: events for its new, changed and gone datasets (and its run, outside Airflow)."""
    run_id = run_id or latest_complete_run(engine)
    if run_id is None:
        raise AdcError("no complete harvest run in the register: run a harvest first")
    with lineage_client(client) as client, engine.connect() as conn, routes(conn, client) as routed:
        return send(harvest_events(conn, run_id, Assets.load(conn), namespace=job_namespace()), client, routed)


def emit_after_harvest(engine: Engine, run_id: str) -> dict[str, Any]:
    """What a harvest (the DAG's lineage task, `adc harvest`) sends once its run is merged; a summary,
    or {"skipped": why} when OpenLineage is not configured. A transport failure raises."""
    try:
        return emit_harvest(engine, run_id).to_dict()
    except LineageNotConfigured as exc:
        return {"skipped": str(exc)}
    except LineageTransportError as exc:
        raise LineageTransportError(f"harvest run {run_id} is complete, but its lineage was not sent "
                                    f"(`adc lineage emit --run {run_id}` sends it): {exc}") from exc


def emit_current(engine: Engine, client: OpenLineageClient | None = None) -> Sent:
    """Every dataset's current version (gone ones as DROP), with its asset as it is now."""
    with lineage_client(client) as client, engine.connect() as conn, routes(conn, client) as routed:
        assets, links = Assets.load(conn), linked_from(conn)
        return send((dataset_event(v, assets, links=links) for v in current_versions(conn)), client, routed)
