"""Review cycles and the questions they put to people.

``issue`` opens a review for each activity that needs one (one review per activity per cycle,
id ``<activity>/<due date>``) and asks its owner; it also asks again where an earlier question
ended without a decision (refused, escalated, lost). The DPO's approval and escalation questions
are asked by ``ask_approval`` and ``ask_escalation`` when an owner's answer is recorded.

Every question is a ``review_step`` row holding the pack shown and its SHA-256, and becomes one
human-in-the-loop task in Airflow: the first question of a review is ``review.question`` at the
review's map index, the approval or escalation it leads to is ``review.dpo_question`` at the same
index. ``question`` turns a step into the task's argument. Issuing is idempotent per DAG run: a
retried task gets the same questions back, in the same order.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any, TypedDict

from sqlalchemy import ColumnElement, Connection, Engine, RowMapping, func, insert, select, update

from adc.errors import AdcError
from adc.organisations import DataProtectionTeams, Team
from adc.register import history
from adc.register.db import exclusive
from adc.register.history import SYSTEM_ACTOR
from adc.register.questions import AssignedUser, link_body, only_a_link
from adc.register.store import EVERYTHING
from adc.ropa import activities, packs
from adc.ropa.forms import DAG_ID, QUESTION_TASK, RETIRE
from adc.ropa.schedule import Candidate, as_of, candidates
from adc.ropa.tables import processing_activity, review, review_step


class Question(TypedDict):
    """A review step as the argument of its task (an XCom value): what ``question`` builds."""

    step_id: str
    kind: str  # owner, approval or escalation
    review_label: str  # the task's label in the UI
    subject: str
    body: str  # the review pack
    assigned_users: list[AssignedUser]
    response_timeout: timedelta | None
    deadline: datetime | None


def issue(
    engine: Engine, *, dag_run_id: str, team: Team, when: datetime | None = None,
    tag_key: str = "ropa:activity", dag_id: str = DAG_ID,
) -> list[Question]:
    """Open reviews and ask owners (and re-ask approvers) for everything that needs it now. Each
    activity's data protection team is its organisation's (``team``: docs/organisations.md).

    Returns the questions, one per review, in map order: the arguments of the mapped review group.
    """
    teams = DataProtectionTeams.given(team)
    today, at = as_of(when)
    with engine.begin() as conn:
        exclusive(conn, "ropa")
        asked = questions(conn, dag_run_id)
        if asked:
            return asked
        for item in candidates(conn, today=today, at=at, tag_key=tag_key):
            if not item.needs_asking:
                continue
            place = {"dag_id": dag_id, "dag_run_id": dag_run_id, "task_id": QUESTION_TASK,
                     "map_index": _next_map_index(conn, dag_run_id)}
            current = item.review or open_review(conn, item, at=at)
            activity_team = teams.of(item.activity["organisation"])
            if current["status"] == "awaiting_approval":
                owner_step = _last_answered_owner_step(conn, current["review_id"])
                ask_approval(conn, current, owner_step, team=activity_team, at=at, place=place)
            else:
                ask_owner(conn, current, item, team=activity_team, at=at, place=place)
        return questions(conn, dag_run_id)


def _next_map_index(conn: Connection, dag_run_id: str) -> int:
    return conn.execute(select(func.count()).select_from(review_step).where(
        review_step.c.dag_run_id == dag_run_id, review_step.c.task_id == QUESTION_TASK)).scalar_one()


def open_review(conn: Connection, item: Candidate, *, at: datetime) -> dict[str, Any]:
    """Start a review cycle: the review row, and the activity marked under review (with history)."""
    activity = item.activity
    base = f"{activity['activity_id']}/{activity['next_review_due'].isoformat()}"
    taken = set(conn.execute(select(review.c.review_id).where(review.c.review_id.like(f"{base}%"))).scalars())
    review_id = next(rid for n in range(1, len(taken) + 2) if (rid := base if n == 1 else f"{base}/{n}") not in taken)
    row = {"review_id": review_id, "activity_id": activity["activity_id"], "cycle_due": activity["next_review_due"],
           "status": "open", "reasons": item.reasons, "opened_at": at}
    conn.execute(insert(review).values(**row))
    history.record(conn, entity_kind="review", entity_id=review_id, action="opened", actor=SYSTEM_ACTOR,
                   cause_kind="review", cause=review_id, changes={"reasons": [None, item.reasons]}, at=at)
    activities.change(conn, activity["activity_id"], {"status": "under_review"}, action="review opened",
                      actor=SYSTEM_ACTOR, cause_kind="review", cause=review_id)
    activity["status"] = "under_review"
    return {**row, "outcome": None, "answered_by": None, "approved_by": None, "note": None}


def ask_owner(
    conn: Connection, current: dict[str, Any], item: Candidate, *, team: tuple[str, ...], at: datetime,
    place: dict[str, Any],
) -> dict[str, Any]:
    """Ask the activity's owner to review it (superseding an earlier question Airflow lost)."""
    activity = item.activity
    review_id = current["review_id"]
    conn.execute(update(review_step).where(review_step.c.review_id == review_id, review_step.c.kind == "owner",
                                           review_step.c.status == "pending").values(status="superseded"))
    deadline = at + activities.parse_response_time(activity["response_time"])
    pack = packs.owner_pack(conn, activity, review_id=review_id, reasons=item.reasons, findings=item.findings,
                            deadline=deadline, team=team)
    return _add_step(conn, review_id, "owner", assigned=[activity["owner"]], follows=None, at=at, deadline=deadline,
                     subject=f"Review {activity['activity_id']} {activity['name']}: {_short_reason(item, current)}",
                     pack=pack.text, marking=pack.marking, place=place)


