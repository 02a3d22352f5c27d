"""DQDL, AWS Glue's Data Quality Definition Language: the rules of quality.yaml, parsed.

A ruleset is ``Rules = [ rule, rule, ... ]``; ``#`` starts a comment. ADC evaluates, from the metadata
a harvest already reads (no data scans):

- ``RowCount``, ``ColumnCount``, and ADC's own ``ObjectCount`` and ``SizeBytes`` (not DQDL: Glue
  rejects them), each with a comparison;
- ``Completeness "col"`` with a fraction from 0 to 1, and ``IsComplete "col"`` (no comparison);
- ``ColumnExists "col"`` (no comparison);
- ``DataFreshness`` with a duration (``<= 24 hours``): the age of the newest data the metadata shows.

A comparison is ``>``, ``>=``, ``<``, ``<=``, ``=``, ``!=`` or ``between A and B`` (both ends included).
A threshold is a number, a duration (``30 minutes``, ``24 hours``, ``3 days``) or a dynamic
expression over the earlier harvests: ``avg(last(N))``, ``min(last(N))`` or ``max(last(N))``,
optionally ``* x``, ``+ x`` or ``- x``.

Every other DQDL rule type, composite rules (``(A) and (B)``), ``DataFreshness "col"`` and rules
with a ``where`` clause parse into :class:`Unsupported`, carrying why ADC cannot evaluate them from
metadata: they are reported unknown, never passed. A rule type DQDL does not know, or a malformed
rule, raises :class:`DqdlError` naming the rule's number and text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar, Literal, NamedTuple

Operator = Literal[">", ">=", "<", "<=", "=", "!=", "between"]
Aggregate = Literal["avg", "min", "max"]

UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}

# The rule types ADC evaluates, and what each compares.
SUPPORTED = ("RowCount", "ColumnCount", "ObjectCount", "SizeBytes", "Completeness", "IsComplete",
             "ColumnExists", "DataFreshness")

_VALUES = "it needs the column's values, and ADC reads no values: only counts from metadata"
_OTHER_DATASET = "it compares this dataset's data with another dataset's, and ADC reads no rows"
# DQDL's other rule types (docs.aws.amazon.com/glue/latest/dg/dqdl-rule-types.html), and why ADC
# cannot evaluate each from metadata.
UNSUPPORTED = {
    "AggregateMatch": _OTHER_DATASET,
    "ColumnCorrelation": _VALUES,
    "ColumnDataType": _VALUES,
    "ColumnLength": _VALUES,
    "ColumnNamesMatchPattern": "ADC does not evaluate column name patterns yet (use ColumnExists)",
    "ColumnValues": _VALUES,
    "CustomSql": "it runs SQL over the rows, and ADC reads no rows",
    "DatasetMatch": _OTHER_DATASET,
    "DetectAnomalies": "ADC watches every dataset's metrics history for anomalies itself, without a rule",
    "DistinctValuesCount": _VALUES,
    "Entropy": _VALUES,
    "FileFreshness": "it checks files by path; DataFreshness measures the dataset's newest data from metadata",
    "FileMatch": "it compares file contents (checksums), which ADC does not read",
    "FileSize": "it checks files one by one; SizeBytes measures the dataset's total from metadata",
    "FileUniqueness": "it compares file contents (checksums), which ADC does not read",
    "IsPrimaryKey": _VALUES,
    "IsUnique": _VALUES,
    "Mean": _VALUES,
    "ReferentialIntegrity": _OTHER_DATASET,
    "RowCountMatch": _OTHER_DATASET,
    "SchemaMatch": _OTHER_DATASET,
    "StandardDeviation": _VALUES,
    "Sum": _VALUES,
    "UniqueValueRatio": _VALUES,
    "Uniqueness": _VALUES,
}
COMPOSITE = "ADC does not evaluate composite rules ((A) and (B), (A) or (B)): declare each rule on its own"
WHERE = "a where clause filters rows, and ADC reads no rows"
FRESHNESS_COLUMN = ("ADC reads no column values, so the newest value of a column is unknown: DataFreshness "
                    "without a column measures the newest data the metadata shows")


class DqdlError(ValueError):
    """A ruleset that is not DQDL, or a rule ADC's checks refuse; the message is one line."""


