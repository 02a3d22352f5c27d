"""Harvest runs into the register: start a run, stage what each unit saw, merge the run.

A run is atomic. Units stage their observations (a retried unit replaces its own rows); only
``finish_run`` changes the estate as the register knows it, in one transaction: new and changed
datasets get a new version, unchanged ones are marked seen, and datasets inside a *complete* scope
that the run did not see get a "gone" version. A failed or killed run leaves the estate untouched.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    true,
    update,
)

from adc.model import ObservedDataset, ScopeOutcome
from adc.register import markings
from adc.register.db import exclusive
from adc.register.sqlfn import iso_timestamp, json_length
from adc.register.tables import dataset_metrics, harvest_run, harvest_scope, observation, observed_dataset

BATCH = 1000
# Statistics change on every harvest; they are updated in place and do not make a new version.
_VOLATILE = ("object_count", "size_bytes", "first_modified", "last_modified", "problems")
# The visibility condition of ADC's own reads, the default of the register's and the RoPA's listings:
# every row. A person's view comes from adc.visibility, a layer above, and is passed in.
EVERYTHING: ColumnElement[bool] = true()


def now() -> datetime:
    return datetime.now(UTC)


def content_hash(record: dict[str, Any]) -> str:
    """Hash of what describes a dataset (schema, format, tags, classification...), not its statistics."""
    stable = {k: v for k, v in record.items() if k not in _VOLATILE}
    return hashlib.sha256(json.dumps(stable, sort_keys=True, default=str).encode()).hexdigest()


def metrics_of(dataset: ObservedDataset) -> dict[str, Any]:
    """What this harvest measured of ``dataset`` for its metrics time series (dataset_metrics,
    docs/quality.md): counts and times from the metadata the harvest read, never a value."""
    measured = dataset.metrics
    newest = measured.get("newest") or dataset.last_modified
    if newest is not None and newest.tzinfo is None:  # AWS gives UTC
        newest = newest.replace(tzinfo=UTC)
    rows, nulls = measured.get("row_count"), measured.get("null_counts")
    columns = None
    if rows is not None and nulls is not None:
        columns = {str(name).replace("\x00", "\ufffd"): {"null_count": int(count), "rows": int(rows)}
                   for name, count in nulls.items()}
    return {
        "object_count": dataset.object_count,
        "size_bytes": dataset.size_bytes,
        "row_count": rows,
        "sampled_files": measured.get("sampled_files"),
        "column_count": len(dataset.fields) or None,
        "newest": newest.astimezone(UTC).isoformat() if newest is not None else None,
        "columns": columns,
    }


NUL_SHOWN = "a NUL character, which the register cannot keep, is shown as U+FFFD"


def storable(record: dict[str, Any]) -> dict[str, Any]:
    """The record with every NUL character as U+FFFD, and a problem saying so: a file may name a
    column with one, PostgreSQL keeps it in no text or JSON value, and one such name must not fail
    the whole harvest. (A key with a NUL never becomes a dataset: see harvest.s3.storable.)"""
    if "\\u0000" not in json.dumps(record, default=str):
        return record

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace("\x00", "\ufffd")
        if isinstance(value, dict):
            return {clean(k): clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        return value

    cleaned = clean(record)
    cleaned["problems"] = [*cleaned.get("problems", []), NUL_SHOWN]
    return cleaned


def start_run(
    engine: Engine,
    run_id: str,
    sources: list[str],
    *,
    triggered_by: str = "cli",
    data_interval: tuple[datetime, datetime] | None = None,
) -> None:
    """Open a run (idempotent: starting an open run again is a no-op; a failed run reopens)."""
    with engine.begin() as conn:
        status = conn.execute(select(harvest_run.c.status).where(harvest_run.c.run_id == run_id)).scalar()
        if status == "complete":
            return
        if status is None:
            conn.execute(
                insert(harvest_run).values(
                    run_id=run_id,
                    status="running",
                    started_at=now(),
                    sources=sorted(sources),
                    triggered_by=triggered_by,
                    data_interval_start=data_interval[0] if data_interval else None,
                    data_interval_end=data_interval[1] if data_interval else None,
                )
            )
        else:
            conn.execute(update(harvest_run).where(harvest_run.c.run_id == run_id).values(status="running"))


def _batches(items: Iterable[Any], size: int = BATCH) -> Iterator[list[Any]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def record_unit(engine: Engine, run_id: str, outcome: ScopeOutcome, datasets: Iterable[ObservedDataset]) -> int:
    """Stage one unit's datasets and its coverage, replacing what an earlier try of the unit staged.

    ``datasets`` may be a generator: it is consumed in batches, so memory stays at one batch.
    Returns the number of datasets staged.
    """
    staged = 0
    with engine.begin() as conn:
        conn.execute(delete(observation).where(observation.c.run_id == run_id, observation.c.unit == outcome.unit))
        for batch in _batches(datasets):
            rows = []
            for dataset in batch:
                record = storable(dataset.to_dict())
                rows.append(
                    {
                        "run_id": run_id,
                        "namespace": dataset.id.namespace,
                        "name": dataset.id.name,
                        "unit": outcome.unit,
                        "content_hash": content_hash(record),
                        "record": record,
                        "metrics": metrics_of(dataset),
                    }
                )
            conn.execute(insert(observation), rows)
            staged += len(rows)
        outcome.datasets = staged
        _record_scope(conn, run_id, outcome)
    return staged


def _record_scope(conn, run_id: str, outcome: ScopeOutcome) -> None:
    key = and_(
        harvest_scope.c.run_id == run_id,
        harvest_scope.c.namespace == outcome.covers.namespace,
        harvest_scope.c.name == outcome.covers.name,
    )
    conn.execute(delete(harvest_scope).where(key))
    conn.execute(
        insert(harvest_scope).values(
            run_id=run_id,
            namespace=outcome.covers.namespace,
            name=outcome.covers.name,
            source=outcome.source,
            service=str(outcome.service),
            region=outcome.region,
            scope=outcome.scope,
            status=str(outcome.status),
            datasets=outcome.datasets,
            error_kind=outcome.error_kind,
            error=outcome.error,
            unreadable=outcome.unreadable or None,
            finished_at=now(),
        )
    )


def record_scope(engine: Engine, run_id: str, outcome: ScopeOutcome) -> None:
    """Record a scope that yields no datasets of its own (a failed listing, a confirmed absence)."""
    with engine.begin() as conn:
        _record_scope(conn, run_id, outcome)


# What the merge's steps share: a staged observation's dataset in the estate, its current version.
od, ob = observed_dataset, observation
_SAME_DATASET = and_(ob.c.namespace == od.c.namespace, ob.c.name == od.c.name)
_CURRENT = od.c.valid_to.is_(None)


def _staged(run_id: str):
    return ob.c.run_id == run_id


def _covered_by_complete_scope(run_id: str):
    """SQL: the current version lies inside a scope this run listed completely."""
    s = harvest_scope
    return exists().where(
        s.c.run_id == run_id,
        s.c.status == "complete",
        s.c.namespace == od.c.namespace,
        or_(
            s.c.name == "",
            s.c.name == od.c.name,
            # od.name starts with s.name + '/': a byte-order range, index-friendly on both databases
            and_(od.c.name > s.c.name + "/", od.c.name < s.c.name + "0"),
        ),
    )


def finish_run(engine: Engine, run_id: str, summary: dict[str, Any] | None = None) -> dict[str, int]:
    """Merge the run's staged observations into the estate, atomically. Idempotent."""
    with engine.begin() as conn:
        exclusive(conn, "estate")
        run = conn.execute(select(harvest_run).where(harvest_run.c.run_id == run_id)).mappings().first()
        if run is None:
            raise ValueError(f"no harvest run {run_id!r}")
        if run["status"] == "complete":
            return dict((run["summary"] or {}).get("merge", {}))
        at = now()
        changed = _close_changed(conn, run_id, at)
        unchanged = _refresh_unchanged(conn, run_id, at)
        inserted = _add_versions(conn, run_id, at, unchanged=unchanged)
        gone = _mark_gone(conn, run_id, at)
        _record_metrics(conn, run_id, at)
        # a changed dataset is closed (1) and added again (3)
        merge = {"added": inserted - changed, "changed": changed, "unchanged": unchanged, "gone": gone}
        _complete(conn, run_id, at, {**(summary or {}), "merge": merge})
    return merge


