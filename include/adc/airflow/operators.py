"""ADC's human-in-the-loop operators: each asks people in Airflow's Required Actions and records
the answer from Airflow's own record of it.

Who answered, what and when is taken only from the event a task resumes with in
``execute_complete`` (built by Airflow from its HITL record, which users cannot write), never from
XCom or a task's state: any Airflow ``user`` can write XCom entries and mark tasks success through
the REST API. So each operator records its answer itself, checks the person's right to give it
again from the register, and passes nothing downstream that anyone reads as an answer.

Subjects and bodies are set inside ``execute`` from the register (or from XCom values that
Airflow resolves without rendering): text from AWS and from people is never a Jinja template.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.hitl import ApprovalOperator, HITLOperator
from airflow.providers.standard.triggers.hitl import HITLTrigger
from airflow.sdk import Param, ParamsDict  # type: ignore[attr-defined]  # exported, but missing from its .pyi
from airflow.sdk.exceptions import AirflowSkipException

from adc.config import load_sources
from adc.organisations import DataProtectionTeams
from adc.register.forms import TRIAGE_DAG_ID
from adc.ropa import forms

if TYPE_CHECKING:
    from adc.ropa.reviews import Question

    class AskedQuestion(Question):
        status: str  # the step's, in the register

    _Asking = HITLOperator  # what the mixin below is mixed into
else:
    _Asking = object

log = logging.getLogger(__name__)


def _register():
    from adc.register.db import register_engine  # imported when the task runs: keeps DAG parsing fast

    return register_engine()


def _teams() -> DataProtectionTeams:
    """Each organisation's data protection team (organisations.yaml), or the one team without it."""
    return DataProtectionTeams.from_env()


def _place(context) -> dict[str, Any]:
    ti = context["ti"]
    return {"dag_id": ti.dag_id, "dag_run_id": ti.run_id, "task_id": ti.task_id, "map_index": ti.map_index}


class AsksOnce(_Asking):
    """Mixin for ADC's human-in-the-loop operators (before HITLOperator in the bases): a question is
    asked once per task instance, whatever Airflow retries.

    Airflow 3.3.2 retries a task answered within a second or so of being asked (the executor's late
    "success" reads as an external state change), and asking again would clear the answer. Such a
    retry keeps its task instance id (a try after a failure of the task itself gets a new one), so a
    try whose id has asked before (noted in the register) defers to the provider's HITLTrigger on the
    request already written: it hands back the answer given, or waits for one until
    ``answer_deadline``. Parking it again would resume it at once and race again.
    """

    def answer_deadline(self, context) -> Any:
        """When an unanswered question takes its default (from the retry on): by default a full
        response time again, since the first try's deadline is Airflow's to know."""
        return datetime.now(UTC) + self.response_timeout if self.response_timeout else None

    def execute(self, context):
        # imported when the task runs: keeps DAG parsing fast
        from adc.register.questions import note_asking

        ti_id = context["ti"].id
        if note_asking(_register(), str(ti_id)):
            self.log.info("task instance %s asked already: reading its request instead of asking again", ti_id)
            # params={}: the form's values reach ADC as they were sent (ADC validates them)
            self.defer(trigger=HITLTrigger(ti_id=ti_id, options=self.options, defaults=self.defaults, params={},
                                           multiple=self.multiple, timeout_datetime=self.answer_deadline(context)),
                       method_name="execute_complete")
        return super().execute(context)


def absence_deciders(result) -> tuple[str, ...]:
    """Who may decide a withheld mass absence (adc.register.reconcile.absence_deciders)."""
    # imported when the task runs: keeps DAG parsing fast
    from adc.register.reconcile import absence_deciders as deciders

    return deciders(result, _teams(), load_sources())


def refuse_without_team(team: tuple[str, ...], what: str) -> None:
    """Only the data protection team answers ``what``: with nobody in it, ADC does not ask."""
    if not team:
        log.error("not asking %s: the data protection team that may answer it names nobody "
                  "(ADC_DATA_PROTECTION_TEAM, or organisations.yaml's data_protection people)", what)
        raise AirflowSkipException(f"the data protection team is empty: nobody may answer {what}")


