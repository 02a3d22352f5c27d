"""Reconciliation: the current estate against the Information Asset Register, in set-based SQL.

``reconcile()`` is a pure function of (snapshot, register, decision): the snapshot is the current
version of every observed dataset plus the latest coverage of every harvested scope; the register
is the assets, their locations and the findings already raised; the decision is a person's answer
to a mass absence, if any. It runs in ONE transaction under the register lock, so a failed or
killed run leaves the register exactly as it was, two runs never interleave, and running it again
on the same snapshot writes nothing at all.

How it works (each step one or a few INSERT ... SELECT / UPDATE ... WHERE EXISTS statements over
temporary tables; Python loops only over finding kinds and sources, never over rows):

1. coverage: for every scope ever harvested, its latest outcome among complete harvest runs.
2. match: which current dataset belongs to which asset: a location covers it (DatasetId.covers),
   or covers one of its symlinks (a Glue table's S3 location), or it is the symlink target of a
   dataset that belongs to the asset. Retired assets match nothing.
3. absence: assets with no match whose every location lies in a completely listed scope. If the
   newly absent assets are more than a source's ``missing_threshold`` share of its assets, the
   absence is withheld until a person approves it (``AbsenceDecision``).
4. candidates: one row per finding the snapshot shows, per kind (see KINDS).
5. merge: candidates become findings (new ones open; live ones updated only if something differs;
   live findings without a candidate resolve), with history rows.
6. assets: missing / back to active / last_seen_at, with history rows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    case,
    cast,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.exc import OperationalError

from adc.config import SourcesFile, TagConventions, load_sources
from adc.errors import AdcError, RegisterBusyError
from adc.model import SPECIAL_CATEGORIES
from adc.register.db import exclusive
from adc.register import KINDS, LIVE
from adc.register.findings import counts
from adc.register.history import SYSTEM_ACTOR
from adc.register.sqlfn import (
    covers,
    dataset_uri,
    embed,
    json_agg,
    json_array,
    json_bool,
    json_elements,
    json_length,
    json_object,
    listed,
    scalar_text,
    text_agg,
)
from adc.register.store import now
from adc.register.tables import (
    asset,
    asset_location,
    finding,
    harvest_run,
    history,
    observed_dataset,
    reconciliation_run,
)
from adc.register.types import URI_LENGTH, Json, Name, UTCDateTime

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.25
KNOWN_SCHEMA = ("inferred", "catalogue")  # a schema was read: the content's classification means something


@dataclass(frozen=True)
class AbsenceDecision:
    """A person's answer to a withheld mass absence, valid for the snapshot it was asked about."""

    harvest_run_id: str
    approved: bool
    by: str


@dataclass(frozen=True)
class Policy:
    """What reconciliation takes from sources.yaml: absence thresholds per source and the tag keys."""

    thresholds: Mapping[str, float] = field(default_factory=dict)
    default_threshold: float = DEFAULT_THRESHOLD
    tags: TagConventions = field(default_factory=TagConventions)

    @classmethod
    def from_sources(cls, sources: SourcesFile | None = None) -> Policy:
        sources = sources or load_sources()
        return cls({s.name: s.missing_threshold for s in sources.sources}, DEFAULT_THRESHOLD, sources.tags)

    def threshold(self, source: str) -> float:
        return self.thresholds.get(source, self.default_threshold)


@dataclass
class Result:
    run_id: str
    harvest_run_id: str
    status: str  # complete, awaiting_approval
    findings: dict[str, dict[str, int]]  # live (open, acknowledged) findings: {kind: {severity: n}}
    changes: dict[str, int]  # what this call changed (all zero when the register was already reconciled)
    absence: dict[str, dict[str, Any]]  # withheld mass absences by source
    seconds: dict[str, float] = field(default_factory=dict)  # time per step

    @property
    def changed(self) -> bool:
        return any(self.changes.values())

    @property
    def approval_needed(self) -> bool:
        return any(a["decision"] == "pending" for a in self.absence.values())

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "harvest_run_id": self.harvest_run_id, "status": self.status,
                "findings": self.findings, "changes": self.changes, "absence": self.absence, "seconds": self.seconds}


# --------------------------------------------------------------------------- scratch tables

# Temporary tables of one reconciliation: gone at commit or rollback (PostgreSQL ON COMMIT DROP;
# SQLite's temp schema is dropped explicitly and rolls back with the transaction).
scratch = MetaData()


def _temp(name: str, *columns, indexes: tuple[tuple[str, ...], ...] = ()) -> Table:
    table = Table(name, scratch, *columns, prefixes=["TEMPORARY"], postgresql_on_commit="DROP")
    for i, cols in enumerate(indexes):
        Index(f"ix_{name}_{i}", *(table.c[c] for c in cols))
    return table


