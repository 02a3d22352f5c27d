"""What needs a review: due and overdue by date, and touched by findings since the last review."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import update

from adc.demo.ropa import AS_OF
from adc.ropa.schedule import candidates
from adc.ropa.tables import processing_activity
from tests.integration.ropa.conftest import add_dataset, add_finding


def _due(engine, on: date | None = None) -> dict[str, list[str]]:
    on = on or date.today()
    with engine.connect() as conn:
        found = candidates(conn, today=on, at=datetime.now(UTC))
    return {c.activity_id: c.reasons for c in found}


def test_on_the_demo_only_pa_004_is_due_by_date(ropa):
    due = _due(ropa)
    assert list(due) == ["PA-004"]
    assert due["PA-004"][0].startswith("overdue: the review was due on ")


def test_a_review_window_opens_response_time_before_the_due_date(ropa):
    shift = date.today() - AS_OF  # the demo's dates were shifted by this on loading
    pa003_due = date(2027, 1, 20) + shift
    assert "PA-003" not in _due(ropa, pa003_due - timedelta(days=15))
    assert _due(ropa, pa003_due - timedelta(days=14))["PA-003"] == [f"due on {pa003_due.isoformat()}"]
    assert _due(ropa, pa003_due + timedelta(days=1))["PA-003"][0].startswith("overdue")


def test_new_special_category_columns_and_missing_assets_touch_their_activities(ropa):
    add_finding(ropa, "classification_mismatch", asset_id="IA-0006", summary="union_subs_deduction: trade union")
    add_finding(ropa, "missing_asset", asset_id="IA-0042", summary="s3://dcr-prod-legacy-registry-index is gone")
    add_finding(ropa, "owner_mismatch", asset_id="IA-0003", summary="iar:owner tag differs")  # shown, not a trigger
    due = _due(ropa)
    assert due["PA-006"] == ["new finding classification_mismatch on IA-0006: union_subs_deduction: trade union"]
    assert due["PA-001"] == ["new finding missing_asset on IA-0042: s3://dcr-prod-legacy-registry-index is gone"]
    assert "PA-002" not in due


def test_an_unregistered_dataset_tagged_with_the_activity_touches_it(ropa):
    add_dataset(ropa, "s3://dcr-analytics-sandbox-7f3a", "tmp", tags={"ropa:activity": "PA-005, PA-003"})
    add_finding(ropa, "unregistered_dataset", namespace="s3://dcr-analytics-sandbox-7f3a", name="tmp",
                summary="personal data in an unregistered bucket")
    add_dataset(ropa, "s3://dcr-untagged", "x", tags={})
    add_finding(ropa, "unregistered_dataset", namespace="s3://dcr-untagged", name="x", summary="untagged")
    due = _due(ropa)
    for activity_id in ("PA-003", "PA-005"):
        assert due[activity_id] == ["new finding unregistered_dataset on s3://dcr-analytics-sandbox-7f3a/tmp: "
                                    "personal data in an unregistered bucket"]


def test_findings_older_than_the_last_review_or_resolved_do_not_touch(ropa):
    reviewed = date.today() - timedelta(days=30)
    with ropa.begin() as conn:
        conn.execute(update(processing_activity).where(processing_activity.c.activity_id == "PA-006")
                     .values(last_reviewed=reviewed, next_review_due=reviewed + timedelta(days=365)))
    add_finding(ropa, "classification_mismatch", asset_id="IA-0006",
                first_seen_at=datetime.now(UTC) - timedelta(days=60))
    add_finding(ropa, "missing_asset", asset_id="IA-0006", status="resolved")
    assert "PA-006" not in _due(ropa)


def test_retired_activities_are_never_due(ropa):
    with ropa.begin() as conn:
        conn.execute(update(processing_activity).where(processing_activity.c.activity_id == "PA-004")
                     .values(status="retired"))
    assert "PA-004" not in _due(ropa)
