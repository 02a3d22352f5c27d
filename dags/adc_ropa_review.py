"""
### RoPA review: the periodic review of the Record of Processing Activities

Every day (and after each reconciliation), selects the processing activities that are due or
overdue for review, or whose linked assets gained findings since their last review (new
special-category columns, a missing asset, an unregistered dataset tagged with the activity), and
asks each activity's owner in **Required Actions**: *Confirm accurate*, *Needs changes*, *Retire
activity* or *Escalate to the DPO*, with a review pack built from the register.

- *Needs changes* and *Retire activity* go to a second approval by the data protection team
  (`ADC_DATA_PROTECTION_TEAM`), never to the person who proposed them.
- No answer within the activity's response time: the review is recorded as escalated and the
  data protection team gets an escalation task.
- Every answer is recorded in the register with who, when, the option, the comment and the pack
  shown (with its SHA-256); invalid answers are recorded as refused and change nothing.

Review packs and subjects are built inside tasks and passed as XCom values, so Airflow never
renders text from AWS or from people as a template. See docs/ropa.md.
"""

from __future__ import annotations

from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import CronTriggerTimetable, Param, TriggerRule, dag, task

from adc.airflow_bridge import DEFAULT_ARGS
from adc.ropa import forms


class ReviewTask(HITLOperator):
    """One review question to a person (owner, approver or escalation), identified by its step.

    No template fields: the subject and body are data built by ADC from the register (names, tags
    and comments that came from AWS and from people). Airflow renders the values of expand_kwargs()
    as templates (a "{{ conn.aws_default.password }}" in a comment would otherwise be expanded into
    the secret), so this task renders nothing.

    ADC validates the form's values when it records the answer (adc.ropa.outcomes), so they pass
    through here as sent: an invalid value is recorded as a refused answer instead of failing the
    task and losing what the person said.
    """

    template_fields = ()

    def __init__(self, *, step_id: str, review_label: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.step_id = step_id
        self.review_label = review_label

    def validate_params_input(self, params_input) -> None:
        """Checked by ADC when recording (see the class docstring)."""

    def execute_complete(self, context, event):
        answer = super().execute_complete(context, event)
        return {**answer, "step_id": self.step_id, "timedout": bool(event.get("timedout"))}


def _params(spec: dict) -> dict:
    return {name: Param(field["default"], **{k: v for k, v in field.items() if k != "default"})
            for name, field in spec.items()}


@task
def select_reviews(**context) -> list[dict]:
    """Open the reviews that are needed now; the owner tasks' arguments (re-asked approvals follow later)."""
    from adc.config import Settings
    from adc.register.db import register_engine
    from adc.ropa.reviews import issue
    from adc.ropa.schedule import activity_tag_key

    issued = issue(register_engine(), dag_run_id=context["dag_run"].run_id,
                   team=Settings.from_env().data_protection_team, tag_key=activity_tag_key())
    print(f"asking {len(issued['owner'])} owner(s), re-asking {len(issued['approval'])} approval(s)")
    return issued["owner"]


@task(trigger_rule=TriggerRule.ALL_DONE)
def record_answers(answers, then_ask: str | None = None, **context) -> list[dict] | None:
    """Record each answer (validated, four eyes); with ``then_ask``, the questions of that kind to ask next."""
    from adc.config import Settings
    from adc.register.db import register_engine
    from adc.ropa.outcomes import Answer, follow_ups, record

    engine = register_engine()
    team = Settings.from_env().data_protection_team
    for payload in answers or []:
        if payload:
            print(record(engine, Answer.from_task(payload), team=team))
    return follow_ups(engine, context["dag_run"].run_id)[then_ask] if then_ask else None


@task
def escalations_to_ask(**context) -> list[dict]:
    """The escalation tasks that the owners' answers (or their silence) call for."""
    from adc.register.db import register_engine
    from adc.ropa.outcomes import follow_ups

    return follow_ups(register_engine(), context["dag_run"].run_id)["escalation"]


@dag(
    dag_id=forms.DAG_ID,
    schedule=CronTriggerTimetable("0 7 * * *", timezone="Europe/London"),
    catchup=False,
    max_active_runs=400,  # a run lasts until its people answer (weeks); a new day's run must still start
    default_args=DEFAULT_ARGS,
    tags=["adc", "ropa", "review"],
    doc_md=__doc__,
)
def adc_ropa_review():
    owner_review = ReviewTask.partial(
        task_id=forms.OWNER_TASK,
        options=forms.OWNER_OPTIONS,
        defaults=[forms.ESCALATE],
        params=_params(forms.OWNER_PARAMS),
        map_index_template="{{ task.review_label }}",
    ).expand_kwargs(select_reviews())
    # approvals to ask: for the changes just proposed, and those select_reviews re-asked
    approvals = record_answers.override(task_id="record_owner_answers")(owner_review.output, then_ask="approval")
    escalations = escalations_to_ask()
    approvals >> escalations

    approval = ReviewTask.partial(
        task_id=forms.APPROVAL_TASK,
        options=forms.APPROVAL_OPTIONS,
        params=_params(forms.APPROVAL_PARAMS),
        map_index_template="{{ task.review_label }}",
    ).expand_kwargs(approvals)
    record_answers.override(task_id="record_approvals")(approval.output)

    escalation = ReviewTask.partial(
        task_id=forms.ESCALATION_TASK,
        options=forms.ESCALATION_OPTIONS,
        params=_params(forms.ESCALATION_PARAMS),
        map_index_template="{{ task.review_label }}",
    ).expand_kwargs(escalations)
    record_answers.override(task_id="record_escalations")(escalation.output)

adc_ropa_review()
