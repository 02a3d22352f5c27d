"""Judge one DQDL rule against a dataset's metrics history: passed, failed or unknown, and why.

The harvest records a :class:`Metrics` snapshot per dataset per harvest (issue 14's next step). The
evaluator takes that dataset's snapshots oldest first, the last being the current harvest, and
compares the current value with the rule's threshold. A dynamic threshold (``avg(last(3))``) is
computed from the N harvests *before* the current one that measured the metric. Whatever cannot be
evaluated is ``unknown`` with the reason: a metric the metadata does not hold, too little history, a
rule ADC does not evaluate. Nothing unknown is ever passed.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypedDict

from adc.quality.dqdl import AnyRule, Condition, Duration, Number, Rule, Threshold, Unsupported

Status = Literal["passed", "failed", "unknown"]


class ColumnMetrics(TypedDict):
    """One column's counts from the Parquet footers the harvest sampled (never values)."""

    null_count: int  # nulls in the sampled files
    rows: int  # rows in the sampled files


class Metrics(TypedDict, total=False):
    """What one harvest measured of one dataset from its metadata; None (or absent): not measured."""

    at: datetime  # when the harvest measured it
    run_id: str  # the harvest run
    sampled_files: int | None  # how many files row_count and columns come from (Parquet footers)
    row_count: int | None  # Parquet footers' num_rows, DynamoDB ItemCount, a database's row estimate
    object_count: int | None  # objects (files) in the dataset
    size_bytes: int | None  # their total size
    column_count: int | None  # columns in the schema
    fields: list[str] | None  # the schema's column names (ColumnExists); absent: the keys of columns
    columns: dict[str, ColumnMetrics] | None  # per-column null counts, where footers hold them
    newest: datetime | None  # the newest data: newest object's LastModified, partition or table update


@dataclass(frozen=True)
class Result:
    status: Status
    observed: float | bool | None = None  # the value compared (freshness: the age in seconds), or None
    reason: str = ""  # why it is unknown, or what failed when the number alone does not say
    expected: str | None = None  # the condition with dynamic thresholds resolved, e.g. '> 61.5'

    @property
    def passed(self) -> bool:
        return self.status == "passed"


def unknown(reason: str) -> Result:
    return Result("unknown", None, reason)


# What each rule type measures, named for an unknown reason.
_WHAT = {"RowCount": "row counts", "ObjectCount": "object counts", "SizeBytes": "sizes",
         "ColumnCount": "column counts", "DataFreshness": "the newest data's time"}
_KEY = {"RowCount": "row_count", "ObjectCount": "object_count", "SizeBytes": "size_bytes",
        "ColumnCount": "column_count"}
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "=": operator.eq, "!=": operator.ne}


def evaluate(rule: AnyRule, history: Sequence[Metrics], now: datetime) -> Result:
    """``rule`` against ``history`` (one dataset's snapshots, oldest first, the last the current
    harvest); ``now`` is when freshness is judged (timezone-aware, like the snapshots' times)."""
    if isinstance(rule, Unsupported):
        return unknown(rule.reason)
    if not history:
        return unknown("no harvest has measured this dataset yet")
    current = history[-1]
    if rule.kind == "ColumnExists":
        return _column_exists(rule, current)
    value, why = _measure(rule, current, now)
    if value is None:
        return unknown(why)
    if rule.kind == "IsComplete":
        return Result("passed" if value == 1 else "failed", value, expected="= 1")
    if rule.condition is None:  # every other supported rule has one (dqdl.py)
        raise ValueError(f"rule {rule.text!r} has no comparison")
    return _compare(rule, rule.condition, value, history[:-1], now)


def _measure(rule: Rule, snapshot: Metrics, now: datetime) -> tuple[float | None, str]:
    """The value ``rule`` compares in one snapshot, or None and why it is not there."""
    if rule.kind in _KEY:
        value = snapshot.get(_KEY[rule.kind])
        if not isinstance(value, int | float):
            return None, f"{_WHAT[rule.kind]} are not in this dataset's metadata"
        return float(value), ""
    if rule.kind == "DataFreshness":
        newest = snapshot.get("newest")
        if newest is None:
            return None, "the newest data's time is not in this dataset's metadata"
        return (now - newest).total_seconds(), ""
    # Completeness, IsComplete
    columns = snapshot.get("columns")
    if columns is None:
        return None, "per-column null counts are not in this dataset's metadata (ADC reads them from Parquet footers)"
    counts = columns.get(rule.column or "")
    if counts is None:
        fields = snapshot.get("fields")
        if fields is not None and rule.column not in fields:
            return None, f"the dataset has no column {rule.column!r}"
        return None, f"no null counts for column {rule.column!r} in the files the harvest sampled"
    if counts["rows"] <= 0:
        return None, f"the sampled files hold no rows to count {rule.column!r}'s nulls in"
    return 1 - counts["null_count"] / counts["rows"], ""


def _column_exists(rule: Rule, current: Metrics) -> Result:
    fields = current.get("fields")
    if fields is None:
        columns = current.get("columns")
        fields = list(columns) if columns is not None else None
    if fields is None:
        return unknown("the schema is not in this dataset's metadata")
    if rule.column in fields:
        return Result("passed", True)
    return Result("failed", False, f"no column {rule.column!r} in the schema")


def _compare(rule: Rule, condition: Condition, value: float, earlier: Sequence[Metrics], now: datetime) -> Result:
    bounds: list[float] = []
    for bound in condition.bounds:
        resolved, why = _threshold(rule, bound, earlier, now)
        if resolved is None:
            return Result("unknown", value, why)
        bounds.append(resolved)
    if condition.operator == "between":
        ok = bounds[0] <= value <= bounds[1]
        expected = f"between {_show(bounds[0])} and {_show(bounds[1])}"
    else:
        ok = _COMPARE[condition.operator](value, bounds[0])
        expected = f"{condition.operator} {_show(bounds[0])}"
    return Result("passed" if ok else "failed", value, expected=expected)


def _threshold(rule: Rule, bound: Threshold, earlier: Sequence[Metrics], now: datetime) -> tuple[float | None, str]:
    if isinstance(bound, Number):
        return bound.value, ""
    if isinstance(bound, Duration):
        return bound.seconds, ""
    values = [v for v, _ in (_measure(rule, snapshot, now) for snapshot in earlier) if v is not None]
    if len(values) < bound.last:
        return None, (f"too little history: {bound.function}(last({bound.last})) needs {bound.last} earlier "
                      f"harvest{'s' if bound.last != 1 else ''}, there {'is' if len(values) == 1 else 'are'} "
                      f"{len(values)}")
    return bound.apply(values[-bound.last:]), ""


def _show(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.6g}"
