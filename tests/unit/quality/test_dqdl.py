"""DQDL rulesets: every supported rule type and operator, dynamic thresholds, what is unsupported, and
syntax errors as one line naming the rule."""

from __future__ import annotations

import pytest

from adc.quality.dqdl import (
    SUPPORTED,
    UNSUPPORTED,
    Condition,
    DqdlError,
    Duration,
    Dynamic,
    Number,
    Rule,
    Unsupported,
    parse_ruleset,
)


def one(rule: str) -> Rule | Unsupported:
    (parsed,) = parse_ruleset(f"Rules = [ {rule} ]")
    return parsed


def test_the_issues_example_parses_rule_by_rule_keeping_each_text():
    rules = parse_ruleset("""Rules = [ RowCount > 0, Completeness "nationality" >= 0.95,
                                       DataFreshness <= 24 hours, ObjectCount > avg(last(3)) * 0.5 ]""")
    assert rules == (
        Rule("RowCount > 0", "RowCount", None, Condition(">", (Number(0),))),
        Rule('Completeness "nationality" >= 0.95', "Completeness", "nationality", Condition(">=", (Number(0.95),))),
        Rule("DataFreshness <= 24 hours", "DataFreshness", None, Condition("<=", (Duration(24, "hours"),))),
        Rule("ObjectCount > avg(last(3)) * 0.5", "ObjectCount", None,
             Condition(">", (Dynamic("avg", 3, "*", 0.5),))),
    )
    assert all(r.supported for r in rules)


@pytest.mark.parametrize("text, kind, column", [
    ("RowCount >= 10", "RowCount", None),
    ("ColumnCount = 12", "ColumnCount", None),
    ("ObjectCount != 0", "ObjectCount", None),
    ("SizeBytes < 1000000", "SizeBytes", None),
    ('Completeness "email" > 0.5', "Completeness", "email"),
    ("DataFreshness < 30 minutes", "DataFreshness", None),
])
def test_every_supported_rule_type_with_a_comparison(text, kind, column):
    rule = one(text)
    assert isinstance(rule, Rule) and (rule.kind, rule.column, rule.text) == (kind, column, text)
    assert rule.condition is not None


def test_column_exists_and_is_complete_take_a_column_and_no_comparison():
    assert one('ColumnExists "id"') == Rule('ColumnExists "id"', "ColumnExists", "id")
    assert one('IsComplete "id"') == Rule('IsComplete "id"', "IsComplete", "id")


@pytest.mark.parametrize("operator", [">", ">=", "<", "<=", "=", "!="])
def test_every_operator(operator):
    assert one(f"RowCount {operator} 5").condition == Condition(operator, (Number(5),))  # type: ignore[union-attr]


def test_between_takes_two_thresholds_of_any_kind():
    assert one("RowCount between 1 and 10").condition == Condition("between", (Number(1), Number(10)))  # type: ignore[union-attr]
    assert one("DataFreshness between 2 days and 5 days").condition == Condition(  # type: ignore[union-attr]
        "between", (Duration(2, "days"), Duration(5, "days")))
    assert one("SizeBytes between min(last(2)) - 10 and max(last(2)) + 10").condition == Condition(  # type: ignore[union-attr]
        "between", (Dynamic("min", 2, "-", 10), Dynamic("max", 2, "+", 10)))


@pytest.mark.parametrize("written, seconds", [
    ("30 minutes", 1800), ("1 minute", 60), ("24 hours", 86400), ("1 hour", 3600), ("3 days", 259200),
    ("1.5 days", 129600),
])
def test_durations(written, seconds):
    (bound,) = one(f"DataFreshness <= {written}").condition.bounds  # type: ignore[union-attr]
    assert isinstance(bound, Duration) and bound.seconds == seconds


@pytest.mark.parametrize("written, dynamic, values, threshold", [
    ("avg(last(3))", Dynamic("avg", 3), [1, 2, 6], 3),
    ("min(last(2)) * 0.9", Dynamic("min", 2, "*", 0.9), [10, 20], 9),
    ("max(last(2)) + 5", Dynamic("max", 2, "+", 5), [10, 20], 25),
    ("avg(last(1)) - 1", Dynamic("avg", 1, "-", 1), [10], 9),
])
def test_dynamic_thresholds(written, dynamic, values, threshold):
    (bound,) = one(f"RowCount > {written}").condition.bounds  # type: ignore[union-attr]
    assert bound == dynamic and str(bound) == written
    assert bound.apply(values) == pytest.approx(threshold)  # type: ignore[union-attr]


def test_a_negative_number_and_a_comment():
    rules = parse_ruleset("# what we expect\nRules = [\n  RowCount > -1,  # anything\n  ColumnCount > 0\n]")
    assert [r.text for r in rules] == ["RowCount > -1", "ColumnCount > 0"]
    assert rules[0].condition == Condition(">", (Number(-1),))  # type: ignore[union-attr]