@dataclass(frozen=True)
class Number:
    value: float

    def __str__(self) -> str:
        return _num(self.value)


@dataclass(frozen=True)
class Duration:
    amount: float
    unit: str  # as written: minutes, hours, days (or the singular)

    @property
    def seconds(self) -> float:
        return self.amount * UNITS[self.unit]

    def __str__(self) -> str:
        return f"{_num(self.amount)} {self.unit}"


@dataclass(frozen=True)
class Dynamic:
    """``avg(last(N)) * x``: a threshold from the metric's values in the N harvests before this one."""

    function: Aggregate
    last: int
    op: Literal["*", "+", "-"] | None = None
    operand: float | None = None

    def apply(self, values: list[float]) -> float:
        """The threshold given the earlier values (exactly ``last`` of them)."""
        base = {"avg": sum(values) / len(values), "min": min(values), "max": max(values)}[self.function]
        if self.op is None or self.operand is None:
            return base
        return {"*": base * self.operand, "+": base + self.operand, "-": base - self.operand}[self.op]

    def __str__(self) -> str:
        arithmetic = f" {self.op} {_num(self.operand)}" if self.op is not None and self.operand is not None else ""
        return f"{self.function}(last({self.last})){arithmetic}"


Threshold = Number | Duration | Dynamic


@dataclass(frozen=True)
class Condition:
    operator: Operator
    bounds: tuple[Threshold, ...]  # one, or two for between

    @property
    def dynamic(self) -> bool:
        return any(isinstance(b, Dynamic) for b in self.bounds)

    def __str__(self) -> str:
        if self.operator == "between":
            return f"between {self.bounds[0]} and {self.bounds[1]}"
        return f"{self.operator} {self.bounds[0]}"


@dataclass(frozen=True)
class Rule:
    """A rule ADC evaluates from metadata."""

    supported: ClassVar[bool] = True
    text: str  # as written (whitespace collapsed)
    kind: str  # one of SUPPORTED
    column: str | None = None
    condition: Condition | None = None  # None for ColumnExists and IsComplete


@dataclass(frozen=True)
class Unsupported:
    """A valid DQDL rule ADC cannot evaluate from metadata: always unknown, with the reason."""

    supported: ClassVar[bool] = False
    text: str
    kind: str  # the rule type, or "Composite"
    reason: str


AnyRule = Rule | Unsupported


def parse_ruleset(source: str) -> tuple[AnyRule, ...]:
    """The rules of ``Rules = [ ... ]``, in order; DqdlError (one line) when it is not valid."""
    return _parse_ruleset(source)


@lru_cache(maxsize=256)  # the same file is read often; rules are frozen
def _parse_ruleset(source: str) -> tuple[AnyRule, ...]:
    tokens = _tokenize(source)
    at = 0

    def expect(text: str, what: str) -> None:
        nonlocal at
        if at >= len(tokens) or tokens[at].text != text:
            found = f"{tokens[at].text!r} at {_where(source, tokens[at].start)}" if at < len(tokens) else "the end"
            raise DqdlError(f"expected {what}, found {found}")
        at += 1

    expect("Rules", "a ruleset 'Rules = [ rule, ... ]'")
    expect("=", "'=' after Rules")
    expect("[", "'[' after 'Rules ='")
    rules: list[AnyRule] = []
    while True:
        start, depth = at, 0
        while True:
            if at >= len(tokens):
                raise DqdlError("the Rules list is not closed: expected ']' at the end")
            text = tokens[at].text
            if depth == 0 and text in (",", "]"):
                break
            if text in ("(", "["):
                depth += 1
            elif text in (")", "]"):
                if depth == 0:
                    raise DqdlError(f"unbalanced {text!r} at {_where(source, tokens[at].start)}")
                depth -= 1
            at += 1
        number = len(rules) + 1
        if at == start:
            if tokens[at].text == "]" and not rules:
                raise DqdlError("the Rules list is empty: give at least one rule")
            raise DqdlError(f"rule {number} is empty (at {_where(source, tokens[at].start)}): "
                            "two commas, or a comma before ']'")
        rules.append(_parse_rule(tokens[start:at], number, source))
        at += 1
        if tokens[at - 1].text == "]":
            break
    if at < len(tokens):
        raise DqdlError(f"unexpected {tokens[at].text!r} after the Rules list at {_where(source, tokens[at].start)}")
    return tuple(rules)