VersionId = BigInteger().with_variant(Integer, "sqlite")
coverage = _temp(
    "adc_coverage",
    Column("namespace", Name(), nullable=False), Column("name", Name(), nullable=False),
    Column("run_id", String(250)), Column("source", String(100)), Column("service", String(20)),
    Column("region", String(40)), Column("scope", Name()), Column("status", String(20)),
    Column("error_kind", String(100)), Column("error", Text), Column("unreadable", Json),
    indexes=(("namespace", "name"),),
)
# Which current dataset belongs to which asset, with the dataset's narrow columns copied along: the
# checks after matching read this table, not the (wide) observed_dataset rows.
match = _temp(
    "adc_match",
    Column("asset_id", String(32), primary_key=True), Column("version_id", VersionId, primary_key=True),
    Column("namespace", Name()), Column("name", Name()), Column("last_seen_at", UTCDateTime),
    Column("personal_data", Boolean), Column("special_categories", Text), Column("criminal_offence_data", Boolean),
    Column("schema_status", String(20)), Column("retention_kind", String(40)), Column("retention_active", Boolean),
    Column("holds_data", Boolean),  # neither a view nor a catalogue entry of data kept elsewhere (a symlink)
    Column("owner_tag", Text),
    indexes=(("version_id",),),
)
MATCH_COLUMNS = [c.name for c in match.columns]
alias = _temp(  # symlinks of current datasets: (dataset, the identity it is also known as)
    "adc_alias",
    Column("version_id", VersionId, nullable=False), Column("namespace", Name()), Column("name", Name()),
    indexes=(("version_id",), ("namespace", "name")),
)
absent = _temp(
    "adc_absent",
    Column("asset_id", String(32), primary_key=True), Column("source", String(100)),
    Column("newly", Boolean, nullable=False),
)
flagged = _temp(  # per-asset kinds: one row per (asset, dataset, item) before aggregation
    "adc_flagged",
    Column("kind", String(40), nullable=False), Column("asset_id", String(32), nullable=False),
    Column("dataset", Name(URI_LENGTH), nullable=False), Column("item", Json), Column("label", Text),
    Column("rank", Integer, nullable=False),  # 0 high, 1 medium, 2 low
    indexes=(("kind", "asset_id"),),
)
drift = _temp(
    "adc_drift",
    Column("subject", Name(URI_LENGTH), primary_key=True), Column("version_id", VersionId, nullable=False),
    Column("other", Name(URI_LENGTH)), Column("added", Json), Column("removed", Json), Column("retyped", Json),
    Column("sensitive", Boolean, nullable=False),
)
candidate = _temp(
    "adc_candidate",
    Column("kind", String(40), primary_key=True), Column("subject", Name(URI_LENGTH), primary_key=True),
    Column("severity", String(10), nullable=False), Column("asset_id", String(32)),
    Column("namespace", Name()), Column("name", Name()), Column("source", String(100)),
    Column("summary", Text, nullable=False), Column("evidence", Json),
)
SEVERITY_BY_RANK = ("high", "medium", "low")


def _severity(rank) -> Any:
    return case({i: s for i, s in enumerate(SEVERITY_BY_RANK)}, value=rank, else_="low")


# --------------------------------------------------------------------------- the run

od = observed_dataset
a = asset
loc = asset_location
m = match
PRESENT = and_(od.c.valid_to.is_(None), od.c.gone.is_(False))


