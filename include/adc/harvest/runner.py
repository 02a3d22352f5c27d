"""A harvest run: plan it, run its units, finish it.

1. ``plan``: for each source due, list its account's scopes per region and service through the
   service's harvester (buckets, Glue databases, DynamoDB tables, RDS instances, Redshift clusters;
   see ``adc.harvest.base``) and cut them into units: one bucket or database per unit, DynamoDB
   tables and database instances in small batches. The plan also records coverage before absence: a
   scope the register names (asset_location) that a complete listing did not contain is recorded as
   a complete, empty scope.
2. ``run_unit``: harvest each scope of a unit and stage what it saw with ``store.record_unit``
   (a retried unit replaces its own staging). A scope whose listing fails is recorded as failed,
   with why; the rest of the unit and the run go on.
3. ``finish``: check every planned scope was recorded, then merge the run (``store.finish_run``);
   otherwise fail it (``store.fail_run``): a failed run changes nothing.

The DAG runs the three steps as tasks (units mapped); ``harvest`` runs them in one process for
the CLI and the benchmark. Datasets are spooled to a temporary file while a scope is harvested and
written in one short transaction, so a long listing never holds the register's write lock.
"""

from __future__ import annotations

import logging
import pickle
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any, TypedDict

from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy import Engine, select

from adc.aws import RETRY_CONFIG, AwsClients, error_kind
from adc.config import Source, SourcesFile, load_sources
from adc.errors import AdcError
from adc.harvest.base import Harvester
from adc.harvest.context import ScopeContext, failure, log_failure
from adc.harvest.registry import HARVESTERS
from adc.harvest.schedule import due_sources
from adc.model import ObservedDataset, ScopeOutcome, ScopeStatus, parse_marking, strongest
from adc.naming import DatasetId
from adc.organisations import load_organisations
from adc.register import store
from adc.register.db import register_engine
from adc.register.tables import asset, asset_location, harvest_run, harvest_scope

log = logging.getLogger(__name__)

AWS_ERRORS = (ClientError, BotoCoreError)
ABSENT = "Absent"  # error_kind of a complete, empty scope recorded for a registered location


class HarvestIncomplete(AdcError):
    """Units of the run never recorded their scopes (their tasks failed): the run is failed."""


def cli_run_id() -> str:
    return datetime.now(UTC).strftime("cli__%Y-%m-%dT%H:%M:%S.%fZ")


# --------------------------------------------------------------------------- units and plans
# What travels between the DAG's tasks as XCom: plain values, typed.


class PlannedUnit(TypedDict):
    source: str
    region: str
    service: str
    account: str
    scopes: list[str]
    label: str  # the mapped task's name in the Airflow UI


class ListingError(TypedDict):
    """A listing (scope None) or a scope that failed, and why."""

    source: str
    service: str
    region: str
    scope: str | None
    error_kind: str | None
    error: str | None


class PlannedRun(TypedDict):
    units: list[PlannedUnit]
    errors: list[ListingError]


class UnitOutcome(TypedDict):
    scope: str
    status: str
    datasets: int
    error_kind: str | None
    unreadable: int


@dataclass
class Unit:
    """Scopes of one service, source and region, harvested by one task."""

    source: str
    region: str
    service: str
    account: str
    scopes: list[str]

    @property
    def label(self) -> str:
        shown = ", ".join(self.scopes[:2]) + (f" +{len(self.scopes) - 2} more" if len(self.scopes) > 2 else "")
        return f"{self.source} {self.region} {self.service}: {shown}"

    def to_dict(self) -> PlannedUnit:
        return PlannedUnit(source=self.source, region=self.region, service=self.service, account=self.account,
                           scopes=list(self.scopes), label=self.label)

    @classmethod
    def from_dict(cls, data: PlannedUnit) -> Unit:
        return cls(data["source"], data["region"], data["service"], data["account"], list(data["scopes"]))


@dataclass
class Plan:
    units: list[Unit] = field(default_factory=list)
    absent: list[ScopeOutcome] = field(default_factory=list)  # registered scopes proven absent
    errors: list[ListingError] = field(default_factory=list)  # listings that failed