class _Token(NamedTuple):
    kind: str  # string, number, word, op, punct
    text: str
    start: int
    end: int


_TOKEN = re.compile(r"""
    (?P<space>\s+|\#[^\n]*)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<number>\d+(?:\.\d+)?|\.\d+)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>>=|<=|!=|[<>=])
  | (?P<punct>[\[\](),*+\-/:])
""", re.VERBOSE)


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    at = 0
    while at < len(source):
        match = _TOKEN.match(source, at)
        if match is None:
            if source[at] == '"':
                raise DqdlError(f"a string opened at {_where(source, at)} is not closed")
            raise DqdlError(f"unexpected character {source[at]!r} at {_where(source, at)}")
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(_Token(kind, match.group(), at, match.end()))
        at = match.end()
    return tokens


def _where(source: str, offset: int) -> str:
    line = source.count("\n", 0, offset) + 1
    column = offset - (source.rfind("\n", 0, offset) + 1) + 1
    return f"line {line} column {column}"


def _num(value: float | None) -> str:
    return "" if value is None else (str(int(value)) if float(value).is_integer() else str(value))


class _RuleParser:
    """One rule's tokens, read left to right."""

    def __init__(self, tokens: list[_Token], number: int, text: str):
        self.tokens, self.at, self.index, self.text = tokens, 0, number, text

    def fail(self, message: str) -> DqdlError:
        return DqdlError(f"rule {self.index} {self.text!r}: {message}")

    def peek(self, ahead: int = 0) -> _Token | None:
        return self.tokens[self.at + ahead] if self.at + ahead < len(self.tokens) else None

    def next(self, what: str) -> _Token:
        token = self.peek()
        if token is None:
            raise self.fail(f"expected {what} at the end of the rule")
        self.at += 1
        return token

    def expect(self, text: str, what: str) -> None:
        token = self.next(what)
        if token.text != text:
            raise self.fail(f"expected {what}, not {token.text!r}")

    def column(self, kind: str) -> str:
        token = self.next(f'a column name in double quotes after {kind}')
        if token.kind != "string":
            raise self.fail(f'expected a column name in double quotes after {kind}, not {token.text!r}')
        name = re.sub(r"\\(.)", r"\1", token.text[1:-1])
        if not name:
            raise self.fail("the column name is empty")
        return name

    def condition(self, kind: str) -> Condition:
        what = "a comparison (>, >=, <, <=, =, != or between A and B)"
        token = self.next(f"{what} after {kind}")
        if token.text == "between":
            low = self.threshold()
            self.expect("and", "'and' in between A and B")
            return Condition("between", (low, self.threshold()))
        if token.kind != "op":
            raise self.fail(f"expected {what} after {kind}, not {token.text!r}")
        return Condition(token.text, (self.threshold(),))  # type: ignore[arg-type]  # op is one of Operator

    def number(self, what: str) -> float:
        sign = -1.0 if self.peek() is not None and self.peek().text == "-" else 1.0  # type: ignore[union-attr]
        if sign < 0:
            self.at += 1
        token = self.next(what)
        if token.kind != "number":
            raise self.fail(f"expected {what}, not {token.text!r}")
        return sign * float(token.text)

    def threshold(self) -> Threshold:
        what = "a number, a duration such as 24 hours, or avg/min/max(last(N))"
        token = self.peek()
        if token is not None and token.text in ("avg", "min", "max"):
            return self.dynamic()
        value = self.number(what)
        unit = self.peek()
        if unit is not None and unit.kind == "word" and unit.text not in ("and", "where", "with"):
            self.at += 1
            if unit.text not in UNITS:
                raise self.fail(f"unknown time unit {unit.text!r} after {_num(value)}: use minutes, hours or days")
            if value < 0:
                raise self.fail(f"a duration cannot be negative ({_num(value)} {unit.text})")
            return Duration(value, unit.text)
        return Number(value)

    def dynamic(self) -> Dynamic:
        function = self.next("avg, min or max").text
        self.expect("(", f"'(' after {function}")
        self.expect("last", f"last(N) inside {function}(...)")
        self.expect("(", "'(' after last")
        count = self.number("how many earlier harvests, last(N)")
        if count < 1 or not count.is_integer():
            raise self.fail(f"last(N) takes a whole number of harvests from 1, not {_num(count)}")
        self.expect(")", "')' after last(N")
        self.expect(")", f"')' closing {function}(")
        token = self.peek()
        if token is not None and token.text in ("*", "+", "-"):
            self.at += 1
            operand = self.number(f"a number after {token.text!r}")
            return Dynamic(function, int(count), token.text, operand)  # type: ignore[arg-type]
        return Dynamic(function, int(count))  # type: ignore[arg-type]


