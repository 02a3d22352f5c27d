"""The questions ADC puts to people in Airflow, noted by the task instance that asks.

Airflow gives a new task instance id to a try that follows a failure of the task itself; a try with
the id of the one that asked is a retry Airflow made on its own (a state race, see
adc.airflow.operators.AsksOnce), and its request, with any answer already given, is still there to read.
"""

from __future__ import annotations

from typing import TypedDict

from sqlalchemy import Engine, insert, select

from adc.organisations import load_organisations
from adc.register.store import now
from adc.register.tables import asked_question


class AssignedUser(TypedDict):
    """Someone a question is assigned to, as Airflow's HITL operators take them (its HITLUser)."""

    id: str
    name: str


def only_a_link() -> bool:
    """Whether a question in Airflow carries no register content, only a link to the register UI.

    Airflow shows a HITL task's subject and body (and the task's rendered fields, XCom and logs) to
    everyone who may read its DAG, whatever their organisation. So where organisations.yaml declares
    organisations, a question names only opaque ids (PA-nnn, a finding's number) and links to the
    register UI page, which shows it to those who may see it (docs/organisations.md).
    """
    return load_organisations().declared


def link_body(what: str, path: str) -> str:
    """The body of a question that carries only a link (see only_a_link)."""
    return (f"{what} is in the register: [open it]({path}). The register shows it to those who may see it; "
            "read it there, then answer here.")


def note_asking(engine: Engine, task_instance_id: str) -> bool:
    """Note that this task instance asks its question; True if it had asked already."""
    with engine.begin() as conn:
        if conn.execute(select(asked_question.c.task_instance_id)
                        .where(asked_question.c.task_instance_id == task_instance_id)).first():
            return True
        conn.execute(insert(asked_question).values(task_instance_id=task_instance_id, asked_at=now()))
    return False


def has_asked(engine: Engine, task_instance_id: str) -> bool:
    """Whether this task instance asked its question already (a retry Airflow made on its own)."""
    with engine.connect() as conn:
        return conn.execute(select(asked_question.c.task_instance_id)
                            .where(asked_question.c.task_instance_id == task_instance_id)).first() is not None