@dataclass
class Listed:
    """A complete listing of one service by one source, in one region (every region when the service
    is not regional), and every scope it found."""

    source: Source
    harvester: Harvester
    region: str
    account: str
    found: set[str]


class Clients:
    """AWS clients per (source, region), made once and shared by the threads of one process."""

    def __init__(self) -> None:
        self._clients: dict[tuple[str, str], AwsClients] = {}
        self._lock = threading.Lock()

    def get(self, source: Source, region: str) -> AwsClients:
        with self._lock:
            key = (source.name, region)
            if key not in self._clients:
                self._clients[key] = AwsClients(source, region)
            return self._clients[key]


def _error(source: str, service: str, region: str, exc: BaseException) -> ListingError:
    """A failed account listing (no scope: nothing of it is covered)."""
    return ListingError(source=source, service=service, region=region, scope=None, error_kind=error_kind(exc),
                        error=failure(exc))


def make_plan(config: SourcesFile, sources: list[str], registered: set[DatasetId], clients: Clients) -> Plan:
    """List every scope of the sources and cut the harvest into units (see the module's docstring)."""
    plan = Plan()
    planned: dict[DatasetId, str] = {}  # each scope is harvested once, by the first source listing it
    listed: list[Listed] = []

    def add_units(source: Source, region: str, harvester: Harvester, account: str, names: list[str]) -> None:
        service = str(harvester.name)
        fresh = []
        for name in names:
            covered = harvester.covers(region, account, name)
            if covered in planned:
                plan.errors.append(ListingError(source=source.name, service=service, region=region, scope=name,
                                                error_kind="Duplicate",
                                                error=f"already harvested by {planned[covered]}"))
                continue
            planned[covered] = source.name
            fresh.append(name)
        size = harvester.scopes_per_unit
        plan.units.extend(Unit(source.name, region, service, account, fresh[i:i + size])
                          for i in range(0, len(fresh), size))

    for source in (config.source(name) for name in sources):
        first_region = source.all_regions[0]
        try:
            account = clients.get(source, first_region).account
        except AWS_ERRORS as exc:
            plan.errors.append(_error(source.name, "*", first_region, exc))
            continue
        for harvester in (HARVESTERS[service] for service in source.services):
            for region in source.all_regions if harvester.regional else [first_region]:
                try:
                    listing = harvester.list_scopes(clients.get(source, region), source, region)
                except AWS_ERRORS as exc:
                    plan.errors.append(_error(source.name, str(harvester.name), region, exc))
                    continue
                for scope_region, names in listing.wanted.items():
                    add_units(source, scope_region, harvester, account, names)
                listed.append(Listed(source, harvester, region, account, listing.found))
    absent = _absent(config, listed, registered)
    plan.absent = list({a.covers: a for a in absent if a.covers not in planned}.values())
    return plan


def _absent(config: SourcesFile, listed: list[Listed], registered: set[DatasetId]) -> list[ScopeOutcome]:
    """Registered scopes the run's complete listings prove absent.

    A scope named within an account and region (an ARN) is absent when a complete listing of that
    account and region, by a source that would harvest the scope, lacks it. A scope with a global name
    (a bucket) may be in any account: every configured source that would harvest it must have listed
    its account completely in this run, and none found it.
    """
    absent = []
    for done in listed:
        harvester = done.harvester
        if not harvester.regional:
            continue
        for where in filter(None, map(harvester.locate, registered)):
            if ((where.region, where.account) == (done.region, done.account) and where.scope not in done.found
                    and harvester.wants(done.source, where.scope)):
                why = f"not in the complete {harvester.name} listing of {done.source.name} ({done.region})"
                absent.append(_absent_scope(done, where.scope, why))
    for harvester in HARVESTERS.values():
        if harvester.regional:
            continue
        by_source = {done.source.name: done for done in listed if done.harvester is harvester}
        for scope in sorted({where.scope for where in filter(None, map(harvester.locate, registered))}):
            wanting = [s for s in config.sources if harvester.name in s.services and harvester.wants(s, scope)]
            if not wanting or any(s.name not in by_source for s in wanting):
                continue  # a source that would know was not in this run, or its listing failed
            if not any(scope in by_source[s.name].found for s in wanting):
                why = f"in no {harvester.name} listing of {', '.join(s.name for s in wanting)} (each listed completely)"
                absent.append(_absent_scope(by_source[wanting[0].name], scope, why))
    return absent