@pytest.mark.parametrize("text, kind, reason", [
    ('IsUnique "id"', "IsUnique", "values"),
    ('ColumnValues "status" in ["open", "closed"] with threshold > 0.9', "ColumnValues", "values"),
    ('CustomSql "select count(*) from primary" between 10 and 20', "CustomSql", "SQL"),
    ('ReferentialIntegrity "id" "other.id" = 1.0', "ReferentialIntegrity", "another dataset"),
    ('Mean "age" > 18', "Mean", "values"),
    ("DetectAnomalies \"RowCount\"", "DetectAnomalies", "anomalies"),
    ('(IsComplete "a") and (RowCount > 0)', "Composite", "composite"),
    ('RowCount > 0 where "status = \'open\'"', "RowCount", "where clause"),
    ('DataFreshness "Order_Date" <= 24 hours', "DataFreshness", "column values"),
])
def test_other_dqdl_rules_parse_as_unsupported_with_the_reason(text, kind, reason):
    rule = one(text)
    assert isinstance(rule, Unsupported) and not rule.supported
    assert (rule.kind, rule.text) == (kind, text)
    assert reason in rule.reason


def test_every_rule_type_is_either_supported_or_has_a_reason():
    assert not set(SUPPORTED) & set(UNSUPPORTED)
    assert all(UNSUPPORTED.values())


@pytest.mark.parametrize("ruleset, message", [
    ("Rules = [ Rowcount > 0 ]", "rule 1 'Rowcount > 0': unknown rule type 'Rowcount' (did you mean RowCount?"),
    ("Rules = [ RowCount > 0, Freshness < 3 ]", "rule 2 'Freshness < 3': unknown rule type 'Freshness'"),
    ("Rules = [ RowCount >> 0 ]", "rule 1 'RowCount >> 0': expected a number"),
    ("Rules = [ RowCount ]", "rule 1 'RowCount': expected a comparison"),
    ("Rules = [ RowCount 5 ]", "rule 1 'RowCount 5': expected a comparison"),
    ("Rules = [ RowCount > 1 2 ]", "rule 1 'RowCount > 1 2': unexpected '2' after the rule"),
    ('Rules = [ RowCount "a" > 1 ]', "RowCount takes no column"),
    ("Rules = [ Completeness nationality >= 0.95 ]",
     "rule 1 'Completeness nationality >= 0.95': expected a column name in double quotes"),
    ('Rules = [ Completeness "a" > 95 ]', "Completeness is a fraction from 0 to 1, not 95"),
    ("Rules = [ ColumnExists ]", "expected a column name in double quotes after ColumnExists"),
    ("Rules = [ DataFreshness <= 24 hrs ]", "rule 1 'DataFreshness <= 24 hrs': unknown time unit 'hrs'"),
    ("Rules = [ DataFreshness <= 24 ]", "DataFreshness compares an age: give a duration"),
    ("Rules = [ DataFreshness <= avg(last(3)) ]", "DataFreshness compares an age"),
    ("Rules = [ DataFreshness <= -1 hours ]", "a duration cannot be negative"),
    ("Rules = [ RowCount > 2 days ]", "RowCount compares a number, not a duration"),
    ("Rules = [ RowCount between 5 and 1 ]", "the lower bound comes first"),
    ("Rules = [ RowCount between 1 10 ]", "expected 'and' in between A and B"),
    ("Rules = [ RowCount > avg(last(0)) ]", "last(N) takes a whole number of harvests from 1, not 0"),
    ("Rules = [ RowCount > avg(last(2.5)) ]", "not 2.5"),
    ("Rules = [ RowCount > avg(3) ]", "expected last(N) inside avg(...)"),
    ("Rules = [ RowCount > avg(last(3)) * ]", "expected a number after '*'"),
    ("Rules = [ ]", "the Rules list is empty"),
    ("Rules = [ RowCount > 0, ]", "rule 2 is empty"),
    ("Rules = [ RowCount > 0", "the Rules list is not closed"),
    ("RowCount > 0", "expected a ruleset 'Rules = [ rule, ... ]', found 'RowCount' at line 1 column 1"),
    ("rules = [ RowCount > 0 ]", "expected a ruleset"),
    ("Rules = [ RowCount > 0 ] extra", "unexpected 'extra' after the Rules list at line 1 column 26"),
    ('Rules = [ ColumnExists "id ]', "a string opened at line 1 column 24 is not closed"),
    ("Rules = [ RowCount > 0 ) ]", "unbalanced ')'"),
    ("Rules = [ RowCount > 0; ]", "unexpected character ';' at line 1 column 23"),
])
def test_syntax_errors_are_one_line_naming_the_rule_or_the_place(ruleset, message):
    with pytest.raises(DqdlError) as caught:
        parse_ruleset(ruleset)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_rule_over_several_lines_is_named_on_one():
    with pytest.raises(DqdlError, match=r"^rule 1 'RowCount between 1 and x': "):
        parse_ruleset("Rules = [\n  RowCount between 1\n    and x\n]")
