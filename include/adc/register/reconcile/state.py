"""What one reconciliation takes (a snapshot, the policy, a person's decision), keeps while its steps
run, and gives back."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, TypedDict

from sqlalchemy import Connection

from adc.config import SourcesFile, TagConventions, load_sources
from adc.register.store import now

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.25


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


class AbsenceHeld(TypedDict):
    """A source's mass absence that reconciliation withheld: how many of its assets, and the decision."""

    missing: int
    assets: int
    share: float
    threshold: float
    decision: Literal["pending", "rejected"]
    decided_by: str | None


class ResultDict(TypedDict):
    """A reconciliation's summary as it travels to the approval task (XCom) and the CLI's --json."""

    run_id: str
    harvest_run_id: str
    status: str
    findings: dict[str, dict[str, int]]
    changes: dict[str, int]
    absence: dict[str, AbsenceHeld]
    seconds: dict[str, float]


@dataclass
class Result:
    run_id: str
    harvest_run_id: str
    status: str  # complete, awaiting_approval
    findings: dict[str, dict[str, int]]  # live (open, acknowledged) findings: {kind: {severity: n}}
    changes: dict[str, int]  # what this call changed (all zero when the register was already reconciled)
    absence: dict[str, AbsenceHeld]  # withheld mass absences by source
    seconds: dict[str, float] = field(default_factory=dict)  # time per step

    @property
    def changed(self) -> bool:
        return any(self.changes.values())

    @property
    def approval_needed(self) -> bool:
        return any(a["decision"] == "pending" for a in self.absence.values())

    def to_dict(self) -> ResultDict:
        return ResultDict(run_id=self.run_id, harvest_run_id=self.harvest_run_id, status=self.status,
                          findings=self.findings, changes=self.changes, absence=self.absence, seconds=self.seconds)


class State:
    """One reconciliation's inputs and what its steps learn on the way, shared by the steps of each
    module (snapshot, candidates, merge) inside one transaction."""

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
        self.absence: dict[str, AbsenceHeld] = {}
        self.seconds: dict[str, float] = {}  # per step, for the log and the benchmark
        self.linked = 0  # current datasets' symlinks (a Glue table's S3 location)
        self.approved: list[str] = []  # sources whose mass absence a person approved
