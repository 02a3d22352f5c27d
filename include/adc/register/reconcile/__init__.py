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

The modules: state (the policy, a person's decision, the result, and what the steps share),
scratch (the temporary tables the steps hand each other), snapshot (1-3), candidates (4, one builder
per finding kind), merge (5-6, and the run's record). ``Reconciliation`` puts the steps together.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import OperationalError

from adc.config import SourcesFile
from adc.errors import AdcError, RegisterBusyError
from adc.organisations import DataProtectionTeams
from adc.register.db import exclusive
from adc.register.questions import link_body, only_a_link
from adc.register.reconcile import scratch
from adc.register.reconcile.candidates import CandidateBuilders
from adc.register.reconcile.merge import MergeSteps
from adc.register.reconcile.snapshot import SnapshotSteps
from adc.register.reconcile.state import AbsenceDecision, Policy, Result, ResultDict
from adc.register.tables import harvest_run

__all__ = ["AbsenceDecision", "Policy", "Reconciliation", "Result", "absence_question", "latest_snapshot",
           "reconcile"]

log = logging.getLogger(__name__)


class Reconciliation(SnapshotSteps, CandidateBuilders, MergeSteps):
    """One reconciliation inside one transaction. ``run()`` calls the steps in order; tests inject
    failures into a step to prove the transaction leaves nothing behind."""

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
        scratch.create(self.conn)

    def drop_scratch(self) -> None:
        scratch.drop(self.conn)


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


def absence_deciders(result: ResultDict, teams: DataProtectionTeams, sources: SourcesFile) -> tuple[str, ...]:
    """Who may decide a withheld mass absence: the people on the data protection team of every
    withheld source's organisation (a sealed unit's absence only its own team may see, and decide)."""
    organisation = {s.name: s.organisation for s in sources.sources}
    withheld = [name for name, held in result["absence"].items() if held["decision"] == "pending"]
    if not withheld:
        return ()
    first, *others = (teams.of(organisation.get(name)) for name in withheld)
    return tuple(user for user in first if all(user in team for team in others))


def absence_question(result: ResultDict) -> str:
    """The Markdown body of the approval a withheld mass absence asks for (from Result.to_dict()). Where
    organisations are declared it names no source: only a link (register.questions.only_a_link)."""
    if only_a_link():
        return link_body("Reconciliation withheld a mass absence: each source's open absence_withheld finding",
                         "/adc/findings?kind=absence_withheld")
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
