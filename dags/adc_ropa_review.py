"""
### RoPA review: the periodic review of the Record of Processing Activities

Every morning and after each reconciliation (the Asset `adc://register/findings`), selects the
processing activities that are due or overdue for review, or whose linked assets gained findings
since their last review (new special-category columns, a missing asset,
an unregistered dataset tagged with the activity), and asks each activity's owner in **Required
Actions**: *Confirm accurate*, *Needs changes*, *Retire activity* or *Escalate to the DPO*, with a
review pack built from the register.

- *Needs changes* and *Retire activity* go to a second approval by the data protection team
  (`ADC_DATA_PROTECTION_TEAM`), never to the person who proposed them.
- No answer within the activity's response time: the review is recorded as escalated and the
  data protection team gets an escalation task.
- Every answer is recorded in the register as soon as it is given: who, when, the option, the
  comment and the pack shown (with its SHA-256). Invalid answers are recorded as refused and
  change nothing.

One mapped task group instance per review: `question` (the owner), `record`, then `dpo_question`
(an approval or an escalation, skipped when the answer needs neither) and `record_dpo`. Each
instance runs on its own, so one person's answer never waits for another's. Review packs are
built inside tasks and reach the review tasks as XCom values: Airflow never renders text from
AWS or from people as a template. See docs/ropa.md.
"""

from __future__ import annotations

from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import Asset, AssetOrTimeSchedule, CronTriggerTimetable, Param, ParamsDict, dag, task, task_group
from airflow.sdk.exceptions import AirflowSkipException

from adc.airflow_bridge import DEFAULT_ARGS, AsksOnce
from adc.register import FINDINGS_ASSET_URI
from adc.ropa import forms


class ReviewTask(AsksOnce, HITLOperator):
    """Asks the question that ``question`` resolves to: a dict built by ADC (adc.ropa.reviews.question).

    ``question`` is the only template field and it must be an XComArg (or a mapped argument):
    Airflow resolves it to the XCom value without rendering anything inside it. Subject, body,
    options and assignees are taken from it when the task runs, so no text from AWS or from people
    is ever a Jinja template (a "{{ conn.aws_default.password }}" in a comment stays text). When
    it resolves to nothing, the answer before needed no further question and the task is skipped.

    ADC validates the form's values when it records the answer (adc.ropa.outcomes), so they pass
    through here as sent: an invalid value is recorded as a refused answer instead of failing the
    task and losing what the person said.

    A question is asked once per task instance (AsksOnce): a retry Airflow makes of an answered
    task reads the answer instead of clearing it, with the step's deadline.
    """

    template_fields = ("question",)

    def __init__(self, *, question, **kwargs) -> None:
        # placeholders until the question is known: every option, so a resumed task accepts its answer
        super().__init__(subject="RoPA review", options=[o for k in forms.OPTIONS for o in forms.OPTIONS[k]],
                         params={name: Param(spec["default"], **{k: v for k, v in spec.items() if k != "default"})
                                 for name, spec in forms.FIELDS.items()}, **kwargs)
        self.question = question

    def _ask(self) -> dict:
        question = self.question
        if not question:
            raise AirflowSkipException("the answer before needs no approval or escalation")
        kind = question["kind"]
        self.subject, self.body = question["subject"], question["body"]
        self.options, self.defaults = forms.OPTIONS[kind], forms.DEFAULTS[kind]
        self.assigned_users = question["assigned_users"]
        self.response_timeout = question["response_timeout"]
        self.params = ParamsDict({name: self.params.get_param(name) for name in forms.FIELDS_OF[kind]})
        return question

    def execute(self, context):
        self._ask()
        return super().execute(context)

    def answer_deadline(self, context):
        return self.question["deadline"]  # the step's, as the register recorded it

    def validate_params_input(self, params_input) -> None:
        """Checked by ADC when recording (see the class docstring)."""

    def execute_complete(self, context, event):
        question = self._ask()
        answer = super().execute_complete(context, event)
        return {**answer, "step_id": question["step_id"], "timedout": bool(event.get("timedout"))}


@task
def select_reviews(**context) -> list[dict]:
    """Open the reviews that are needed now; one question per review (owners, or approvals asked again)."""
    from adc.config import Settings
    from adc.register.db import register_engine
    from adc.ropa.reviews import issue
    from adc.ropa.schedule import activity_tag_key

    questions = issue(register_engine(), dag_run_id=context["dag_run"].run_id,
                      team=Settings.from_env().data_protection_team, tag_key=activity_tag_key())
    print(f"asking {len(questions)} question(s): {', '.join(q['step_id'] for q in questions) or 'none'}")
    return questions


@task
def record(answer: dict) -> dict:
    """Record one answer (validated, four eyes); the approval or escalation it calls for, if any."""
    from adc.config import Settings
    from adc.register.db import register_engine
    from adc.ropa.outcomes import Answer, follow_up
    from adc.ropa.outcomes import record as record_answer

    engine = register_engine()
    print(record_answer(engine, Answer.from_task(answer), team=Settings.from_env().data_protection_team))
    return follow_up(engine, answer["step_id"]) or {}  # {}: nothing to ask (None would not be stored)


@task_group(group_id=forms.GROUP)
def review(question: dict):
    asked = ReviewTask(task_id="question", question=question, map_index_template=forms.LABEL)
    then = record.override(task_id="record")(asked.output)
    dpo = ReviewTask(task_id="dpo_question", question=then, map_index_template=forms.LABEL)
    record.override(task_id="record_dpo")(dpo.output)


@dag(
    dag_id=forms.DAG_ID,
    schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable("0 7 * * *", timezone="Europe/London"),
                                 assets=[Asset(FINDINGS_ASSET_URI)]),
    catchup=False,
    max_active_runs=400,  # a run lasts until its people answer (weeks); a new day's run must still start
    default_args=DEFAULT_ARGS,
    tags=["adc", "ropa", "review"],
    doc_md=__doc__,
)
def adc_ropa_review():
    review.expand(question=select_reviews())


adc_ropa_review()