def ask_approval(
    conn: Connection, current: dict[str, Any], owner_step: dict[str, Any], *, team: tuple[str, ...], at: datetime,
    place: dict[str, Any],
) -> dict[str, Any] | None:
    """Ask the data protection team, except the person who answered, to approve a change or retirement.

    Without anyone eligible the review waits, with a note saying why (the next run asks again).
    """
    answered_by = owner_step["answered_by"]
    approvers = [user for user in team if user != answered_by]
    if not approvers:
        _note(conn, current["review_id"], f"no one in the data protection team other than {answered_by} can "
                                          "approve (set ADC_DATA_PROTECTION_TEAM)", at)
        return None
    activity = reviewed_activity(conn, current)
    proposed = current["proposed_changes"] or {}
    pack = packs.approval_pack(
        activity, review_id=current["review_id"], option=owner_step["option"], answered_by=answered_by,
        comment=owner_step["comment"] or "", owner_pack_sha256=owner_step["pack_sha256"],
        changes={k: [activity.get(k), v] for k, v in proposed.items() if k != "status"},
    )
    verb = "retire" if owner_step["option"] == RETIRE else "change"
    return _add_step(conn, current["review_id"], "approval", assigned=approvers, follows=owner_step["step_id"], at=at,
                     deadline=None, pack=pack, place=place,
                     subject=f"Approve: {answered_by} proposes to {verb} {activity['activity_id']} {activity['name']}")


def ask_escalation(
    conn: Connection, current: dict[str, Any], owner_step: dict[str, Any], *, team: tuple[str, ...], at: datetime,
    reason: str, place: dict[str, Any],
) -> dict[str, Any] | None:
    """Tell the data protection team that an owner did not (or could not) answer."""
    if not team:
        _note(conn, current["review_id"], "escalated, but ADC_DATA_PROTECTION_TEAM names no one to tell", at)
        return None
    activity = reviewed_activity(conn, current)
    pack = packs.escalation_pack(activity, review_id=current["review_id"], owner=activity["owner"],
                                 deadline=owner_step["deadline"], reason=reason, comment=owner_step["comment"])
    return _add_step(conn, current["review_id"], "escalation", assigned=list(team), follows=owner_step["step_id"],
                     at=at, deadline=None, pack=pack, place=place,
                     subject=f"Escalated: review of {activity['activity_id']} {activity['name']} ({reason})")


def reviewed_activity(conn: Connection, current: Mapping[str, Any]) -> dict[str, Any]:
    """The activity a review is of (the review's foreign key holds it in the register)."""
    activity = activities.get(conn, current["activity_id"])
    if activity is None:
        raise AdcError(f"review {current['review_id']}: no activity {current['activity_id']} in the register")
    return activity


def _add_step(
    conn: Connection, review_id: str, kind: str, *, assigned: list[str], follows: str | None, at: datetime,
    deadline: datetime | None, subject: str, pack: str, place: dict[str, Any], marking: str | None = None,
) -> dict[str, Any]:
    """A new question (step); ``place`` says where Airflow asks it: dag_id, dag_run_id, task_id, map_index."""
    attempt = 1 + (conn.execute(select(func.max(review_step.c.attempt)).where(
        review_step.c.review_id == review_id, review_step.c.kind == kind)).scalar() or 0)
    row = {
        "step_id": f"{review_id}/{kind}/{attempt}", "review_id": review_id, "kind": kind, "attempt": attempt,
        "follows": follows, "assigned_to": assigned, "subject": subject[:500], "pack": pack,
        "pack_sha256": packs.sha256(pack), "issued_at": at, "deadline": deadline, "dag_id": place["dag_id"],
        "dag_run_id": place["dag_run_id"], "task_id": place["task_id"], "map_index": place["map_index"],
        "status": "pending", "marking": marking,
    }
    conn.execute(insert(review_step).values(**row))
    return row