class ReviewTask(AsksOnce, HITLOperator):
    """Asks the RoPA review step the register holds for this task instance's place (DAG, run, task,
    map index), and records the answer.

    ``question`` (the mapped argument, an XComArg) only marks that a review happens here; what is
    asked, and whom, comes from the register's step at this place, so a forged XCom cannot change
    either. Without a step here (the answer before needed no approval or escalation, or its task
    was ended by hand), the task is skipped.

    ADC validates the form's values when it records the answer (adc.ropa.outcomes), so they pass
    through Airflow as sent: an invalid value is recorded as a refused answer instead of failing the
    task and losing what the person said.
    """

    template_fields = ("question",)

    def __init__(self, *, question, **kwargs) -> None:
        # placeholders until the question is known: every option, so a resumed task accepts its answer
        super().__init__(subject="RoPA review", options=[o for k in forms.OPTIONS for o in forms.OPTIONS[k]],
                         params={name: Param(spec["default"], **{k: v for k, v in spec.items() if k != "default"})
                                 for name, spec in forms.FIELDS.items()}, **kwargs)
        self.question = question

    def _ask(self, context) -> AskedQuestion:
        # imported when the task runs: keeps DAG parsing fast
        from adc.ropa.reviews import question, step_at

        with _register().connect() as conn:
            step = step_at(conn, _place(context))
        if step is None:
            raise AirflowSkipException("nothing to ask here: the answer before needs no approval or escalation")
        asked: AskedQuestion = {**question(step), "status": step["status"]}
        self.question = asked
        kind = step["kind"]
        self.subject, self.body = asked["subject"], asked["body"]
        self.options, self.defaults = forms.OPTIONS[kind], forms.DEFAULTS[kind]
        self.assigned_users = asked["assigned_users"]
        self.response_timeout = asked["response_timeout"]
        self.params = ParamsDict({name: self.params.get_param(name) for name in forms.FIELDS_OF[kind]})
        return asked

    def execute(self, context):
        # imported when the task runs: keeps DAG parsing fast
        from adc.register.questions import has_asked

        asked = self._ask(context)
        if asked["status"] != "pending" and not has_asked(_register(), str(context["ti"].id)):
            raise AirflowSkipException(f"{asked['step_id']} is {asked['status']} already")
        return super().execute(context)

    def answer_deadline(self, context):
        return self.question["deadline"]  # the step's, as the register recorded it

    def validate_params_input(self, params_input) -> None:
        """Checked by ADC when recording (see the class docstring)."""

    def execute_complete(self, context, event):
        # imported when the task runs: keeps DAG parsing fast
        from adc.ropa.outcomes import Answer, record

        asked = self._ask(context)
        super().execute_complete(context, event)  # Airflow's own checks of the options
        summary = record(_register(), Answer.from_event(asked["step_id"], event), team=_teams())
        self.log.info("%s", summary)
        return summary


class TriageTask(AsksOnce, HITLOperator):
    """One finding's question to the data protection team; the answer is applied when given.

    No template fields: subject and body are data built by ADC from the register (bucket names,
    tags and descriptions from AWS and people), and Airflow renders expand_kwargs() values that are
    template fields. The form's values pass through unchecked here: adc.register.triage validates
    them, and checks again that the person is in the team and that this run asked about the finding,
    and records a refusal instead of failing inside Airflow and losing the answer.
    """

    template_fields = ()

    def __init__(self, *, finding_id: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.finding_id = finding_id

    def validate_params_input(self, params_input) -> None:
        """Checked by ADC when applying (see the class docstring)."""

    def execute_complete(self, context, event):
        # imported when the task runs: keeps DAG parsing fast
        from adc.register import triage

        super().execute_complete(context, event)  # Airflow's own checks of the options
        answer = triage.Answer.from_event(self.finding_id, event, asked_by_run=f"{TRIAGE_DAG_ID}:{context['run_id']}")
        applied = triage.apply(_register(), answer)
        self.log.info("finding %s: %s (by %s)", self.finding_id, applied["outcome"], applied["by"])
        return applied


class AbsenceApproval(AsksOnce, ApprovalOperator):
    """The mass-absence question to the data protection team; the decision is applied when given.

    ``body`` and ``result`` (the reconciliation that withheld the absence) are XComArgs: Airflow
    resolves them without rendering anything inside. The decision names the person Airflow recorded
    (or nobody, when no one answered in time and the default, Reject, applies); anyone else's
    answer is refused and the absence stays withheld.
    """

    template_fields = ("body", "result")

    def __init__(self, *, result, **kwargs) -> None:
        super().__init__(assigned_users=[], **kwargs)  # set when asking: they depend on what was withheld
        self.result = result

    def execute(self, context):
        self.assigned_users = [{"id": user, "name": user} for user in absence_deciders(self.result)]
        return super().execute(context)

    def execute_complete(self, context, event):
        # imported when the task runs: keeps DAG parsing fast
        from adc.register import reconcile

        super().execute_complete(context, event)  # Airflow's own checks of the options
        user = event.get("responded_by_user") or {}
        by = str(user["id"]) if user.get("id") is not None else None
        team = absence_deciders(self.result)
        if by is not None and by not in team:
            self.log.error("refused: %s is not in the data protection team (%s); the absence stays withheld",
                           by, ", ".join(team) or "empty")
            return {"decision": "refused", "by": by}
        approved = by is not None and event.get("chosen_options") == [self.APPROVE]
        decision = reconcile.AbsenceDecision(self.result["harvest_run_id"], approved,
                                             by or "nobody (no answer in time)")
        done = reconcile.reconcile(_register(), policy=reconcile.Policy.from_sources(), decision=decision)
        self.log.info("%s: %s by %s", done.run_id, "approved" if approved else "rejected", decision.by)
        return {"decision": "approved" if approved else "rejected", "by": decision.by, "run_id": done.run_id}
