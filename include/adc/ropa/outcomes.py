"""Recording review answers: who, when, which option, the comment, the evidence shown.

An answer comes from Airflow's own record of the question (the HITL response a review task
resumes with), never from XCom or a task's state: any Airflow ``user`` can write those through the
REST API. Airflow checks who may answer a task (assignment) and that the option exists; it does not
check the form's values. ADC checks everything again here before anything is used: the person's
right to answer this step (from the register, not from the task), the option, the comment, the
proposed changes (as a whole valid record), and four eyes (whoever answered the owner's step can
never approve it).

- An answer from someone with no right to answer the step is refused and leaves the step pending
  for the people who have it; the attempt is a history row.
- An answer that fails any other check is recorded as refused, with the reason, and changes
  nothing else.
- A task that ended without an answer (marked success, failed or skipped by hand) records no
  answer: ``note_unanswered`` keeps the step pending and notes what Airflow's audit log says.

Recording is idempotent: a step answers once; a second answer to it records nothing new.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeGuard

from pydantic import ValidationError
from sqlalchemy import Connection, Engine, select, update

from adc.errors import NotEntitled, ReviewRefused
from adc.organisations import DataProtectionTeams, Team
from adc.register import history
from adc.register.db import exclusive
from adc.register.history import SYSTEM_ACTOR
from adc.register.store import now
from adc.ropa import activities, reviews
from adc.ropa.activities import EDITABLE, add_months
from adc.ropa.forms import APPROVE, CHANGE, CONFIRM, DPO_TASK, ESCALATE, REJECT, RETIRE
from adc.ropa.tables import review, review_step

MAX_COMMENT = 4000


@dataclass
class Answer:
    """One answer to one review step, as Airflow recorded it."""

    step_id: str
    option: str | None
    params: dict[str, Any]
    responded_by: str | None  # None when the response time ran out
    responded_at: datetime
    timed_out: bool = False

    @classmethod
    def from_event(cls, step_id: str, event: dict[str, Any]) -> Answer:
        """From the event a review task resumes with (Airflow's HITL record of the response)."""
        user = event.get("responded_by_user") or {}
        options = event.get("chosen_options") or []
        responded_at = event.get("responded_at") or now()
        if isinstance(responded_at, str):
            responded_at = datetime.fromisoformat(responded_at)
        return cls(
            step_id=step_id,
            option=options[0] if len(options) == 1 else None,
            params=event.get("params_input") or {},
            responded_by=str(user["id"]) if user.get("id") is not None else None,
            responded_at=responded_at if responded_at.tzinfo else responded_at.replace(tzinfo=UTC),
            timed_out=bool(event.get("timedout")) or not user,
        )


def record(engine: Engine, answer: Answer, *, team: Team) -> dict[str, Any]:
    """Record one answer and act on it; returns a summary for the task log. The data protection team
    is the reviewed activity's organisation's (``team``: docs/organisations.md)."""
    with engine.begin() as conn:
        exclusive(conn, "ropa")
        found = conn.execute(select(review_step).where(review_step.c.step_id == answer.step_id)).mappings().first()
        if found is None:
            raise ReviewRefused(f"no review step {answer.step_id} in this register (is ADC_REGISTER_URL the same "
                                "for every task?)")
        step = dict(found)
        current = dict(conn.execute(select(review).where(review.c.review_id == step["review_id"])).mappings().one())
        summary = {"step_id": step["step_id"], "review_id": step["review_id"], "activity_id": current["activity_id"],
                   "kind": step["kind"], "by": answer.responded_by}
        if step["status"] != "pending":
            return {**summary, "result": "already recorded", "status": step["status"]}
        handler = {"owner": _owner, "approval": _approval, "escalation": _escalation}[step["kind"]]
        activity_team = DataProtectionTeams.given(team).of(reviews.reviewed_activity(conn, current)["organisation"])
        try:
            result = handler(conn, step, current, answer, activity_team)
        except NotEntitled as refusal:
            _attempted(conn, step, answer, str(refusal))
            return {**summary, "result": "refused", "reason": str(refusal), "status": "pending"}
        except ReviewRefused as refusal:
            _refuse(conn, step, answer, str(refusal))
            return {**summary, "result": "refused", "reason": str(refusal)}
        return {**summary, "result": result}


def follow_up(engine: Engine, step_id: str) -> reviews.Question | None:
    """The question the answer to ``step_id`` called for (approval or escalation), or None."""
    with engine.connect() as conn:
        return reviews.follow_up(conn, step_id)


def _unsettled(step: dict[str, Any] | None) -> TypeGuard[dict[str, Any]]:
    """A step still waiting for its answer whose task's end has not been noted yet."""
    return step is not None and step["status"] == "pending" and not step["ended_without_answer"]


def awaits_answer(engine: Engine, place: dict[str, Any]) -> bool:
    """Whether the step asked at ``place`` is still waiting for an answer (and not noted as ended)."""
    with engine.connect() as conn:
        return _unsettled(reviews.step_at(conn, place))


def note_unanswered(engine: Engine, place: dict[str, Any], *, state: str | None,
                    changes: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    """The task at ``place`` ended without an answer: keep its step pending and say so.

    ``changes`` are the state changes Airflow's audit log holds for the task (who, when, what), or
    None when ADC could not read it. The step no longer holds its review back, so the next run
    asks again. Returns what was noted, or None when nothing was waiting there.
    """
    with engine.begin() as conn:
        exclusive(conn, "ropa")
        step = reviews.step_at(conn, place)
        if not _unsettled(step):
            return None
        note = {"task": f"{place['task_id']}[{place['map_index']}]", "state": state, "answer": None,
                "changed_by": changes, "noted_at": now().isoformat()}
        conn.execute(update(review_step).where(review_step.c.step_id == step["step_id"])
                     .values(ended_without_answer=note))
        history.record(conn, entity_kind="review", entity_id=step["review_id"], action="task ended without an answer",
                       actor=SYSTEM_ACTOR, cause_kind="review", cause=step["step_id"],
                       changes={"ended_without_answer": [None, note]}, at=now())
        return note


def _next_place(step: dict) -> dict[str, Any]:
    """Where the follow-up of a step is asked: the DPO question of the same review group instance."""
    return {"dag_id": step["dag_id"], "dag_run_id": step["dag_run_id"], "task_id": DPO_TASK,
            "map_index": step["map_index"]}


# --------------------------------------------------------------------------- the owner's answer


def _owner(conn: Connection, step: dict, current: dict, answer: Answer, team: tuple[str, ...]) -> str:
    if answer.timed_out:
        _answered(conn, step, answer, status="timed_out")
        reason = f"no answer from {', '.join(step['assigned_to'])} within the response time"
        _set_review(conn, current["review_id"], {"status": "escalated"}, action="escalated", actor=SYSTEM_ACTOR,
                    at=answer.responded_at)
        reviews.ask_escalation(conn, current, {**step, "comment": None}, team=team, at=now(), reason=reason,
                               place=_next_place(step))
        return "escalated"
    by = _check_responder(step, answer, team)
    activity = reviews.reviewed_activity(conn, current)
    comment, changes = _owner_form(answer, activity)
    _answered(conn, step, answer, status="answered", comment=comment, changes=changes)
    owner_step = {**step, "answered_by": by, "option": answer.option, "comment": comment}
    if answer.option == CONFIRM:
        _complete(conn, current, activity, outcome="confirmed", answered_by=by, approved_by=None,
                  applied={}, day=answer.responded_at.date())
        return "confirmed"
    if answer.option == ESCALATE:
        _set_review(conn, current["review_id"], {"status": "escalated", "answered_by": by},
                    action="escalated", actor=by, at=answer.responded_at)
        reviews.ask_escalation(conn, current, owner_step, team=team, at=now(),
                               reason=f"{by} chose to escalate", place=_next_place(step))
        return "escalated"
    proposed = {"status": "retired"} if answer.option == RETIRE else changes
    _set_review(conn, current["review_id"],
                {"status": "awaiting_approval", "answered_by": by, "proposed_changes": proposed},
                action="proposed", actor=by, at=answer.responded_at)
    current = {**current, "status": "awaiting_approval", "answered_by": by, "proposed_changes": proposed}
    reviews.ask_approval(conn, current, owner_step, team=team, at=now(), place=_next_place(step))
    return "awaiting_approval"


def _owner_form(answer: Answer, activity: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The comment and the proposed changes, checked; ReviewRefused says what is wrong."""
    comment = _comment(answer.params)
    changes = _proposed_changes(answer.params.get("proposed_changes"), activity)
    option = answer.option
    if option not in (CONFIRM, CHANGE, RETIRE, ESCALATE):
        raise ReviewRefused(f"option {option!r} is not one of {CONFIRM}, {CHANGE}, {RETIRE}, {ESCALATE}")
    if option != CONFIRM and not comment:
        raise ReviewRefused(f"{option} needs a comment saying why")
    if option == CHANGE and not changes:
        raise ReviewRefused(f"{CHANGE} needs at least one proposed change that differs from the record "
                            '(e.g. {"retention_schedule": "RS-07 (3 years)"})')
    if option in (CONFIRM, RETIRE, ESCALATE) and changes:
        raise ReviewRefused(f"{option} cannot carry proposed changes; choose {CHANGE} to propose them")
    return comment, changes


def _comment(params: dict[str, Any]) -> str:
    unexpected = sorted(set(params) - {"comment", "proposed_changes"})
    if unexpected:
        raise ReviewRefused(f"unexpected form field(s): {', '.join(unexpected)}")
    comment = params.get("comment")
    if comment is None:
        return ""
    if not isinstance(comment, str):
        raise ReviewRefused("the comment must be text")
    if len(comment) > MAX_COMMENT:
        raise ReviewRefused(f"the comment is longer than {MAX_COMMENT} characters")
    return comment.strip()


def _proposed_changes(value: Any, activity: dict[str, Any]) -> dict[str, Any]:
    """Proposed changes as a valid record would hold them, without those that change nothing."""
    if value is None or value == "" or value == {}:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ReviewRefused(f"proposed changes are not valid JSON: {exc.msg} at position {exc.pos}") from None
    if not isinstance(value, dict):
        raise ReviewRefused('proposed changes must be a JSON object such as {"retention_schedule": "RS-07"}')
    if "status" in value:
        raise ReviewRefused(f"status is not changed by a proposal: choose {RETIRE} to retire the activity")
    unknown = sorted(k for k in value if k not in EDITABLE)
    if unknown:
        raise ReviewRefused(f"not a field a review can change: {', '.join(map(str, unknown))} "
                            f"(fields: {', '.join(EDITABLE[:5])}, ... as shown in the record)")
    try:
        proposed = activities.revised(activity, value).model_dump()
    except ValidationError as exc:
        raise ReviewRefused("proposed changes: " + activities.describe_errors(exc)) from None
    return {k: proposed[k] for k in value if history.diff({k: activity[k]}, {k: proposed[k]})}


# --------------------------------------------------------------------------- the second pair of eyes


def _approval(conn: Connection, step: dict, current: dict, answer: Answer, team: tuple[str, ...]) -> str:
    if answer.responded_by is not None and answer.responded_by == current["answered_by"]:
        raise NotEntitled(f"four eyes: {answer.responded_by} proposed this and cannot also approve it")
    by = _check_responder(step, answer)
    if by not in team:
        raise NotEntitled(f"{by} is not in the data protection team ({', '.join(team) or 'empty'})")
    comment = _comment(answer.params)
    if answer.option not in (APPROVE, REJECT):
        raise ReviewRefused(f"option {answer.option!r} is not one of {APPROVE}, {REJECT}")
    if answer.option == REJECT and not comment:
        raise ReviewRefused(f"{REJECT} needs a comment saying why")
    activity_id = current["activity_id"]
    proposed = current["proposed_changes"] or {}
    applied: dict[str, list[Any]] = {}
    if answer.option == APPROVE:
        retiring = proposed.get("status") == "retired"
        try:
            applied = activities.change(conn, activity_id, proposed, action="retired" if retiring else "updated",
                                        actor=by, cause_kind="review", cause=current["review_id"])
        except ValueError as exc:
            raise ReviewRefused(f"the proposal no longer makes a valid record: {exc}") from None
    _answered(conn, step, answer, status="answered", comment=comment)
    outcome = ("retired" if proposed.get("status") == "retired" else "changed") if answer.option == APPROVE \
        else "changes_rejected"
    _complete(conn, current, reviews.reviewed_activity(conn, current), outcome=outcome,
              answered_by=current["answered_by"], approved_by=by, applied=applied, day=answer.responded_at.date())
    return outcome


def _escalation(conn: Connection, step: dict, current: dict, answer: Answer, team: tuple[str, ...]) -> str:
    by = _check_responder(step, answer, team)
    comment = _comment(answer.params)
    _answered(conn, step, answer, status="answered", comment=comment)
    history.record(conn, entity_kind="review", entity_id=current["review_id"], action="escalation acknowledged",
                   actor=by, cause_kind="review", cause=step["step_id"],
                   changes={"comment": [None, comment]} if comment else None, at=answer.responded_at)
    return "acknowledged"


# --------------------------------------------------------------------------- writes


def _check_responder(step: dict, answer: Answer, team: tuple[str, ...] = ()) -> str:
    """Who answered: someone asked this step (the register says whom), or in the data protection team."""
    if answer.responded_by is None:
        raise NotEntitled("no one answered")
    if answer.responded_by not in (*step["assigned_to"], *team):
        raise NotEntitled(f"{answer.responded_by} is not assigned this task ({', '.join(step['assigned_to'])})")
    return answer.responded_by


def _attempted(conn: Connection, step: dict, answer: Answer, reason: str) -> None:
    """An answer by someone with no right to give it: the step stays pending for those who have it."""
    history.record(conn, entity_kind="review", entity_id=step["review_id"], action="answer refused",
                   actor=answer.responded_by or SYSTEM_ACTOR, cause_kind="review", cause=step["step_id"],
                   changes={"refusal": [None, reason], "option": [None, answer.option]}, at=now())


def _answered(conn: Connection, step: dict, answer: Answer, *, status: str, comment: str | None = None,
              changes: dict | None = None, refusal: str | None = None) -> None:
    conn.execute(update(review_step).where(review_step.c.step_id == step["step_id"]).values(
        status=status, answered_by=answer.responded_by, answered_at=answer.responded_at, option=answer.option,
        comment=comment, proposed_changes=changes, refusal=refusal, recorded_at=now()))


def _refuse(conn: Connection, step: dict, answer: Answer, reason: str) -> None:
    """Keep what was sent, as sent (within bounds), and why it was not accepted."""
    raw = answer.params.get("comment")
    given = answer.params.get("proposed_changes")
    _answered(conn, step, answer, status="refused", refusal=reason,
              comment=raw[:MAX_COMMENT] if isinstance(raw, str) else None,
              changes=given if isinstance(given, dict) else ({"as_sent": str(given)[:MAX_COMMENT]} if given else None))
    history.record(conn, entity_kind="review", entity_id=step["review_id"], action="answer refused",
                   actor=answer.responded_by or SYSTEM_ACTOR, cause_kind="review", cause=step["step_id"],
                   changes={"refusal": [None, reason]}, at=now())


def _set_review(conn: Connection, review_id: str, values: dict[str, Any], *, action: str, actor: str,
                at: datetime) -> None:
    before = dict(conn.execute(select(review).where(review.c.review_id == review_id)).mappings().one())
    conn.execute(update(review).where(review.c.review_id == review_id).values(**values))
    history.record(conn, entity_kind="review", entity_id=review_id, action=action, actor=actor,
                   cause_kind="review", cause=review_id, changes=history.diff(before, values), at=at)


def _complete(conn: Connection, current: dict, activity: dict, *, outcome: str, answered_by: str,
              approved_by: str | None, applied: dict, day: date) -> None:
    """Close the cycle: the review's outcome, and the record's review dates and sign-off (with history)."""
    signed_off_by = approved_by or answered_by
    activities.change(
        conn, activity["activity_id"],
        {"last_reviewed": day, "next_review_due": add_months(day, activity["review_frequency_months"]),
         "status": "retired" if outcome == "retired" else "active", "approved_by": signed_off_by},
        action="reviewed", actor=signed_off_by, cause_kind="review", cause=current["review_id"])
    _set_review(conn, current["review_id"],
                {"status": "completed", "closed_at": now(), "outcome": outcome, "answered_by": answered_by,
                 "approved_by": approved_by, "applied_changes": applied or None},
                action="completed", actor=signed_off_by, at=now())