class Reconciliation:
    """One reconciliation inside one transaction. ``run()`` calls the steps in order; tests inject
    failures into a step to prove the transaction leaves nothing behind."""

    def __init__(self, conn: Connection, snapshot: tuple[str, datetime], policy: Policy,
                 decision: AbsenceDecision | None) -> None:
        self.conn = conn
        self.harvest_run_id, self.seen_at = snapshot
        self.run_id = f"reconcile:{self.harvest_run_id}"
        self.policy = policy
        self.decision = decision if decision and decision.harvest_run_id == self.harvest_run_id else None
        if decision and self.decision is None:
            log.warning("ignoring an absence decision for harvest run %s: the snapshot is now %s",
                        decision.harvest_run_id, self.harvest_run_id)
        self.at = now()
        self.changes: dict[str, int] = {}
        self.absence: dict[str, dict[str, Any]] = {}
        self.seconds: dict[str, float] = {}  # per step, for the log and the benchmark
        self.linked = 0  # current datasets' symlinks (a Glue table's S3 location)
        self.approved: list[str] = []  # sources whose mass absence a person approved

    def run(self) -> Result:
        steps = [self.create_scratch, self.find_coverage, self.find_matches, self.find_absence,
                 *self.candidate_builders().values(),  # a loop over finding kinds, never over rows
                 self.merge_findings, self.update_assets]
        for step in steps:
            started = time.perf_counter()
            step()
            self.seconds[step.__name__] = round(time.perf_counter() - started, 3)
        result = self.record_run()
        self.drop_scratch()
        log.info("reconciliation %s: seconds per step %s", self.run_id, self.seconds)
        return result

    def create_scratch(self) -> None:
        if self.conn.dialect.name == "postgresql":
            # JIT compiling these one-off statements costs more than running them; sorts and hashes
            # over the estate fit in memory rather than spilling
            self.conn.exec_driver_sql("SET LOCAL jit = off")
            self.conn.exec_driver_sql("SET LOCAL work_mem = '256MB'")
        self.drop_scratch()
        for table in scratch.sorted_tables:
            table.create(self.conn)

    def drop_scratch(self) -> None:
        if self.conn.dialect.name == "sqlite":
            for table in scratch.sorted_tables:
                self.conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{table.name}")

    def _analyze(self, *tables: Table) -> None:
        # fresh statistics so the planner sees the temp tables' real sizes
        for table in tables:
            self.conn.exec_driver_sql(f"ANALYZE {'temp.' if self.conn.dialect.name == 'sqlite' else ''}{table.name}")

    # ----------------------------------------------------------------------- 1-3: the snapshot

    def find_coverage(self) -> None:
        from adc.register.tables import harvest_scope as hs

        later_scope, later_run = hs.alias("later_scope"), harvest_run.alias("later_run")
        superseded = exists().where(
            later_scope.c.namespace == hs.c.namespace, later_scope.c.name == hs.c.name,
            later_run.c.run_id == later_scope.c.run_id, later_run.c.status == "complete",
            or_(later_run.c.finished_at > harvest_run.c.finished_at,
                and_(later_run.c.finished_at == harvest_run.c.finished_at, later_run.c.run_id > harvest_run.c.run_id)),
        )
        columns = ["namespace", "name", "run_id", "source", "service", "region", "scope", "status", "error_kind",
                   "error", "unreadable"]
        self.conn.execute(insert(coverage).from_select(columns, select(*(hs.c[c] for c in columns)).join(
            harvest_run, harvest_run.c.run_id == hs.c.run_id).where(harvest_run.c.status == "complete", ~superseded)))

    def _facts(self, dataset) -> list:
        """What adc_match keeps of a dataset (``dataset`` is observed_dataset or an alias of it)."""
        d = dataset.c
        holds_data = and_(func.coalesce(d.kind, "") != "view", d.symlinks.is_(None))
        return [d.version_id, d.namespace, d.name, d.last_seen_at, d.personal_data, d.special_categories,
                d.criminal_offence_data, d.schema_status, d.retention_kind, d.retention_active, holds_data,
                d.tags[self.policy.tags.owner].as_string()]

    def _add_matches(self, query) -> None:
        self.conn.execute(insert(m).from_select(MATCH_COLUMNS, query.distinct()))

    def find_matches(self) -> None:
        conn = self.conn
        live_asset = and_(a.c.asset_id == loc.c.asset_id, a.c.status != "retired")
        # a location with a name: the dataset at it or under it, as one index range per location
        under = and_(od.c.namespace == loc.c.namespace, od.c.valid_to.is_(None), od.c.name >= loc.c.name,
                     od.c.name < loc.c.name + "0", or_(od.c.name == loc.c.name, od.c.name > loc.c.name + "/"))
        self._add_matches(select(loc.c.asset_id, *self._facts(od)).select_from(loc).join(a, live_asset).join(od, under)
                          .where(loc.c.name != "", od.c.gone.is_(False)))
        # a whole namespace (an empty name): everything in it. ("|| ''" keeps SQLite from scanning the
        # estate to probe the locations: the few whole-namespace locations probe the estate instead.)
        self._add_matches(select(loc.c.asset_id, *self._facts(od)).select_from(loc).join(a, live_asset)
                          .join(od, and_(od.c.namespace == loc.c.namespace + "", od.c.valid_to.is_(None)))
                          .where(loc.c.name == "", od.c.gone.is_(False),
                                 ~exists().where(m.c.asset_id == loc.c.asset_id, m.c.version_id == od.c.version_id)))
        # symlinks: a dataset whose other identity is covered belongs to that asset...
        links = json_elements(od.c.record, "symlinks")
        conn.execute(insert(alias).from_select(
            ["version_id", "namespace", "name"],
            select(od.c.version_id, links.c.value["namespace"].as_string(), links.c.value["name"].as_string())
            .select_from(od).join(links, literal(True)).where(PRESENT, od.c.symlinks.is_not(None))))
        self.linked = conn.execute(select(func.count()).select_from(alias)).scalar_one()
        if self.linked:
            self._analyze(alias)  # so the planner starts from the few links, not from the estate
            self._add_symlink_matches()
        self._analyze(coverage, match)

    def _add_symlink_matches(self) -> None:
        live_asset = and_(a.c.asset_id == loc.c.asset_id, a.c.status != "retired")
        self._add_matches(select(loc.c.asset_id, *self._facts(od)).select_from(alias)
                          .join(loc, covers(loc.c.namespace, loc.c.name, alias.c.namespace, alias.c.name))
                          .join(a, live_asset).join(od, od.c.version_id == alias.c.version_id)
                          .where(~exists().where(m.c.asset_id == loc.c.asset_id, m.c.version_id == alias.c.version_id)))
        # ...and so does the dataset a matched one links to (the S3 data behind a registered Glue table)
        target, known = od.alias("target"), m.alias("known")
        self._add_matches(select(m.c.asset_id, *self._facts(target)).select_from(alias)
                          .join(m, m.c.version_id == alias.c.version_id)
                          .join(target, and_(target.c.namespace == alias.c.namespace + "",  # the few links lead
                                             target.c.name == alias.c.name,
                                             target.c.valid_to.is_(None), target.c.gone.is_(False)))
                          .where(~exists().where(known.c.asset_id == m.c.asset_id,
                                                 known.c.version_id == target.c.version_id)))

    def find_absence(self) -> None:
        conn = self.conn
        inner = loc.alias("l2")
        uncovered = exists().where(inner.c.asset_id == a.c.asset_id, ~exists().where(
            coverage.c.status == "complete", covers(coverage.c.namespace, coverage.c.name, inner.c.namespace,
                                                    inner.c.name)))
        source = (select(func.min(coverage.c.source)).select_from(loc)
                  .join(coverage, covers(coverage.c.namespace, coverage.c.name, loc.c.namespace, loc.c.name))
                  .where(loc.c.asset_id == a.c.asset_id, coverage.c.status == "complete").scalar_subquery())
        conn.execute(insert(absent).from_select(
            ["asset_id", "source", "newly"],
            select(a.c.asset_id, source, a.c.status == "active").where(
                a.c.status != "retired",
                ~exists().where(m.c.asset_id == a.c.asset_id),
                exists().where(loc.c.asset_id == a.c.asset_id),
                ~uncovered,
            )))
        newly = conn.execute(select(absent.c.source, func.count()).where(absent.c.newly)
                             .group_by(absent.c.source).order_by(absent.c.source)).all()
        for source_name, missing in newly:
            total = conn.execute(
                select(func.count(func.distinct(loc.c.asset_id))).select_from(loc)
                .join(a, and_(a.c.asset_id == loc.c.asset_id, a.c.status != "retired"))
                .where(exists().where(coverage.c.status == "complete", coverage.c.source == source_name,
                                      covers(coverage.c.namespace, coverage.c.name, loc.c.namespace, loc.c.name)))
            ).scalar_one()
            threshold = self.policy.threshold(source_name)
            if not total or missing / total <= threshold:
                continue
            if self.decision and self.decision.approved:
                self.approved.append(source_name)
            else:
                self.absence[source_name] = {
                    "missing": missing, "assets": total, "share": round(missing / total, 4),
                    "threshold": threshold,
                    "decision": "rejected" if self.decision else "pending",
                    "decided_by": self.decision.by if self.decision else None,
                }

    # ----------------------------------------------------------------------- 4: candidates

    def candidate_builders(self) -> dict[str, Callable[[], None]]:
        return {
            "unregistered_dataset": self.unregistered_datasets,
            "absence_withheld": self.withheld_absences,  # before missing_asset: it holds those assets back
            "missing_asset": self.missing_assets,
            "classification_mismatch": self.classification_mismatches,
            "owner_mismatch": self.owner_mismatches,
            "schema_drift": self.schema_drift,
            "retention_mismatch": self.retention_mismatches,
            "unreadable_source": self.unreadable_sources,
        }

    def _add(self, query, *columns: str) -> None:
        self.conn.execute(insert(candidate).from_select(list(columns), query))

    def unregistered_datasets(self) -> None:
        uri = dataset_uri(od.c.namespace, od.c.name)
        schema_status = od.c.schema_status
        known = schema_status.in_(KNOWN_SCHEMA)
        tags = self.policy.tags
        fields = json_elements(od.c.record, "fields")
        sensitive = select(json_agg(_field_json(fields), order_by=fields.c.value["name"].as_string())).select_from(
            fields).where(fields.c.value["classification"].as_string() != "none").scalar_subquery()
        evidence = json_object(
            dataset=uri, service=od.c.service, source=od.c.source, scope=od.c.scope, kind=od.c.kind,
            format=od.c.format, schema_status=schema_status, classification=od.c.classification,
            special_categories=od.c.special_categories, criminal_offence_data=json_bool(od.c.criminal_offence_data),
            columns=embed(sensitive), asset_id_tag=od.c.tags[tags.asset_id].as_string(),
            owner_tag=od.c.tags[tags.owner].as_string(),
        )
        self._add(
            select(literal("unregistered_dataset"), uri,
                   case((od.c.personal_data, "high"), (known, "low"), else_="medium"),
                   od.c.namespace, od.c.name, od.c.source,
                   case((od.c.personal_data, uri + " is in no asset's locations and holds personal data"),
                        (known, uri + " is in no asset's locations (no personal data found)"),
                        else_=uri + " is in no asset's locations (its content could not be read)"),
                   evidence)
            .where(PRESENT, ~exists().where(m.c.version_id == od.c.version_id)),
            "kind", "subject", "severity", "namespace", "name", "source", "summary", "evidence")

    def withheld_absences(self) -> None:
        for source_name, info in self.absence.items():
            ids = (select(absent.c.asset_id).where(absent.c.newly, absent.c.source == source_name)
                   .order_by(absent.c.asset_id).subquery())
            who = f": {info['decided_by']} refused to mark them missing" if info["decided_by"] else \
                ": waiting for a person to approve"
            self._add(
                select(literal("absence_withheld"), literal(source_name), literal("medium"), literal(source_name),
                       literal(f"{info['missing']} of {info['assets']} assets of source {source_name} look missing "
                               f"({info['share']:.0%}, more than its threshold of {info['threshold']:.0%}); "
                               f"they are kept as they were{who}"),
                       json_object(source=source_name, missing=info["missing"], assets=info["assets"],
                                   threshold=str(info["threshold"]), decision=info["decision"],
                                   decided_by=info["decided_by"] or "",
                                   asset_ids=embed(select(json_agg(ids.c.asset_id, order_by=ids.c.asset_id))
                                                   .scalar_subquery()))),
                "kind", "subject", "severity", "source", "summary", "evidence")
            # withheld: these assets keep their status
            self.conn.execute(absent.delete().where(absent.c.newly, absent.c.source == source_name))

    def missing_assets(self) -> None:
        locations = (select(json_agg(loc.c.uri, order_by=loc.c.location_id)).where(loc.c.asset_id == a.c.asset_id)
                     .scalar_subquery())
        listed_in = (select(json_agg(json_object(scope=dataset_uri(coverage.c.namespace, coverage.c.name),
                                                 harvest_run=coverage.c.run_id),
                                     order_by=coverage.c.namespace))
                     .where(coverage.c.status == "complete",
                            exists().where(loc.c.asset_id == a.c.asset_id, covers(coverage.c.namespace, coverage.c.name,
                                                                                  loc.c.namespace, loc.c.name))
                            .correlate_except(loc))  # the asset two levels up, the scope one level up
                     .scalar_subquery())
        will_be_missing = or_(exists().where(absent.c.asset_id == a.c.asset_id), a.c.status == "missing")
        self._add(
            select(literal("missing_asset"), a.c.asset_id, case((a.c.key_asset, "high"), else_="medium"), a.c.asset_id,
                   a.c.asset_id + " " + a.c.name + ": nothing current at its locations, which were listed completely",
                   json_object(asset_id=a.c.asset_id, name=a.c.name, owner=func.coalesce(a.c.owner, ""),
                               locations=embed(locations), listed_in=embed(listed_in)))
            .where(a.c.status != "retired", ~exists().where(m.c.asset_id == a.c.asset_id), will_be_missing),
            "kind", "subject", "severity", "asset_id", "summary", "evidence")

    def classification_mismatches(self) -> None:
        conn = self.conn
        # a dataset holds what its asset does not declare (prefiltered on the dataset's derived columns)
        undeclared_special = or_(*(and_(listed(m.c.special_categories, c), ~listed(a.c.special_categories, c))
                                   for c in SPECIAL_CATEGORIES))
        grave = or_(and_(m.c.special_categories.is_not(None), undeclared_special),
                    and_(m.c.criminal_offence_data, ~a.c.criminal_offence_data))
        undeclared = and_(m.c.personal_data, or_(~a.c.personal_data, grave))
        fields = json_elements(od.c.record, "fields")
        f_class, f_category = fields.c.value["classification"].as_string(), fields.c.value["category"].as_string()
        field_undeclared = or_(
            and_(f_class == "personal", ~a.c.personal_data),
            and_(f_class == "special_category",
                 or_(~a.c.personal_data, f_category.is_(None), ~listed(a.c.special_categories, f_category))),
            and_(f_class == "criminal_offence", ~a.c.criminal_offence_data),
        )
        conn.execute(insert(flagged).from_select(
            ["kind", "asset_id", "dataset", "item", "label", "rank"],
            select(literal("classification_mismatch"), m.c.asset_id, dataset_uri(m.c.namespace, m.c.name),
                   _field_json(fields), fields.c.value["name"].as_string(),
                   case((f_class == "personal", 1), else_=0))
            .select_from(m).join(a, a.c.asset_id == m.c.asset_id).join(od, od.c.version_id == m.c.version_id)
            .join(fields, literal(True)).where(undeclared, field_undeclared)))
        declared = json_object(personal_data=json_bool(a.c.personal_data),
                               special_categories=func.coalesce(a.c.special_categories, ""),
                               criminal_offence_data=json_bool(a.c.criminal_offence_data))
        self._per_asset("classification_mismatch", "columns", declared,
                        a.c.asset_id + " (" + a.c.name + ") does not declare what its datasets hold: ")
        # the reverse: declares personal data, yet every dataset's schema was read and none shows any
        datasets = (select(m.c.asset_id, func.count().label("n"),
                           json_agg(dataset_uri(m.c.namespace, m.c.name), order_by=m.c.name).label("uris"))
                    .select_from(m).join(a, and_(a.c.asset_id == m.c.asset_id, a.c.personal_data))
                    .group_by(m.c.asset_id)
                    .having(func.max(case((or_(m.c.personal_data, func.coalesce(m.c.schema_status, "").not_in(
                        KNOWN_SCHEMA)), 1), else_=0)) == 0)
                    .subquery())
        self._add(
            select(literal("classification_mismatch"), a.c.asset_id, literal("low"), a.c.asset_id,
                   a.c.asset_id + " (" + a.c.name + ") declares personal data, but none of its "
                   + cast(datasets.c.n, String) + " dataset(s) shows any",
                   json_object(declared=declared, datasets=embed(datasets.c.uris)))
            .select_from(a).join(datasets, datasets.c.asset_id == a.c.asset_id)
            .where(a.c.personal_data, ~exists().where(candidate.c.kind == "classification_mismatch",
                                                      candidate.c.subject == a.c.asset_id)),
            "kind", "subject", "severity", "asset_id", "summary", "evidence")

    def owner_mismatches(self) -> None:
        key = self.policy.tags.owner
        tag = m.c.owner_tag
        self.conn.execute(insert(flagged).from_select(
            ["kind", "asset_id", "dataset", "item", "label", "rank"],
            select(literal("owner_mismatch"), m.c.asset_id, dataset_uri(m.c.namespace, m.c.name),
                   json_object(tag=key, value=tag), key + "=" + tag, literal(2))
            .select_from(m).join(a, a.c.asset_id == m.c.asset_id)
            .where(func.trim(func.coalesce(tag, "")) != "",
                   func.lower(func.trim(tag)) != func.lower(func.trim(func.coalesce(a.c.owner, ""))))))
        self._per_asset("owner_mismatch", "tags", json_object(owner=func.coalesce(a.c.owner, "")),
                        a.c.asset_id + "'s owner is " + func.coalesce(a.c.owner, "nobody")
                        + " but a dataset is tagged ")

    def retention_mismatches(self) -> None:
        control = od.c.record[("properties", "retention_control")]  # the evidence (flagged rows only)
        kind, active = m.c.retention_kind, m.c.retention_active
        self.conn.execute(insert(flagged).from_select(
            ["kind", "asset_id", "dataset", "item", "label", "rank"],
            select(literal("retention_mismatch"), m.c.asset_id, dataset_uri(m.c.namespace, m.c.name),
                   embed(control), dataset_uri(m.c.namespace, m.c.name), literal(1))
            .select_from(m).join(a, a.c.asset_id == m.c.asset_id).join(od, od.c.version_id == m.c.version_id)
            .where(func.trim(func.coalesce(a.c.retention_schedule, "")) != "",
                   or_(a.c.disposal_action.is_(None), a.c.disposal_action == "destroy"),
                   or_(kind == "none", and_(kind != "unknown", active.is_(False))),
                   m.c.holds_data)))  # a view holds none; a catalogue entry's data is judged at its location
        self._per_asset("retention_mismatch", "controls",
                        json_object(retention_schedule=a.c.retention_schedule,
                                    disposal_action=func.coalesce(a.c.disposal_action, "")),
                        a.c.asset_id + " must follow retention schedule " + a.c.retention_schedule
                        + ", but nothing expires the data in ")

    def _per_asset(self, kind: str, items_key: str, declared, summary_prefix) -> None:
        """Aggregate the kind's flagged rows into one candidate per asset: its datasets with their items."""
        f = flagged
        per_dataset = (select(f.c.asset_id, f.c.dataset, func.min(f.c.rank).label("rank"),
                              json_agg(embed(f.c.item), order_by=f.c.label).label("items"))
                       .where(f.c.kind == kind).group_by(f.c.asset_id, f.c.dataset).subquery())
        per_asset = (select(per_dataset.c.asset_id, func.min(per_dataset.c.rank).label("rank"),
                            json_agg(json_object(dataset=per_dataset.c.dataset,
                                                 **{items_key: embed(per_dataset.c["items"])}),
                                     order_by=per_dataset.c.dataset).label("datasets"))
                     .group_by(per_dataset.c.asset_id).subquery())
        labels = select(text_agg(f.c.label)).where(f.c.kind == kind, f.c.asset_id == a.c.asset_id).scalar_subquery()
        self._add(
            select(literal(kind), a.c.asset_id, _severity(per_asset.c.rank), a.c.asset_id, summary_prefix + labels,
                   json_object(declared=declared, datasets=embed(per_asset.c.datasets)))
            .select_from(a).join(per_asset, per_asset.c.asset_id == a.c.asset_id),
            "kind", "subject", "severity", "asset_id", "summary", "evidence")

    def schema_drift(self) -> None:
        self._drift_from_previous_version()
        if self.linked:
            self._drift_from_files()
        uri = dataset_uri(od.c.namespace, od.c.name)
        owner = select(func.min(m.c.asset_id)).where(m.c.version_id == od.c.version_id).scalar_subquery()
        changed = json_length(drift.c.added) + json_length(drift.c.removed) + json_length(drift.c.retyped)
        self._add(
            select(literal("schema_drift"), drift.c.subject, case((drift.c.sensitive, "medium"), else_="low"), owner,
                   od.c.namespace, od.c.name, od.c.source,
                   case((drift.c.other.is_(None), uri + ": columns changed since the previous harvest ("),
                        else_=uri + ": the catalogue's columns differ from the files' at " + drift.c.other + " (")
                   + cast(changed, String) + " column(s))",
                   json_object(dataset=uri, compared_with=func.coalesce(drift.c.other, "previous version"),
                               added=embed(drift.c.added), removed=embed(drift.c.removed),
                               retyped=embed(drift.c.retyped)))
            .select_from(drift).join(od, od.c.version_id == drift.c.version_id).where(changed > 0),
            "kind", "subject", "severity", "asset_id", "namespace", "name", "source", "summary", "evidence")

    def _drift_from_previous_version(self) -> None:
        previous = od.alias("previous")
        now_fields, old_fields = json_elements(od.c.record, "fields"), json_elements(previous.c.record, "fields")
        new_name, old_name = now_fields.c.value["name"].as_string(), old_fields.c.value["name"].as_string()
        new_type, old_type = now_fields.c.value["type"].as_string(), old_fields.c.value["type"].as_string()
        in_old = exists().select_from(old_fields).where(old_name == new_name)
        in_new = exists().select_from(now_fields).where(new_name == old_name)
        added = select(json_agg(new_name, order_by=new_name)).select_from(now_fields).where(~in_old)
        removed = select(json_agg(old_name, order_by=old_name)).select_from(old_fields).where(~in_new)
        retyped = (select(json_agg(json_object(column=new_name, was=old_type, now=new_type), order_by=new_name))
                   .select_from(now_fields).join(old_fields, and_(old_name == new_name, old_type != new_type)))
        sensitive = exists().select_from(now_fields).where(
            ~in_old, now_fields.c.value["classification"].as_string() != "none")
        self.conn.execute(insert(drift).from_select(
            ["subject", "version_id", "added", "removed", "retyped", "sensitive"],
            select(dataset_uri(od.c.namespace, od.c.name), od.c.version_id, embed(added.scalar_subquery()),
                   embed(removed.scalar_subquery()), embed(retyped.scalar_subquery()), sensitive)
            .select_from(od)
            .join(previous, and_(previous.c.namespace == od.c.namespace, previous.c.name == od.c.name,
                                 previous.c.valid_to == od.c.first_seen_at))
            .where(PRESENT, cast(od.c.record["fields"], Text) != cast(previous.c.record["fields"], Text))))

    def _drift_from_files(self) -> None:
        files = od.alias("files")
        cat_fields, file_fields = json_elements(od.c.record, "fields"), json_elements(files.c.record, "fields")
        cat_parts, file_parts = json_elements(od.c.record, "partition_keys"), json_elements(files.c.record,
                                                                                             "partition_keys")
        cat_name = func.lower(cat_fields.c.value["name"].as_string())
        file_name = func.lower(file_fields.c.value["name"].as_string())

        def partition(name):
            return or_(exists().select_from(cat_parts).where(func.lower(scalar_text(cat_parts.c.value)) == name),
                       exists().select_from(file_parts).where(func.lower(scalar_text(file_parts.c.value)) == name))

        only_in_files = and_(~exists().select_from(cat_fields).where(cat_name == file_name), ~partition(file_name))
        only_in_catalogue = and_(~exists().select_from(file_fields).where(file_name == cat_name), ~partition(cat_name))
        self.conn.execute(insert(drift).from_select(
            ["subject", "version_id", "other", "added", "removed", "retyped", "sensitive"],
            select(dataset_uri(od.c.namespace, od.c.name) + " <> files",
                   od.c.version_id, dataset_uri(files.c.namespace, files.c.name),
                   embed(select(json_agg(file_name, order_by=file_name)).select_from(file_fields)
                         .where(only_in_files).scalar_subquery()),
                   embed(select(json_agg(cat_name, order_by=cat_name)).select_from(cat_fields)
                         .where(only_in_catalogue).scalar_subquery()),
                   json_array(),
                   exists().select_from(file_fields).where(
                       only_in_files, file_fields.c.value["classification"].as_string() != "none"))
            .select_from(alias)
            .join(od, od.c.version_id == alias.c.version_id)
            .join(files, and_(files.c.namespace == alias.c.namespace + "", files.c.name == alias.c.name,  # links lead
                              files.c.valid_to.is_(None), files.c.gone.is_(False)))
            .where(PRESENT, od.c.schema_status == "catalogue", files.c.schema_status == "inferred")))

    def unreadable_sources(self) -> None:
        cov = coverage
        uri = dataset_uri(cov.c.namespace, cov.c.name)
        owner = (select(func.min(loc.c.asset_id)).select_from(loc).join(a, and_(a.c.asset_id == loc.c.asset_id,
                                                                                 a.c.status != "retired"))
                 .where(or_(covers(cov.c.namespace, cov.c.name, loc.c.namespace, loc.c.name),
                            covers(loc.c.namespace, loc.c.name, cov.c.namespace, cov.c.name))).scalar_subquery())
        where = json_object(scope=uri, source=cov.c.source, service=cov.c.service, region=cov.c.region,
                            harvest_run=cov.c.run_id)
        self._add(
            select(literal("unreadable_source"), uri, literal("medium"), owner, cov.c.namespace, cov.c.name,
                   cov.c.source,
                   uri + " could not be listed (" + func.coalesce(cov.c.error_kind, "error") + "): nothing in it "
                   "can be confirmed or found missing",
                   json_object(where=where, error_kind=func.coalesce(cov.c.error_kind, ""),
                               error=func.coalesce(cov.c.error, "")))
            .where(cov.c.status == "failed"),
            "kind", "subject", "severity", "asset_id", "namespace", "name", "source", "summary", "evidence")
        self._add(
            select(literal("unreadable_source"), uri + " (files)", literal("low"), owner, cov.c.namespace,
                   cov.c.name, cov.c.source,
                   uri + ": " + cast(json_length(cov.c.unreadable), String) + " file(s) or table(s) could not be read",
                   json_object(where=where, unreadable=embed(cov.c.unreadable)))
            .where(cov.c.status == "complete", json_length(cov.c.unreadable) > 0),
            "kind", "subject", "severity", "asset_id", "namespace", "name", "source", "summary", "evidence")

    # ----------------------------------------------------------------------- 5-6: applying

    def _history(self, entity_kind: str, entity_id, action: str, changes, where, actor: str = SYSTEM_ACTOR) -> None:
        """History rows for the rows ``where`` selects, written before the change they describe."""
        query = select(literal(self.at, history.c.at.type), literal(entity_kind), entity_id, literal(action),
                       literal(actor), literal("reconcile"), literal(self.run_id), changes).where(where)
        self.conn.execute(insert(history).from_select(
            ["at", "entity_kind", "entity_id", "action", "actor", "cause_kind", "cause", "changes"], query))

    def merge_findings(self) -> None:
        conn, f, c = self.conn, finding, candidate
        live = f.c.status.in_(LIVE)
        same = and_(c.c.kind == f.c.kind, c.c.subject == f.c.subject)
        finding_id = cast(f.c.finding_id, String)

        # live findings whose cause has gone resolve
        gone = and_(live, ~exists().where(same))
        self._history("finding", finding_id, "resolved", json_object(status=json_array(f.c.status, "resolved")), gone)
        self.changes["resolved"] = conn.execute(
            update(f).where(gone).values(status="resolved", resolved_at=self.at, resolved_by=self.run_id)).rowcount

        # live findings still caused: refresh what differs (a severity change is history)
        def of_candidate(column):
            return select(column).where(same).scalar_subquery()

        reseverity = and_(live, exists().where(same, c.c.severity != f.c.severity))
        self._history("finding", finding_id, "updated",
                      json_object(severity=json_array(f.c.severity, of_candidate(c.c.severity))), reseverity)
        differs = or_(
            c.c.severity != f.c.severity, c.c.summary != f.c.summary,
            cast(c.c.evidence, Text).is_distinct_from(cast(f.c.evidence, Text)),
            c.c.asset_id.is_distinct_from(f.c.asset_id), c.c.namespace.is_distinct_from(f.c.namespace),
            c.c.name.is_distinct_from(f.c.name), c.c.source.is_distinct_from(f.c.source),
            f.c.last_seen_run != self.harvest_run_id,
        )
        self.changes["updated"] = conn.execute(
            update(f).where(live, exists().where(same, differs)).values(
                severity=of_candidate(c.c.severity), summary=of_candidate(c.c.summary),
                evidence=of_candidate(c.c.evidence), asset_id=of_candidate(c.c.asset_id),
                namespace=of_candidate(c.c.namespace), name=of_candidate(c.c.name), source=of_candidate(c.c.source),
                last_seen_run=self.harvest_run_id, last_seen_at=self.seen_at)).rowcount

        # new causes open new findings
        before = conn.execute(select(func.coalesce(func.max(f.c.finding_id), 0))).scalar_one()
        conn.execute(insert(f).from_select(
            ["kind", "subject", "severity", "status", "asset_id", "namespace", "name", "source", "summary", "evidence",
             "first_seen_run", "first_seen_at", "last_seen_run", "last_seen_at"],
            select(c.c.kind, c.c.subject, c.c.severity, literal("open"), c.c.asset_id, c.c.namespace, c.c.name,
                   c.c.source, c.c.summary, c.c.evidence, literal(self.harvest_run_id),
                   literal(self.seen_at, f.c.first_seen_at.type), literal(self.harvest_run_id),
                   literal(self.seen_at, f.c.last_seen_at.type))
            .where(~exists().where(live, same)).order_by(c.c.kind, c.c.subject)))
        opened = f.c.finding_id > before  # ids grow, and no one else inserts findings under our lock
        self._history("finding", finding_id, "opened",
                      json_object(status=json_array(None, "open"), severity=json_array(None, f.c.severity)), opened)
        # (INSERT ... SELECT has no portable rowcount)
        self.changes["opened"] = conn.execute(select(func.count()).where(opened)).scalar_one()

    def update_assets(self) -> None:
        conn = self.conn
        seen = exists().where(m.c.asset_id == a.c.asset_id)
        back = and_(a.c.status == "missing", seen)
        self._history("asset", a.c.asset_id, "reappeared", json_object(status=json_array("missing", "active")), back)
        self.changes["reappeared"] = conn.execute(
            update(a).where(back).values(status="active", missing_since=None, updated_at=self.at)).rowcount

        gone = and_(a.c.status == "active", exists().where(absent.c.asset_id == a.c.asset_id))
        change = json_object(status=json_array("active", "missing"),
                             missing_since=json_array(None, self.seen_at.isoformat()))
        # an approved mass absence is the approver's change; any other absence is the reconciliation's
        approved = exists().where(absent.c.asset_id == a.c.asset_id, absent.c.source.in_(self.approved))
        if self.approved and self.decision:
            self._history("asset", a.c.asset_id, "missing", change, and_(gone, approved), actor=self.decision.by)
            self._history("asset", a.c.asset_id, "missing", change, and_(gone, ~approved))
        else:
            self._history("asset", a.c.asset_id, "missing", change, gone)
        self.changes["missing"] = conn.execute(
            update(a).where(gone).values(status="missing", missing_since=self.seen_at, updated_at=self.at)).rowcount

        # the last harvest that saw one of its datasets (an observation, not a change: no history)
        latest = (select(m.c.asset_id, func.max(m.c.last_seen_at).label("seen")).group_by(m.c.asset_id)
                  .subquery("latest"))
        self.changes["last_seen"] = conn.execute(
            update(a).where(a.c.asset_id == latest.c.asset_id, a.c.last_seen_at.is_distinct_from(latest.c.seen))
            .values(last_seen_at=latest.c.seen)).rowcount

    def record_run(self) -> Result:
        conn = self.conn
        live = counts(conn)
        status = "awaiting_approval" if any(i["decision"] == "pending" for i in self.absence.values()) else "complete"
        decision = next((i["decision"] for i in self.absence.values()), "approved" if self.approved else None)
        decided_by = self.decision.by if self.decision and decision in ("approved", "rejected") else None
        row = conn.execute(select(reconciliation_run).where(reconciliation_run.c.run_id == self.run_id)
                           ).mappings().first()
        values = {"status": status, "finished_at": self.at, "absence_decision": decision,
                  "absence_decided_by": decided_by,
                  "counts": {"findings": live, "changes": self.changes, "absence": self.absence}}
        if row is None:
            conn.execute(insert(reconciliation_run).values(run_id=self.run_id, harvest_run_id=self.harvest_run_id,
                                                           started_at=self.at, **values))
        elif any(self.changes.values()) or (row["status"], row["absence_decision"], row["absence_decided_by"]) != (
                status, decision, decided_by):
            conn.execute(update(reconciliation_run).where(reconciliation_run.c.run_id == self.run_id).values(**values))
        return Result(self.run_id, self.harvest_run_id, status, live, dict(self.changes), self.absence, self.seconds)


