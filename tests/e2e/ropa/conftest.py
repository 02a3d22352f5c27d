"""Review data of a module's own on the session's Airflow, and the helpers the RoPA tests share.

Other e2e modules (harvests whose reconciliation starts adc_ropa_review runs) can ask the demo's
activities before any test here runs. So each module plants copies of demo activities under ids
that nothing else touches (test_ropa_review_e2e PA-1xx, test_ropa_review_browser PA-2xx,
test_forgery_e2e PA-3xx), each due today and carrying the situations its tests answer, triggers an
adc_ropa_review run of its own and waits until every copy is asked (by that run or any other: the
tests find steps by activity). ``start_reviews`` does this for the module's ``review_run`` fixture.

What can be planted on a copy:
- a hostile purpose ("Casework {{ conn.aws_default.password }} <script>...") and a hostile
  unregistered dataset tagged ropa:activity=<copy>, so its pack carries both;
- other field values, e.g. a 15 s response time so an unanswered review escalates within the test;
- a new special-category finding (classification_mismatch) on one of its linked assets;
- a copy of PA-005 Equality monitoring gets the survey dataset a harvest finds in its bucket (its
  pack shows it: the README's screenshot), unless a harvest already found it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import insert, select

from adc.demo.client import environment

HOSTILE = "{{ conn.aws_default.password }} <script>alert(1)</script>"


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


def _plant(engine, clones: dict[str, str], *, hostile: tuple[str, ...], changes: dict[str, dict[str, Any]],
           special_category: dict[str, tuple[str, str]]) -> None:
    from adc.demo.content import ROPA_CSV, ropa_files
    from adc.demo.ropa import AS_OF
    from adc.register.tables import finding, observed_dataset
    from adc.ropa import exports
    from adc.ropa.schedule import activity_tag_key

    at, today = datetime.now(UTC), date.today()

    def dataset(namespace: str, name: str, **values: Any) -> None:
        conn.execute(insert(observed_dataset).values(
            namespace=namespace, name=name, service="s3", source="e2e", scope=namespace.removeprefix("s3://"),
            kind="table", format="csv", personal_data=True, content_hash="e2e", first_seen_run="e2e",
            first_seen_at=at, last_seen_run="e2e", last_seen_at=at, **values))

    def new_finding(clone_id: str, kind: str, summary: str, **values: Any) -> None:
        conn.execute(insert(finding).values(
            kind=kind, subject=f"e2e/{clone_id}/{kind}", severity="high", status="open", summary=summary,
            first_seen_run="e2e", first_seen_at=at, last_seen_run="e2e", last_seen_at=at, **values))

    # the findings first, the copies last: a review run started meanwhile asks a copy with all of it or not at all
    with engine.begin() as conn:
        if "PA-005" in clones.values():
            survey = (observed_dataset.c.namespace == "s3://dcr-prod-equality-monitoring") & (
                observed_dataset.c.name == "survey")
            if conn.execute(select(observed_dataset.c.name).where(survey)).first() is None:
                dataset("s3://dcr-prod-equality-monitoring", "survey", classification="special_category",
                        special_categories="racial_or_ethnic_origin,religious_or_philosophical_beliefs,health,"
                        "sex_life_or_sexual_orientation", record={"tags": {}})
        for clone_id in hostile:
            sandbox, name = "s3://dcr-e2e-sandbox", f"tmp/{clone_id}/{HOSTILE}"
            dataset(sandbox, name, classification="personal",
                    record={"tags": {activity_tag_key(): clone_id, "note": HOSTILE}})
            new_finding(clone_id, "unregistered_dataset", f"personal data, tagged {clone_id}: {HOSTILE}",
                        namespace=sandbox, name=name)
        for clone_id, (asset_id, summary) in special_category.items():
            new_finding(clone_id, "classification_mismatch", summary, asset_id=asset_id)

    demo = {record.activity_id: record for path in ropa_files() for record in exports.parse(path)}
    shift = today - AS_OF  # dated as adc.demo.ropa.load dates the demo's own
    exports.save_records(engine, [
        demo[of].model_copy(update={
            "activity_id": clone_id, "last_reviewed": demo[of].last_reviewed + shift, "next_review_due": today,
            **({"purpose_of_processing": f"Casework {HOSTILE}"} if clone_id in hostile else {}),
            **changes.get(clone_id, {})})
        for clone_id, of in clones.items()
    ], source=ROPA_CSV, actor="e2e")


@pytest.fixture(scope="session")
def start_reviews(airflow) -> Callable[..., ReviewRun]:
    """Plant copies of demo activities, trigger adc_ropa_review and wait until every copy is asked.

    ``clones`` maps each copy's id (PA-nnn, of the calling module's own) to the demo activity it
    copies (owner, linked assets and record as in the demo, due today). ``hostile``: the copies given
    a hostile purpose and a hostile unregistered dataset tagged with them; ``changes``: other values
    per copy; ``special_category``: per copy, (a linked asset, summary) of a new classification_mismatch.
    """
    def start(clones: dict[str, str], *, hostile: tuple[str, ...] = (),
              changes: dict[str, dict[str, Any]] | None = None,
              special_category: dict[str, tuple[str, str]] | None = None) -> ReviewRun:
        # read the demo's files as its Airflow does: its organisations.yaml and sources.yaml
        with environment({key: value for key, value in airflow.env.items() if key.startswith("ADC_")}):
            _plant(airflow.engine, clones, hostile=hostile, changes=changes or {},
                   special_category=special_category or {})
        run = ReviewRun(airflow=airflow, run_id=airflow.trigger("adc_ropa_review"))
        for clone_id in clones:
            run.wait_for_step(clone_id, status=None)  # a 15 s response time may time out as soon as it is asked
        return run

    return start
