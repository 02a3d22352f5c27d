"""One adc_ropa_review run on the session's Airflow, with the situations the RoPA tests answer.

Planted in the register before the run (on top of the demo RoPA):
- PA-004 Complaints handling (carol): overdue, as in the demo;
- PA-001 Residency casework (alice): a hostile purpose and a hostile unregistered dataset tagged
  ropa:activity=PA-001, so its pack carries "{{ conn.aws_default.password }}" and "<script>";
- PA-005 Equality monitoring (gita): due today, with the survey dataset a harvest finds (answered
  in the browser test, whose screenshot is the README's);
- PA-006 Payroll and HR (frank): a new special-category finding and a 15 s response time, left
  unanswered so it escalates;
- PA-002 Biometric enrolment (bob): due today; bob proposes a change and the browser test shows
  that only the data protection team, not bob, can approve it in the UI;
- PA-003 Appointment booking (carol): due today, for the forgery tests (answers written into XCom,
  tasks marked by hand), which nothing else answers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import insert, select, update

HOSTILE = "{{ conn.aws_default.password }} <script>alert(1)</script>"
ACTIVITIES = ("PA-001", "PA-002", "PA-003", "PA-004", "PA-005", "PA-006")


@dataclass
class ReviewRun:
    airflow: Any  # AirflowStack
    run_id: str

    def step(self, activity_id: str, kind: str = "owner", status: str | None = None) -> dict[str, Any] | None:
        """The latest step of the activity's latest review (any run: tests share the Airflow)."""
        from adc.ropa.tables import review, review_step

        query = (select(review_step).join(review, review.c.review_id == review_step.c.review_id)
                 .where(review.c.activity_id == activity_id, review_step.c.kind == kind)
                 .order_by(review_step.c.issued_at.desc(), review_step.c.attempt.desc()).limit(1))
        if status:
            query = query.where(review_step.c.status == status)
        with self.airflow.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return dict(row) if row else None

    def wait_for_step(self, activity_id: str, kind: str = "owner", status: str | None = "pending",
                      timeout: float = 180) -> dict[str, Any]:
        return self.airflow.wait(lambda: self.step(activity_id, kind, status), timeout=timeout,
                                 what=f"a {status or ''} {kind} step for {activity_id}")

    def wait_for_task(self, step: dict[str, Any], state: str | tuple[str, ...] = "awaiting_input",
                      timeout: float = 120) -> None:
        """Wait until the step's Airflow task is in ``state`` (e.g. asked: awaiting_input)."""
        states = (state,) if isinstance(state, str) else state

        def probe():
            tis = self.airflow.task_instances(step["dag_id"], step["dag_run_id"], step["task_id"])
            return any(ti["map_index"] == step["map_index"] and ti["state"] in states for ti in tis)

        self.airflow.wait(probe, timeout=timeout, what=f"{step['step_id']}'s task to be {'/'.join(states)}")

    def answer(self, user: str, step: dict[str, Any], option: str, **params: Any):
        return self.airflow.answer(user, dag_id=step["dag_id"], run_id=step["dag_run_id"], task_id=step["task_id"],
                                   map_index=step["map_index"], options=[option], params=params)

    def review(self, activity_id: str) -> dict[str, Any]:
        from adc.ropa.reviews import list_reviews

        with self.airflow.engine.connect() as conn:
            return list_reviews(conn, activity_id=activity_id)[0]

    def activity(self, activity_id: str) -> dict[str, Any]:
        from adc.ropa import activities

        with self.airflow.engine.connect() as conn:
            return activities.get(conn, activity_id)

    @property
    def secret(self) -> str:
        """The AWS connection's password in the Airflow under test: it must never appear anywhere."""
        return json.loads(self.airflow.env["AIRFLOW_CONN_AWS_DEFAULT"])["password"]


def _plant(engine) -> None:
    from adc.register.tables import finding, observed_dataset
    from adc.ropa import activities
    from adc.ropa.tables import processing_activity

    at = datetime.now(UTC)
    sandbox, name = "s3://dcr-e2e-sandbox", f"tmp/{HOSTILE}"
    with engine.begin() as conn:
        activities.change(conn, "PA-001", {"purpose_of_processing": f"Casework {HOSTILE}"}, action="updated",
                          actor="e2e", cause_kind="import", cause="e2e")
        due_today = processing_activity.c.activity_id.in_(("PA-002", "PA-003", "PA-005"))
        conn.execute(update(processing_activity).where(due_today)
                     .values(next_review_due=date.today()))
        conn.execute(update(processing_activity).where(processing_activity.c.activity_id == "PA-006")
                     .values(response_time="PT15S"))
        # what a harvest finds in PA-005's survey bucket (its pack shows it), unless one already ran
        survey = (observed_dataset.c.namespace == "s3://dcr-prod-equality-monitoring") & (
            observed_dataset.c.name == "survey")
        if conn.execute(select(observed_dataset.c.name).where(survey)).first() is None:
            conn.execute(insert(observed_dataset).values(
                namespace="s3://dcr-prod-equality-monitoring", name="survey", service="s3", source="e2e",
                scope="dcr-prod-equality-monitoring", kind="table", format="csv", classification="special_category",
                personal_data=True, special_categories="racial_or_ethnic_origin,religious_or_philosophical_beliefs,"
                "health,sex_life_or_sexual_orientation", content_hash="e2e", record={"tags": {}},
                first_seen_run="e2e", first_seen_at=at, last_seen_run="e2e", last_seen_at=at))
        conn.execute(insert(observed_dataset).values(
            namespace=sandbox, name=name, service="s3", source="e2e", scope=sandbox, kind="table", format="csv",
            classification="personal", personal_data=True, content_hash="e2e",
            record={"tags": {"ropa:activity": "PA-001", "note": HOSTILE}}, first_seen_run="e2e", first_seen_at=at,
            last_seen_run="e2e", last_seen_at=at))
        for kind, asset_id, namespace, summary in (
            ("unregistered_dataset", None, sandbox, f"personal data, tagged PA-001: {HOSTILE}"),
            ("classification_mismatch", "IA-0006", None, "union_subs_deduction is trade union membership"),
        ):
            conn.execute(insert(finding).values(
                kind=kind, subject=f"e2e/{kind}", severity="high", status="open", asset_id=asset_id,
                namespace=namespace, name=name if namespace else None, summary=summary, first_seen_run="e2e",
                first_seen_at=at, last_seen_run="e2e", last_seen_at=at))


@pytest.fixture(scope="session")
def review_run(airflow) -> ReviewRun:
    """The planted register, one triggered adc_ropa_review run, and every owner asked."""
    _plant(airflow.engine)
    run = ReviewRun(airflow=airflow, run_id=airflow.trigger("adc_ropa_review"))
    for activity_id in ACTIVITIES:
        run.wait_for_step(activity_id, status=None)  # PA-006 may time out as soon as it is asked
    return run