def _note(conn: Connection, review_id: str, note: str, at: datetime) -> None:
    conn.execute(update(review).where(review.c.review_id == review_id).values(note=note))
    history.record(conn, entity_kind="review", entity_id=review_id, action="note", actor=SYSTEM_ACTOR,
                   cause_kind="review", cause=review_id, changes={"note": [None, note]}, at=at)


def _short_reason(item: Candidate, current: dict[str, Any]) -> str:
    due: date = item.activity["next_review_due"]
    if current["status"] == "escalated":
        return "escalated, asked again"
    if item.overdue:
        return f"overdue since {due.isoformat()}"
    if item.window_open:
        return f"due {due.isoformat()}"
    if any(reason.startswith("new finding") for reason in item.reasons):
        return "the estate changed"
    return "asked again"


def _last_answered_owner_step(conn: Connection, review_id: str) -> dict[str, Any]:
    return dict(conn.execute(
        select(review_step).where(review_step.c.review_id == review_id, review_step.c.kind == "owner",
                                  review_step.c.status == "answered")
        .order_by(review_step.c.attempt.desc()).limit(1)).mappings().one())


def question(row: Mapping[str, Any] | RowMapping) -> Question:
    """One step (joined with its activity) as a review task's question.

    Subject and body travel as XCom values: Airflow never renders them as templates. Where
    organisations are declared they carry only the activity's id and a link (questions.only_a_link).
    """
    linked = only_a_link()
    return {
        "step_id": row["step_id"],
        "kind": row["kind"],
        "review_label": row["activity_id"] if linked else f"{row['activity_id']} {row['name']}"[:200],
        "subject": f"RoPA review of {row['activity_id']}: {row['kind']}" if linked else row["subject"],
        "body": link_body("The review pack", f"/adc/evidence/{row['step_id']}") if linked else row["pack"],
        "assigned_users": [{"id": user, "name": user} for user in row["assigned_to"]],
        "response_timeout": row["deadline"] - row["issued_at"] if row["deadline"] else None,
        "deadline": row["deadline"],
    }


def questions(conn: Connection, dag_run_id: str) -> list[Question]:
    """The first questions of one DAG run's review groups, in map order."""
    query = _steps_with_activity().where(review_step.c.dag_run_id == dag_run_id,
                                         review_step.c.task_id == QUESTION_TASK)
    return [question(row) for row in conn.execute(query.order_by(review_step.c.map_index)).mappings()]


def follow_up(conn: Connection, step_id: str) -> Question | None:
    """The question an answer called for (an approval or an escalation), if any."""
    query = _steps_with_activity().where(review_step.c.follows == step_id)
    row = conn.execute(query.order_by(review_step.c.attempt.desc()).limit(1)).mappings().first()
    return question(row) if row else None


def step_at(conn: Connection, place: dict[str, Any]) -> dict[str, Any] | None:
    """The step asked at ``place`` (dag_id, dag_run_id, task_id, map_index), joined with its activity.

    A review task finds its question here, in the register, never in XCom (which any Airflow
    ``user`` can write): the step says what to ask and whom.
    """
    query = _steps_with_activity().where(*(review_step.c[key] == place[key]
                                           for key in ("dag_id", "dag_run_id", "task_id", "map_index")))
    row = conn.execute(query.order_by(review_step.c.attempt.desc()).limit(1)).mappings().first()
    return dict(row) if row else None


def _steps_with_activity():
    pa = processing_activity
    return (select(review_step, pa.c.activity_id, pa.c.name)
            .join(review, review.c.review_id == review_step.c.review_id)
            .join(pa, pa.c.activity_id == review.c.activity_id))


def list_reviews(conn: Connection, *, activity_id: str | None = None, unfinished: bool = False,
                 visible: ColumnElement[bool] = EVERYTHING) -> list[dict]:
    """Reviews ``visible`` keeps (adc.visibility.reviews for a person's view; by default every one), newest
    first, each with its steps (the evidence as a hash; the pack via the step)."""
    query = select(review).where(visible).order_by(review.c.opened_at.desc(), review.c.review_id)
    if activity_id:
        query = query.where(review.c.activity_id == activity_id)
    if unfinished:
        query = query.where(review.c.status != "completed")
    result = []
    for row in conn.execute(query).mappings():
        steps = conn.execute(
            select(*[c for c in review_step.c if c.name != "pack"])
            .where(review_step.c.review_id == row["review_id"]).order_by(review_step.c.issued_at, review_step.c.step_id)
        ).mappings()
        result.append({**row, "steps": [dict(s) for s in steps]})
    return result