def _parse_rule(tokens: list[_Token], number: int, source: str) -> AnyRule:
    text = " ".join(source[tokens[0].start:tokens[-1].end].split())
    rule = _RuleParser(tokens, number, text)
    first = tokens[0]
    if first.text == "(":
        return Unsupported(text, "Composite", COMPOSITE)
    kind = first.text
    if first.kind != "word":
        raise rule.fail(f"expected a rule type such as RowCount, not {kind!r}")
    if kind in UNSUPPORTED:
        return Unsupported(text, kind, UNSUPPORTED[kind])
    if kind not in SUPPORTED:
        near = [k for k in (*SUPPORTED, *UNSUPPORTED) if k.lower() == kind.lower()]
        hint = f" (did you mean {near[0]}? rule types are case-sensitive)" if near else ""
        raise rule.fail(f"unknown rule type {kind!r}{hint}; ADC evaluates {', '.join(SUPPORTED)}")
    rule.at = 1
    column: str | None = None
    token = rule.peek()
    if kind in ("Completeness", "IsComplete", "ColumnExists") or (kind == "DataFreshness" and token is not None
                                                                   and token.kind == "string"):
        column = rule.column(kind)
    elif token is not None and token.kind == "string":
        raise rule.fail(f"{kind} takes no column")
    condition = None if kind in ("ColumnExists", "IsComplete") else rule.condition(kind)
    if condition is not None:
        _check_bounds(rule, kind, condition)
    token = rule.peek()
    if token is not None and token.text == "where":
        rule.at += 1
        if rule.next("a condition in double quotes after where").kind != "string" or rule.peek() is not None:
            raise rule.fail('expected where "condition" at the end of the rule')
        return Unsupported(text, kind, WHERE)
    if token is not None:
        raise rule.fail(f"unexpected {token.text!r} after the rule")
    if kind == "DataFreshness" and column is not None:
        return Unsupported(text, kind, FRESHNESS_COLUMN)
    return Rule(text, kind, column, condition)


def _check_bounds(rule: _RuleParser, kind: str, condition: Condition) -> None:
    for bound in condition.bounds:
        if kind == "DataFreshness" and not isinstance(bound, Duration):
            raise rule.fail(f"DataFreshness compares an age: give a duration such as 24 hours, not {bound}")
        if kind != "DataFreshness" and isinstance(bound, Duration):
            raise rule.fail(f"{kind} compares a number, not a duration ({bound})")
        if kind == "Completeness" and isinstance(bound, Number) and not 0 <= bound.value <= 1:
            raise rule.fail(f"Completeness is a fraction from 0 to 1, not {bound}")
    if condition.operator == "between":
        low, high = condition.bounds
        values = [b.value if isinstance(b, Number) else b.seconds if isinstance(b, Duration) else None
                  for b in (low, high)]
        if values[0] is not None and values[1] is not None and values[0] > values[1]:
            raise rule.fail(f"between {low} and {high}: the lower bound comes first")
