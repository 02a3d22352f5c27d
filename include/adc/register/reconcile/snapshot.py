"""Steps 1-3: the snapshot's coverage, which current dataset belongs to which asset, and which
assets are absent (withheld past a source's missing_threshold until a person approves)."""

from __future__ import annotations

from sqlalchemy import and_, exists, func, insert, literal, or_, select

from adc.register.reconcile.scratch import MATCH_COLUMNS, absent, alias, analyze, coverage, match
from adc.register.reconcile.state import AbsenceHeld, State
from adc.register.sqlfn import covers, json_elements
from adc.register.tables import asset, asset_location, harvest_run, harvest_scope, observed_dataset

od, a, loc, m = observed_dataset, asset, asset_location, match
PRESENT = and_(od.c.valid_to.is_(None), od.c.gone.is_(False))


class SnapshotSteps(State):
    """Steps 1-3, each filling scratch tables the later steps read."""

    def find_coverage(self) -> None:
        hs = harvest_scope
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
            analyze(self.conn, alias)  # so the planner starts from the few links, not from the estate
            self._add_symlink_matches()
        analyze(self.conn, coverage, m)

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
                self.absence[source_name] = AbsenceHeld(
                    missing=missing, assets=total, share=round(missing / total, 4), threshold=threshold,
                    decision="rejected" if self.decision else "pending",
                    decided_by=self.decision.by if self.decision else None,
                )