def _close_changed(conn: Connection, run_id: str, at: datetime) -> int:
    """1. Close the versions the run saw changed (or saw again after they had gone)."""
    seen_changed = exists().where(_staged(run_id), _SAME_DATASET,
                                  or_(ob.c.content_hash != od.c.content_hash, od.c.gone))
    return conn.execute(update(od).where(_CURRENT, seen_changed).values(valid_to=at)).rowcount


def _refresh_unchanged(conn: Connection, run_id: str, at: datetime) -> int:
    """2. Refresh the statistics of the versions the run saw unchanged."""

    def staged_value(column):
        return select(column).where(_staged(run_id), _SAME_DATASET).scalar_subquery()

    return conn.execute(
        update(od)
        .where(_CURRENT, exists().where(_staged(run_id), _SAME_DATASET))
        .values(
            last_seen_run=run_id,
            last_seen_at=at,
            record=staged_value(ob.c.record),
            object_count=staged_value(ob.c.record["object_count"].as_integer()),
            size_bytes=staged_value(ob.c.record["size_bytes"].as_integer()),
        )
    ).rowcount


def _add_versions(conn: Connection, run_id: str, at: datetime, *, unchanged: int) -> int:
    """3. New versions for new and changed datasets, each with the marking of the assets covering it
    (adc.register.markings); returns how many."""
    no_current = ~exists().where(_CURRENT, _SAME_DATASET)
    staged = ob.alias("staged")
    covering = markings.covering(select(staged.c.namespace, staged.c.name).where(
        staged.c.run_id == run_id, ~exists().where(_CURRENT, od.c.namespace == staged.c.namespace,
                                                   od.c.name == staged.c.name)))
    rec = ob.c.record
    conn.execute(
        insert(od).from_select(
            [
                "namespace", "name", "service", "source", "region", "scope", "kind", "format", "location",
                "classification", "personal_data", "special_categories", "criminal_offence_data",
                "schema_status", "tags", "retention_kind", "retention_active", "symlinks", "content_hash", "record",
                "object_count", "size_bytes", "first_seen_run", "first_seen_at", "last_seen_run",
                "last_seen_at", "gone", "organisation", "marking", "covering_marking",
            ],
            select(
                ob.c.namespace,
                ob.c.name,
                rec["service"].as_string(),
                rec["source"].as_string(),
                rec["region"].as_string(),
                rec["scope"].as_string(),
                rec["kind"].as_string(),
                rec["format"].as_string(),
                rec["location"].as_string(),
                rec["classification"].as_string(),
                rec["personal_data"].as_boolean(),
                rec["special_categories"].as_string(),
                func.coalesce(rec["criminal_offence_data"].as_boolean(), False),
                rec["schema_status"].as_string(),
                rec["tags"],
                rec[("properties", "retention_control", "kind")].as_string(),
                rec[("properties", "retention_control", "active")].as_boolean(),
                case((json_length(rec["symlinks"]) > 0, rec["symlinks"]), else_=null()),
                ob.c.content_hash,
                rec,
                rec["object_count"].as_integer(),
                rec["size_bytes"].as_integer(),
                literal(run_id),
                literal(at, od.c.first_seen_at.type),
                literal(run_id),
                literal(at, od.c.last_seen_at.type),
                literal(False),
                rec["organisation"].as_string(),
                rec["marking"].as_string(),
                covering.c.marking,
            )
            .select_from(ob.outerjoin(covering, and_(covering.c.namespace == ob.c.namespace,
                                                     covering.c.name == ob.c.name)))
            .where(_staged(run_id), no_current),
        )
    )
    # INSERT ... SELECT has no portable rowcount: what was inserted is what was not unchanged
    return conn.execute(select(func.count()).select_from(ob).where(_staged(run_id))).scalar_one() - unchanged