def _absent_scope(done: Listed, scope: str, why: str) -> ScopeOutcome:
    return ScopeOutcome(done.source.name, done.harvester.name, done.region, scope,
                        done.harvester.covers(done.region, done.account, scope), ScopeStatus.COMPLETE,
                        error_kind=ABSENT, error=f"registered, but {why}")


def registered_locations(engine: Engine) -> set[DatasetId]:
    """The identities the register's live assets point at (retired assets are nobody's concern)."""
    query = (select(asset_location.c.namespace, asset_location.c.name).distinct()
             .select_from(asset_location.join(asset, asset.c.asset_id == asset_location.c.asset_id))
             .where(asset.c.status != "retired"))
    with engine.connect() as conn:
        return {DatasetId(namespace, name) for namespace, name in conn.execute(query)}


# --------------------------------------------------------------------------- running units


def readers_per_unit(units_at_once: int) -> int:
    """Concurrent reads per unit, so that all units' threads fit the HTTP connection pool (a thread
    over the pool makes urllib3 discard connections, and warn)."""
    return max(2, min(16, RETRY_CONFIG.max_pool_connections // units_at_once - 1))


def run_unit(unit: Unit, *, config: SourcesFile, engine: Engine, run_id: str,
             clients: Clients | None = None, units_at_once: int = 1) -> list[ScopeOutcome]:
    """Harvest and stage each scope of the unit; returns their outcomes."""
    if run_status(engine, run_id) == "complete":
        log.warning("harvest run %s is already complete: unit %s not run again", run_id, unit.label)
        return []
    source = config.source(unit.source)
    harvester = HARVESTERS[unit.service]
    outcomes = [ScopeOutcome(source.name, harvester.name, unit.region, name,
                             harvester.covers(unit.region, unit.account, name), ScopeStatus.COMPLETE)
                for name in unit.scopes]
    try:
        aws = (clients or Clients()).get(source, unit.region)
    except AWS_ERRORS as exc:  # the role cannot be assumed: every scope of the unit fails the same way
        for outcome in outcomes:
            _failed(outcome, exc)
            store.record_scope(engine, run_id, outcome)
        return outcomes
    for outcome in outcomes:
        scope = ScopeContext(source, unit.region, unit.account, aws, outcome.scope, outcome,
                             readers=readers_per_unit(units_at_once))
        run_scope(scope, engine, run_id, marking_tag=config.tags.marking)
    return outcomes


def _marked(dataset: ObservedDataset, source: Source, marking_tag: str) -> ObservedDataset:
    """The dataset with its organisation (its source's) and marking: the strongest of the source's
    default and the dataset's marking tag. A tag that is no GSCP marking is a problem, never a guess."""
    dataset.organisation = source.organisation
    tagged = dataset.tags.get(marking_tag)
    try:
        dataset.marking = strongest(source.marking, parse_marking(tagged) if tagged else None)
    except ValueError as exc:
        dataset.marking = source.marking
        dataset.problems.append(f"tag {marking_tag}: {exc}")
    return dataset


def run_scope(scope: ScopeContext, engine: Engine, run_id: str, *, marking_tag: str) -> ScopeOutcome:
    """Harvest one scope into a spool file, then stage it (with its coverage) in one transaction."""
    outcome = scope.outcome
    with tempfile.TemporaryFile(prefix="adc-harvest-") as spool:
        try:
            for dataset in HARVESTERS[outcome.service].harvest(scope):
                pickle.dump(_marked(dataset, scope.source, marking_tag), spool, pickle.HIGHEST_PROTOCOL)
        except AWS_ERRORS as exc:
            _failed(outcome, exc)
        except Exception as exc:  # noqa: BLE001 - one scope's bug must not read as the estate vanishing
            log_failure(log, f"harvest of {outcome.unit}", exc)
            _failed(outcome, exc)
        spool.seek(0)
        store.record_unit(engine, run_id, outcome, _unspool(spool))
    log.info("%s %s/%s: %s, %d dataset(s)%s", outcome.source, outcome.service, outcome.scope, outcome.status,
             outcome.datasets, f" ({outcome.error_kind}: {outcome.error})" if outcome.error_kind else "")
    return outcome


def _failed(outcome: ScopeOutcome, exc: BaseException) -> None:
    outcome.status = ScopeStatus.FAILED
    outcome.error_kind = error_kind(exc)
    outcome.error = failure(exc)


def _unspool(spool: IO[bytes]) -> Iterator[ObservedDataset]:
    while True:
        try:
            yield pickle.load(spool)  # noqa: S301 - this unit's own spool, written above, never outside input
        except EOFError:
            return


def run_status(engine: Engine, run_id: str) -> str | None:
    with engine.connect() as conn:
        return conn.execute(select(harvest_run.c.status).where(harvest_run.c.run_id == run_id)).scalar()


# --------------------------------------------------------------------------- the run as a whole


def start(engine: Engine, config: SourcesFile, run_id: str, sources: list[str], *, triggered_by: str,
          data_interval: tuple[datetime, datetime] | None = None, clients: Clients | None = None) -> Plan:
    """Open the run, plan it, and record the registered scopes the listings prove absent."""
    if run_status(engine, run_id) == "complete":
        log.warning("harvest run %s is already complete: nothing to plan", run_id)
        return Plan()
    load_organisations().check_sources(config)  # before the run opens: a wrong file changes nothing
    store.start_run(engine, run_id, sources, triggered_by=triggered_by, data_interval=data_interval)
    try:
        plan = make_plan(config, sources, registered_locations(engine), clients or Clients())
        for outcome in plan.absent:
            store.record_scope(engine, run_id, outcome)
    except BaseException as exc:
        store.fail_run(engine, run_id, f"planning failed: {failure(exc)}")
        raise
    log.info("harvest %s: %d unit(s), %d absent registered scope(s), %d listing error(s)", run_id,
             len(plan.units), len(plan.absent), len(plan.errors))
    return plan


def missing_scopes(engine: Engine, run_id: str, units: list[Unit]) -> list[str]:
    """Planned scopes with no coverage row: their unit's task never got to record them."""
    with engine.connect() as conn:
        recorded = {tuple(r) for r in conn.execute(
            select(harvest_scope.c.source, harvest_scope.c.service, harvest_scope.c.region, harvest_scope.c.scope)
            .where(harvest_scope.c.run_id == run_id))}
    return [f"{u.source}|{u.service}|{u.region}|{s}" for u in units for s in u.scopes
            if (u.source, u.service, u.region, s) not in recorded]


def finish(engine: Engine, run_id: str, *, units: list[Unit], errors: list[ListingError]) -> dict[str, Any]:
    """Merge the run into the estate, or fail it when a unit never finished. Returns the summary."""
    missing = missing_scopes(engine, run_id, units)
    if missing and run_status(engine, run_id) != "complete":
        reason = f"{len(missing)} planned scope(s) were never harvested (their tasks failed): {', '.join(missing[:5])}"
        store.fail_run(engine, run_id, reason)
        raise HarvestIncomplete(f"harvest run {run_id} failed: {reason}")
    summary = summarise(engine, run_id, errors)
    summary["merge"] = store.finish_run(engine, run_id, summary)
    summary["status"] = "complete"
    return summary


def summarise(engine: Engine, run_id: str, errors: list[ListingError]) -> dict[str, Any]:
    """Per-service counts, coverage (each scope with its status and why) and errors, from the register."""
    with engine.connect() as conn:
        sources = conn.execute(select(harvest_run.c.sources).where(harvest_run.c.run_id == run_id)).scalar()
        rows = conn.execute(
            select(harvest_scope).where(harvest_scope.c.run_id == run_id)
            .order_by(harvest_scope.c.source, harvest_scope.c.service, harvest_scope.c.region, harvest_scope.c.scope)
        ).mappings().all()
    services: dict[str, dict[str, int]] = {}
    scopes, errors, unreadable = [], list(errors), 0
    for row in rows:
        status = "absent" if row["status"] == "complete" and row["error_kind"] == ABSENT else row["status"]
        counts = services.setdefault(row["service"], dict.fromkeys(
            ("scopes", "datasets", "complete", "partial", "failed", "absent"), 0))
        counts["scopes"] += 1
        counts["datasets"] += row["datasets"]
        counts[status] += 1
        unreadable += len(row["unreadable"] or ())
        scopes.append({"source": row["source"], "service": row["service"], "region": row["region"],
                       "scope": row["scope"], "status": status, "datasets": row["datasets"],
                       "error_kind": row["error_kind"], "error": row["error"], "unreadable": row["unreadable"] or []})
        if row["status"] == "failed":
            errors.append(ListingError(source=row["source"], service=row["service"], region=row["region"],
                                       scope=row["scope"], error_kind=row["error_kind"], error=row["error"]))
    coverage = {k: sum(c[k] for c in services.values()) for k in ("complete", "partial", "failed", "absent")}
    return {
        "run_id": run_id,
        "sources": sources or [],
        "datasets": sum(c["datasets"] for c in services.values()),
        "services": services,
        "coverage": {**coverage, "scopes": scopes},
        "unreadable": unreadable,
        "errors": errors,
    }


def harvest(engine: Engine, config: SourcesFile, *, sources: list[str] | None = None, run_id: str | None = None,
            triggered_by: str = "cli", workers: int = 4) -> dict[str, Any]:
    """A whole harvest run in this process (the CLI): plan, units on ``workers`` threads, finish."""
    run_id = run_id or cli_run_id()
    names = sources or [s.name for s in config.sources]
    clients = Clients()
    plan = start(engine, config, run_id, names, triggered_by=triggered_by, clients=clients)
    try:
        # units of one big scope (a bucket, a Glue database) first, so their long listings overlap the quick ones
        units = sorted(plan.units, key=lambda u: HARVESTERS[u.service].scopes_per_unit > 1)
        with ThreadPoolExecutor(workers, thread_name_prefix="adc-unit") as pool:
            for _ in pool.map(lambda u: run_unit(u, config=config, engine=engine, run_id=run_id, clients=clients,
                                                 units_at_once=workers), units):
                pass
        return finish(engine, run_id, units=plan.units, errors=plan.errors)
    except BaseException as exc:
        if run_status(engine, run_id) != "complete":
            store.fail_run(engine, run_id, failure(exc))
        raise


# --------------------------------------------------------------------------- entry points for the DAG
# Plain values in and out (they travel as XCom); each loads sources.yaml and opens the register itself.


def plan_run(run_id: str, *, requested: list[str] | None, scheduled_at: datetime | None,
             data_interval: tuple[datetime, datetime] | None = None) -> PlannedRun:
    """Plan a DAG run: the due sources' units and the listing errors (never a sealed organisation's
    source: every organisation reads the DAG, docs/organisations.md). Absences are judged against every
    source, so a run without the sealed unit's never proves its buckets absent."""
    config = load_sources()
    sources = due_sources(load_organisations().shared(config, requested), at=scheduled_at, requested=requested)
    plan = start(register_engine(), config, run_id, sources, triggered_by=run_id, data_interval=data_interval)
    return {"units": [u.to_dict() for u in plan.units], "errors": plan.errors}


def run_planned_unit(unit: PlannedUnit, run_id: str) -> list[UnitOutcome]:
    """Run one planned unit of a DAG run; returns its scopes' outcomes (status, datasets, errors)."""
    outcomes = run_unit(Unit.from_dict(unit), config=load_sources(), engine=register_engine(), run_id=run_id)
    return [UnitOutcome(scope=o.scope, status=str(o.status), datasets=o.datasets, error_kind=o.error_kind,
                        unreadable=len(o.unreadable)) for o in outcomes]


def finish_planned_run(run_id: str, units: list[PlannedUnit], errors: list[ListingError]) -> dict[str, Any]:
    """Finish a DAG run; returns the summary without the per-scope list (harvest_run.summary has it all)."""
    summary = finish(register_engine(), run_id, units=[Unit.from_dict(u) for u in units], errors=errors)
    return {**summary, "coverage": {k: v for k, v in summary["coverage"].items() if k != "scopes"}}