def _field_json(fields) -> Any:
    value = fields.c.value
    return json_object(name=value["name"].as_string(), classification=value["classification"].as_string(),
                       category=func.coalesce(value["category"].as_string(), ""),
                       reason=func.coalesce(value["reason"].as_string(), ""))


def latest_snapshot(conn: Connection) -> tuple[str, datetime] | None:
    """(run id, finished_at) of the latest complete harvest: the snapshot reconciliation compares."""
    row = conn.execute(select(harvest_run.c.run_id, harvest_run.c.finished_at)
                       .where(harvest_run.c.status == "complete")
                       .order_by(harvest_run.c.finished_at.desc(), harvest_run.c.run_id.desc()).limit(1)).first()
    return (row.run_id, row.finished_at) if row else None


def reconcile(engine: Engine, *, policy: Policy | None = None, decision: AbsenceDecision | None = None) -> Result:
    """Reconcile the current snapshot with the register, atomically. See the module docstring."""
    policy = policy or Policy()
    try:
        with engine.begin() as conn:
            exclusive(conn, "register")  # one reconciliation (or register writer) at a time
            exclusive(conn, "estate")  # and no harvest merge under our feet
            snapshot = latest_snapshot(conn)
            if snapshot is None:
                raise AdcError("nothing to reconcile: no harvest run has completed yet (run the harvest first)")
            return Reconciliation(conn, snapshot, policy, decision).run()
    except OperationalError as exc:
        if "database is locked" in str(exc):
            raise RegisterBusyError("the register is busy (another reconciliation or import holds it); "
                                    "try again when it has finished") from None
        raise


def absence_question(result: Mapping[str, Any]) -> str:
    """The Markdown body of the approval a withheld mass absence asks for (from Result.to_dict())."""
    lines = [f"Reconciliation of harvest run `{result['harvest_run_id']}` found more of a source's assets absent "
             "than its `missing_threshold` allows. Nothing has been marked missing yet.", ""]
    for source, info in result["absence"].items():
        if info["decision"] != "pending":
            continue
        lines.append(f"- source **{source}**: {info['missing']} of {info['assets']} assets ({info['share']:.0%}; "
                     f"threshold {info['threshold']:.0%})")
    lines += ["", "The assets are listed in the open *absence_withheld* finding of each source "
              "(`adc findings --kind absence_withheld --json`).", "",
              "- **Approve**: they really are gone; mark them missing (each gets a missing_asset finding).",
              "- **Reject**: the listing is wrong (an outage, a permissions change); keep them as they are. "
              "The next harvest asks again if they are still absent."]
    return "\n".join(lines)
