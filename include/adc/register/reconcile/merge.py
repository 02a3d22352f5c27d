"""Steps 5-6, applying: candidates become findings, assets go missing or come back, and the run is
recorded; every change is a history row, written before the change it describes."""

from __future__ import annotations

from sqlalchemy import String, Text, and_, cast, exists, func, insert, literal, or_, select, update

from adc.register import LIVE
from adc.register.findings import counts
from adc.register.history import SYSTEM_ACTOR
from adc.register.reconcile.scratch import absent, candidate, match
from adc.register.reconcile.state import Result, State
from adc.register.sqlfn import json_array, json_object
from adc.register.tables import asset, finding, history, reconciliation_run

a, m = asset, match


class MergeSteps(State):
    """Steps 5-6 and the run's record."""

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
