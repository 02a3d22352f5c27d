"""Sending ADC's events through the openlineage-python client, configured the standard way.

Where events go is decided exactly as for Airflow's own OpenLineage events, in the CLI as in the
DAGs: Airflow's [openlineage] section (config_conn_id, config_path, transport) when it sets one,
otherwise the client's standard sources: the file named by OPENLINEAGE_CONFIG, ./openlineage.yml,
~/.openlineage/openlineage.yml, OPENLINEAGE__TRANSPORT__* variables, OPENLINEAGE_URL.
OPENLINEAGE_DISABLED=true turns ADC's events off ([openlineage] disabled only stops Airflow's).

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
from typing import Any

from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import DatasetEvent, RunEvent, RunState
from sqlalchemy import Engine

from adc import connections
from adc.errors import AdcError
from adc.lineage.estate import Assets, current_versions, linked_from
from adc.lineage.events import dataset_event, harvest_events
from adc.register.store import latest_complete_run


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
    # the client notes its transport at INFO; once Airflow is imported that lands on stdout, where the
    # CLI prints its results
    note = logging.getLogger("openlineage.client.client")
    level = note.level
    note.setLevel(max(level, logging.WARNING))
    try:
        return OpenLineageClient(config=config) if config else OpenLineageClient()
    finally:
        note.setLevel(level)


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


@dataclass
class Sent:
    """What one emission sent: counts by kind of event and dataset change."""

    transport: str | None  # the client's transport kind (the client's types allow none)
    events: int = 0
    kinds: Counter[str] = field(default_factory=Counter)

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

    def to_dict(self) -> dict[str, Any]:
        return {"transport": self.transport, "events": self.events, "by_kind": dict(sorted(self.kinds.items()))}


@contextmanager
def lineage_client(client: OpenLineageClient | None = None) -> Iterator[OpenLineageClient]:
    """The given client, or a new one closed at the end (an asynchronous transport confirms then)."""
    if client is not None:
        yield client
        return
    client = make_client()
    try:
        yield client
    except BaseException:
        client.close(timeout=0)
        raise
    if not client.close(timeout=60):
        raise LineageTransportError(f"the OpenLineage {client.transport.kind} transport did not confirm every event")


def send(events: Iterable[DatasetEvent | RunEvent], client: OpenLineageClient) -> Sent:
    """Emit every event in order; stop at the first one the transport refuses."""
    sent = Sent(transport=client.transport.kind)
    for event in events:
        try:
            client.emit(event)
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
    with lineage_client(client) as client, engine.connect() as conn:
        return send(harvest_events(conn, run_id, Assets.load(conn), namespace=job_namespace()), client)


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
    with lineage_client(client) as client, engine.connect() as conn:
        assets, links = Assets.load(conn), linked_from(conn)
        return send((dataset_event(v, assets, links=links) for v in current_versions(conn)), client)
