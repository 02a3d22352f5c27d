"""What needs a review: activities due or overdue, and those whose estate changed under them.

An activity's review window opens ``response_time`` before its next review is due, so the owner's
deadline falls on the due date; after the due date it is overdue. Independently of dates, a review
is needed when, since the last review, a linked asset gained a finding that changes what the record
should say: new special-category columns (classification_mismatch), a missing asset
(missing_asset), or an unregistered dataset tagged with the activity (unregistered_dataset with
the ``ropa:activity`` tag). Findings are read straight from the register's finding table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, select

from adc.config import TagConventions, load_sources
from adc.errors import ConfigError
from adc.register.tables import finding, observed_dataset
from adc.ropa.activities import all_activities, parse_response_time
from adc.ropa.tables import review, review_step

# Finding kinds on a linked asset that make the record possibly wrong: they open a review.
TRIGGERING_KINDS = ("classification_mismatch", "missing_asset")
# Findings still waiting for action: what a pack lists and what can open a review. (A dismissed
# finding's cause persists, but a person has decided it needs nothing.)
OPEN = ("open", "acknowledged")
# An owner step whose deadline passed this long ago without an answer was lost by Airflow (a run
# marked failed, a cleared task): it no longer holds the activity back.
LOST_AFTER = timedelta(hours=1)


@dataclass
class Candidate:
    """One activity that needs (or is in) a review, and why."""

    activity: dict[str, Any]
    reasons: list[str] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)  # open findings touching it (all kinds)
    overdue: bool = False
    window_open: bool = False
    review: dict[str, Any] | None = None  # the unfinished review, if any
    waiting_on: dict[str, Any] | None = None  # the step a person still has to answer

    @property
    def activity_id(self) -> str:
        return self.activity["activity_id"]

    @property
    def needs_asking(self) -> bool:
        """Whether a new question should go out now (nobody is already being asked)."""
        return self.waiting_on is None and bool(self.reasons or self.review)

    def to_dict(self) -> dict[str, Any]:
        a = self.activity
        return {
            "activity_id": a["activity_id"],
            "name": a["name"],
            "owner": a["owner"],
            "status": a["status"],
            "last_reviewed": a["last_reviewed"],
            "next_review_due": a["next_review_due"],
            "overdue": self.overdue,
            "reasons": self.reasons,
            "review_id": self.review["review_id"] if self.review else None,
            "review_status": self.review["status"] if self.review else None,
            "waiting_on": (
                {"step_id": self.waiting_on["step_id"], "kind": self.waiting_on["kind"],
                 "assigned_to": self.waiting_on["assigned_to"], "since": self.waiting_on["issued_at"],
                 "deadline": self.waiting_on["deadline"]}
                if self.waiting_on else None
            ),
        }


def activity_tag_key() -> str:
    """The tag naming an activity on AWS resources: sources.yaml ``tags.activity`` (ropa:activity)."""
    try:
        return load_sources().tags.activity
    except ConfigError:
        return TagConventions().activity


def activity_tag_values(value: str | None) -> set[str]:
    """The activity ids a ``ropa:activity`` tag names (one id, or several separated by commas)."""
    return {part.strip() for part in (value or "").replace(";", ",").split(",") if part.strip()}


def open_findings(conn: Connection, activities: list[dict[str, Any]], tag_key: str) -> dict[str, list[dict]]:
    """Open findings touching each activity: on its linked assets, or tagged datasets without an asset."""
    by_asset: dict[str, list[str]] = {}
    for activity in activities:
        for asset_id in activity["linked_assets"]:
            by_asset.setdefault(asset_id, []).append(activity["activity_id"])
    touching: dict[str, list[dict]] = {a["activity_id"]: [] for a in activities}
    rows = conn.execute(
        select(finding).where(finding.c.status.in_(OPEN)).order_by(finding.c.first_seen_at, finding.c.finding_id)
    ).mappings()
    unregistered = []
    for row in rows:
        item = dict(row)
        for activity_id in by_asset.get(item["asset_id"] or "", []):
            touching[activity_id].append(item)
        if item["kind"] == "unregistered_dataset" and item["namespace"] is not None:
            unregistered.append(item)
    for item in unregistered:
        tags = _current_tags(conn, item["namespace"], item["name"])
        for activity_id in activity_tag_values(tags.get(tag_key)):
            if activity_id in touching and item not in touching[activity_id]:
                touching[activity_id].append({**item, "tagged": True})
    return touching


def _current_tags(conn: Connection, namespace: str, name: str) -> dict[str, str]:
    record = conn.execute(
        select(observed_dataset.c.record).where(
            observed_dataset.c.namespace == namespace,
            observed_dataset.c.name == name,
            observed_dataset.c.valid_to.is_(None),
        )
    ).scalar()
    return dict((record or {}).get("tags") or {})


def _since(conn: Connection, activity: dict[str, Any]) -> datetime | None:
    """When the activity was last reviewed: its last completed review, else the recorded date."""
    closed = conn.execute(
        select(review.c.closed_at)
        .where(review.c.activity_id == activity["activity_id"], review.c.status == "completed")
        .order_by(review.c.closed_at.desc())
        .limit(1)
    ).scalar()
    if closed is not None:
        return closed
    if activity["last_reviewed"] is not None:
        return datetime.combine(activity["last_reviewed"], time.min, tzinfo=UTC)
    return None


def _unfinished(conn: Connection) -> dict[str, dict[str, Any]]:
    return {row["activity_id"]: dict(row) for row in conn.execute(
        select(review).where(review.c.status != "completed")).mappings()}


def _waiting_step(conn: Connection, review_id: str, at: datetime) -> dict[str, Any] | None:
    """The step of a review a person is still expected to answer (escalations do not hold it back)."""
    for step in conn.execute(
        select(review_step)
        .where(review_step.c.review_id == review_id, review_step.c.status == "pending",
               review_step.c.kind.in_(("owner", "approval")))
        .order_by(review_step.c.issued_at.desc())
    ).mappings():
        if step["ended_without_answer"]:  # its task was ended by hand: ask again
            continue
        if step["kind"] == "approval" or step["deadline"] is None or step["deadline"] + LOST_AFTER > at:
            return dict(step)
    return None


def review_window_opens(activity: dict[str, Any]) -> date:
    response = parse_response_time(activity["response_time"])
    return activity["next_review_due"] - timedelta(days=response.days)


def candidates(conn: Connection, *, today: date, at: datetime, tag_key: str = "ropa:activity") -> list[Candidate]:
    """Every activity that is due, overdue, touched by new findings, or in an unfinished review."""
    activities = all_activities(conn, include_retired=False)
    findings = open_findings(conn, activities, tag_key)
    unfinished = _unfinished(conn)
    result = []
    for activity in activities:
        item = Candidate(activity=activity, findings=findings[activity["activity_id"]])
        due = activity["next_review_due"]
        item.overdue = due < today
        item.window_open = review_window_opens(activity) <= today
        if item.overdue:
            item.reasons.append(f"overdue: the review was due on {due.isoformat()}")
        elif item.window_open:
            item.reasons.append(f"due on {due.isoformat()}")
        since = _since(conn, activity)
        for f in item.findings:
            new = since is None or f["first_seen_at"] > since
            if new and (f["kind"] in TRIGGERING_KINDS or f.get("tagged")):
                where = f["asset_id"] or f"{f['namespace']}/{f['name']}"
                item.reasons.append(f"new finding {f['kind']} on {where}: {f['summary']}")
        item.review = unfinished.get(activity["activity_id"])
        if item.review is not None:
            item.waiting_on = _waiting_step(conn, item.review["review_id"], at)
        if item.reasons or item.review:
            result.append(item)
    return result


def as_of(when: datetime | None = None) -> tuple[date, datetime]:
    """(today, now) in UTC: the day reviews are judged on and the moment they are recorded."""
    at = when or datetime.now(UTC)
    return at.astimezone(UTC).date(), at