def _mark_gone(conn: Connection, run_id: str, at: datetime) -> int:
    """4. "Gone" versions for the datasets a complete scope no longer holds; returns how many."""
    missing = and_(
        _CURRENT,
        od.c.gone.is_(False),
        od.c.last_seen_run != run_id,
        _covered_by_complete_scope(run_id),
    )
    gone_ids = [row[0] for row in conn.execute(select(od.c.version_id).where(missing))]
    for batch in _batches(gone_ids):
        conn.execute(update(od).where(od.c.version_id.in_(batch)).values(valid_to=at))
        columns = [c for c in od.c if c.name not in ("version_id", "valid_to", "gone", "first_seen_run",
                                                      "first_seen_at", "content_hash")]
        conn.execute(
            insert(od).from_select(
                [c.name for c in columns] + ["first_seen_run", "first_seen_at", "content_hash", "gone"],
                select(*columns, literal(run_id), literal(at, od.c.first_seen_at.type), literal("gone"),
                       true()).where(od.c.version_id.in_(batch)),
            )
        )
    return len(gone_ids)


def _record_metrics(conn: Connection, run_id: str, at: datetime) -> None:
    """5. The metrics time series: one dataset_metrics row per staged dataset, from its staged metrics."""
    m = ob.c.metrics
    conn.execute(
        insert(dataset_metrics).from_select(
            ["namespace", "name", "run_id", "at", "object_count", "size_bytes", "row_count", "sampled_files",
             "column_count", "newest", "columns"],
            select(
                ob.c.namespace,
                ob.c.name,
                literal(run_id),
                literal(at, dataset_metrics.c.at.type),
                m["object_count"].as_integer(),
                m["size_bytes"].as_integer(),
                m["row_count"].as_integer(),
                m["sampled_files"].as_integer(),
                m["column_count"].as_integer(),
                iso_timestamp(m["newest"].as_string()),
                m["columns"],
            ).where(_staged(run_id), m.is_not(None)),
        )
    )


