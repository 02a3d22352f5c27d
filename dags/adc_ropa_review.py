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
- Every answer is recorded in the register by the task that asked, from Airflow's own record of
  the response (never from XCom or a task's state, which any `user` can write): who, when, the
  option, the comment and the pack shown (with its SHA-256). Invalid answers are recorded as
  refused and change nothing; an answer from someone with no right to give it leaves the step open.
- A review task marked success, failed or skipped by hand records no answer: **settle** notes who
  changed it (Airflow's audit log) and the next run asks again.

One mapped task group instance per review: `question` (the owner), then `dpo_question` (an
approval or an escalation, skipped when the answer needs neither), then `settle`. Each instance
runs on its own, so one person's answer never waits for another's. What each task asks comes from
the register's step at its place (run, task, map index): Airflow never renders text from AWS or
from people as a template. See docs/ropa.md and docs/security.md.
"""

from __future__ import annotations

from airflow.sdk import Asset, AssetOrTimeSchedule, CronTriggerTimetable, TriggerRule, dag, task, task_group

from adc.airflow import DEFAULT_ARGS
from adc.airflow.operators import ReviewTask
from adc.register import FINDINGS_ASSET_URI
from adc.ropa import forms


@task
def select_reviews(**context) -> list[dict]:
    """Open the reviews that are needed now; one question per review (owners, or approvals asked again)."""
    # imported when the task runs: keeps DAG parsing fast
    from adc.airflow.reviews import select

    return select(context["dag_run"].run_id)


@task(trigger_rule=TriggerRule.ALL_DONE)
def settle(question: dict, **context) -> None:
    """A review task that ended without an answer in Airflow's record (marked by hand) records none."""
    # imported when the task runs: keeps DAG parsing fast
    from adc.airflow.reviews import settle as settle_group

    settle_group(context, tasks=(forms.QUESTION_TASK, forms.DPO_TASK))


@task_group(group_id=forms.GROUP)
def review(question: dict):
    asked = ReviewTask(task_id="question", question=question, map_index_template=forms.LABEL)
    dpo = ReviewTask(task_id="dpo_question", question=question, map_index_template=forms.LABEL)
    asked >> dpo >> settle(question)


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
