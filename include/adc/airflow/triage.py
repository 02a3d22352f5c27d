"""The triage DAG's plain task: the questions to put to the data protection team."""

from __future__ import annotations

import logging

from adc.airflow.operators import _register, _teams, refuse_without_team
from adc.register import triage
from adc.register.triage import Question

log = logging.getLogger(__name__)


def questions(asked_by_run: str) -> list[Question]:
    """One question per new high-severity finding, assigned to its organisation's data protection team."""
    teams = _teams()
    refuse_without_team(teams.of(None), "triage questions")  # the department's: who acts on all not sealed
    asked = triage.requests(_register(), asked_by_run=asked_by_run, team=teams)
    log.info("asking about %d finding(s): %s", len(asked), [q["finding_id"] for q in asked])
    return asked
