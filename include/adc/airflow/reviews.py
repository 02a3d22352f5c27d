"""The RoPA review DAG's plain tasks: opening reviews, and settling tasks that ended unanswered."""

from __future__ import annotations

import logging

from adc.airflow.audit import task_state_changes
from adc.airflow.operators import _place, _register, _teams
from adc.ropa.forms import DAG_ID
from adc.ropa.outcomes import awaits_answer, note_unanswered
from adc.ropa.reviews import Question, issue
from adc.ropa.schedule import activity_tag_key

log = logging.getLogger(__name__)


def select(dag_run_id: str) -> list[Question]:
    """Open the reviews that are needed now; one question per review (owners, or approvals asked again)."""
    questions = issue(_register(), dag_run_id=dag_run_id, team=_teams(), tag_key=activity_tag_key(), dag_id=DAG_ID)
    log.info("asking %d question(s): %s", len(questions), ", ".join(q["step_id"] for q in questions) or "none")
    return questions


def settle(context, *, tasks: tuple[str, ...]) -> None:
    """Note every step of this review group whose task ended with no answer recorded.

    The asking task records its answer before it succeeds, so a step still pending once its task
    is done was never answered in Airflow: the task was marked success, failed or skipped by hand.
    """
    ti = context["ti"]
    waiting = [task_id for task_id in tasks if awaits_answer(_register(), {**_place(context), "task_id": task_id})]
    if not waiting:  # the usual case: every step was answered (or never asked), no need to ask Airflow
        return
    states = ti.get_task_states(dag_id=ti.dag_id, map_index=ti.map_index, task_ids=waiting,
                                run_ids=[ti.run_id]).get(ti.run_id, {})
    for task_id in waiting:
        place = {**_place(context), "task_id": task_id}
        state = states.get(f"{task_id}_{ti.map_index}", states.get(task_id))
        noted = note_unanswered(_register(), place, state=str(state) if state else None,
                                changes=task_state_changes(ti.dag_id, ti.run_id, task_id, ti.map_index))
        if noted:
            log.warning("%s[%s] ended %s without an answer; recorded no answer (changed by: %s)", task_id,
                        ti.map_index, state, noted["changed_by"] if noted["changed_by"] is not None
                        else "see Airflow's audit log")