def _complete(conn: Connection, run_id: str, at: datetime, summary: dict[str, Any]) -> None:
    """6. Drop the run's staging and mark it complete, with its summary."""
    conn.execute(delete(ob).where(_staged(run_id)))
    conn.execute(
        update(harvest_run)
        .where(harvest_run.c.run_id == run_id)
        .values(status="complete", finished_at=at, summary=summary)
    )


def fail_run(engine: Engine, run_id: str, reason: str) -> None:
    """Mark a run failed and drop its staging: the estate is exactly as before the run."""
    with engine.begin() as conn:
        conn.execute(delete(observation).where(observation.c.run_id == run_id))
        conn.execute(
            update(harvest_run)
            .where(harvest_run.c.run_id == run_id, harvest_run.c.status != "complete")
            .values(status="failed", finished_at=now(), summary={"error": reason[:2000]})
        )


def latest_complete_run(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return conn.execute(
            select(harvest_run.c.run_id)
            .where(harvest_run.c.status == "complete")
            .order_by(harvest_run.c.finished_at.desc())
            .limit(1)
        ).scalar()


def current_datasets(engine: Engine, *, visible: ColumnElement[bool],
                     include_gone: bool = False) -> Iterator[dict[str, Any]]:
    """The estate as last harvested: the current version of every dataset ``visible`` keeps (records
    as dicts). ``visible`` comes from adc.visibility.datasets: a reader's view, or everything for ADC's own."""
    query = select(observed_dataset.c.record, observed_dataset.c.last_seen_run, observed_dataset.c.gone).where(
        observed_dataset.c.valid_to.is_(None), visible
    )
    if not include_gone:
        query = query.where(observed_dataset.c.gone.is_(False))
    query = query.order_by(observed_dataset.c.namespace, observed_dataset.c.name)
    with engine.connect() as conn:
        for row in conn.execute(query):
            yield {**row.record, "harvest_run": row.last_seen_run, "gone": row.gone}


def count_current(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(observed_dataset).where(
                observed_dataset.c.valid_to.is_(None), observed_dataset.c.gone.is_(False)
            )
        ).scalar_one()
