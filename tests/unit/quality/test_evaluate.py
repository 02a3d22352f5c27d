"""Judging a rule against a dataset's metrics history: passed, failed, and unknown with the reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adc.quality.dqdl import parse_ruleset
from adc.quality.evaluate import Metrics, Result, evaluate

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def snapshot(days_ago: int = 0, **metrics) -> Metrics:
    return {"at": NOW - timedelta(days=days_ago), **metrics}  # type: ignore[typeddict-item]


CURRENT = snapshot(row_count=1000, object_count=40, size_bytes=5_000_000, column_count=4,
                   fields=["id", "nationality", "email", "born"],
                   columns={"nationality": {"null_count": 30, "rows": 1000}, "email": {"null_count": 0, "rows": 1000}},
                   newest=NOW - timedelta(hours=6))


def judge(rule: str, history: list[Metrics] | None = None) -> Result:
    (parsed,) = parse_ruleset(f"Rules = [ {rule} ]")
    return evaluate(parsed, [CURRENT] if history is None else history, NOW)


@pytest.mark.parametrize("rule, status, observed", [
    ("RowCount > 0", "passed", 1000),
    ("RowCount >= 1001", "failed", 1000),
    ("RowCount < 1000", "failed", 1000),
    ("RowCount <= 1000", "passed", 1000),
    ("RowCount = 1000", "passed", 1000),
    ("RowCount != 1000", "failed", 1000),
    ("RowCount between 1000 and 2000", "passed", 1000),  # both ends included
    ("RowCount between 1 and 999", "failed", 1000),
    ("ObjectCount > 39", "passed", 40),
    ("ObjectCount < 40", "failed", 40),
    ("SizeBytes between 1000 and 5000000", "passed", 5_000_000),
    ("SizeBytes > 5000000", "failed", 5_000_000),
    ("ColumnCount = 4", "passed", 4),
    ("ColumnCount != 4", "failed", 4),
    ('Completeness "nationality" >= 0.95', "passed", 0.97),
    ('Completeness "nationality" > 0.99', "failed", 0.97),
    ('IsComplete "email"', "passed", 1.0),
    ('IsComplete "nationality"', "failed", 0.97),
    ('ColumnExists "born"', "passed", True),
    ('ColumnExists "passport"', "failed", False),
    ("DataFreshness <= 24 hours", "passed", 6 * 3600),
    ("DataFreshness < 6 hours", "failed", 6 * 3600),
    ("DataFreshness < 300 minutes", "failed", 6 * 3600),
    ("DataFreshness between 1 hours and 1 days", "passed", 6 * 3600),
    ("DataFreshness > 2 days", "failed", 6 * 3600),
])
def test_each_rule_type_and_operator_passes_or_fails_on_the_current_harvest(rule, status, observed):
    result = judge(rule)
    assert (result.status, result.observed) == (status, pytest.approx(observed))
    assert result.passed is (status == "passed")


@pytest.mark.parametrize("rule, reason", [
    ("RowCount > 0", "row counts are not in this dataset's metadata"),
    ("ObjectCount > 0", "object counts are not in this dataset's metadata"),
    ("SizeBytes > 0", "sizes are not in this dataset's metadata"),
    ("ColumnCount > 0", "column counts are not in this dataset's metadata"),
    ('Completeness "a" > 0.5', "per-column null counts are not in this dataset's metadata"),
    ('IsComplete "a"', "per-column null counts are not in this dataset's metadata"),
    ('ColumnExists "a"', "the schema is not in this dataset's metadata"),
    ("DataFreshness <= 24 hours", "the newest data's time is not in this dataset's metadata"),
])
def test_a_metric_the_metadata_does_not_hold_is_unknown_never_passed(rule, reason):
    result = judge(rule, [snapshot()])
    assert (result.status, result.observed) == ("unknown", None) and result.reason.startswith(reason)


def test_completeness_of_a_column_without_counts_is_unknown_and_says_which():
    assert judge('Completeness "born" > 0.5').reason == \
        "no null counts for column 'born' in the files the harvest sampled"
    assert judge('Completeness "passport" > 0.5').reason == "the dataset has no column 'passport'"
    empty = snapshot(columns={"a": {"null_count": 0, "rows": 0}})
    assert judge('Completeness "a" > 0.5', [empty]).status == "unknown"


def test_column_exists_reads_the_null_counts_columns_without_a_schema():
    assert judge('ColumnExists "a"', [snapshot(columns={"a": {"null_count": 0, "rows": 1}})]).status == "passed"


def test_no_history_at_all_is_unknown():
    assert judge("RowCount > 0", []).reason == "no harvest has measured this dataset yet"


HISTORY = [snapshot(4, object_count=100), snapshot(3, object_count=80), snapshot(2, object_count=None),
           snapshot(1, object_count=60)]


@pytest.mark.parametrize("rule, current, status, expected", [
    ("ObjectCount > avg(last(3)) * 0.5", 41, "passed", "> 40"),  # avg(100, 80, 60) = 80: the unmeasured one skipped
    ("ObjectCount > avg(last(3)) * 0.5", 40, "failed", "> 40"),
    ("ObjectCount >= min(last(2))", 60, "passed", ">= 60"),
    ("ObjectCount < max(last(2)) + 1", 81, "failed", "< 81"),
    ("ObjectCount between avg(last(1)) - 10 and max(last(3))", 55, "passed", "between 50 and 100"),
])
def test_dynamic_thresholds_use_the_harvests_before_the_current_one(rule, current, status, expected):
    result = judge(rule, [*HISTORY, snapshot(object_count=current)])
    assert (result.status, result.observed, result.expected) == (status, current, expected)


def test_too_little_history_is_unknown_and_says_how_much_there_is():
    result = judge("ObjectCount > avg(last(3))", [snapshot(1, object_count=10), snapshot(object_count=10)])
    assert (result.status, result.observed) == ("unknown", 10)
    assert result.reason == "too little history: avg(last(3)) needs 3 earlier harvests, there is 1"
    first = judge("ObjectCount > min(last(1))", [snapshot(object_count=10)])
    assert first.reason == "too little history: min(last(1)) needs 1 earlier harvest, there are 0"
    # harvests that did not measure the metric do not count
    unmeasured = judge("ObjectCount > max(last(2))",
                       [snapshot(2, object_count=5), snapshot(1), snapshot(object_count=10)])
    assert unmeasured.reason == "too little history: max(last(2)) needs 2 earlier harvests, there is 1"


def test_completeness_history_is_of_the_same_column():
    def nulls(n: int, days_ago: int) -> Metrics:
        return snapshot(days_ago, columns={"a": {"null_count": n, "rows": 100}})
    history = [nulls(0, 2), nulls(10, 1), nulls(50, 0)]
    result = judge('Completeness "a" >= avg(last(2)) * 0.9', history)
    assert (result.status, result.observed, result.expected) == ("failed", 0.5, ">= 0.855")


@pytest.mark.parametrize("rule", [
    'IsUnique "id"', 'CustomSql "select count(*) from primary" > 0', '(RowCount > 0) and (ColumnCount > 0)',
    'RowCount > 0 where "a > 1"', 'DataFreshness "born" <= 24 hours',
])
def test_unsupported_rules_are_unknown_with_their_reason_whatever_the_metrics(rule):
    (parsed,) = parse_ruleset(f"Rules = [ {rule} ]")
    result = evaluate(parsed, [CURRENT], NOW)
    assert result.status == "unknown" and result.observed is None
    assert result.reason == parsed.reason  # type: ignore[union-attr]
