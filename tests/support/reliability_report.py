"""docs/reliability.md's table of results: which case, which test proves it, how it ended.

`make reliability` runs every test marked ``reliability(area, ...)`` with
``--reliability-report docs/reliability.md``; this plugin collects each outcome and rewrites the
part of the file between the results markers, area by area (the hand-written part above stays).
A test's parameters (sqlite/postgres, the kind of fault) are folded into one row.
"""

from __future__ import annotations

import os
import platform
import re
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

AREAS = {"faults": "Faults", "input": "Bad and hostile input", "security": "Security"}
START, END = "<!-- reliability:results:start -->", "<!-- reliability:results:end -->"


def areas_of(item: pytest.Item) -> tuple[str, ...]:
    """The areas a test is a case of (its reliability marker's arguments)."""
    marker = item.get_closest_marker("reliability")
    if marker is None:
        return ()
    unknown = set(marker.args) - set(AREAS)
    if not marker.args or unknown:
        raise pytest.UsageError(f"{item.nodeid}: reliability needs areas from {sorted(AREAS)}, got {marker.args}")
    return marker.args


def case_of(item: pytest.Item) -> str:
    """The case as the test's name says it (test names read as sentences of behaviour)."""
    name = item.originalname if hasattr(item, "originalname") else item.name
    return name.removeprefix("test_").replace("_", " ").capitalize()


class ReliabilityReport:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.items: dict[str, pytest.Item] = {}
        self.outcomes: dict[str, list[tuple[str, str, str]]] = defaultdict(list)  # function -> (param, outcome, why)

    @staticmethod
    def function(item: pytest.Item) -> str:
        return item.nodeid.split("[", 1)[0]

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            if areas_of(item):
                self.items.setdefault(self.function(item), item)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        function = report.nodeid.split("[", 1)[0]
        if function not in self.items or not (report.when == "call" or report.outcome != "passed"):
            return
        param = report.nodeid[len(function) + 1:-1] if "[" in report.nodeid else ""
        why = ""
        if report.skipped and isinstance(report.longrepr, tuple):
            why = report.longrepr[2].removeprefix("Skipped: ")
        self.outcomes[function].append((param, report.outcome, why))

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.outcomes:
            return
        text = self.path.read_text() if self.path.exists() else f"{START}\n{END}\n"
        pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
        self.path.write_text(pattern.sub(lambda _: f"{START}\n{self.render()}\n{END}", text))

    def render(self) -> str:
        lines = [f"_Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.python_version()}, "
                 f"{os.cpu_count()} CPUs: `make reliability`._"]
        for area, heading in AREAS.items():
            rows = [(case_of(item), function) for function, item in self.items.items() if area in areas_of(item)]
            lines += ["", f"### {heading}", "", "| case | test | result |", "|---|---|---|"]
            for case, function in sorted(rows, key=lambda row: row[1]):
                lines.append(f"| {case} | `{function}` | {self.result(function)} |")
        return "\n".join(lines)

    def result(self, function: str) -> str:
        outcomes = self.outcomes.get(function)
        if not outcomes:
            return "not run"
        by_outcome: dict[str, list[str]] = defaultdict(list)
        for param, outcome, why in outcomes:
            by_outcome[outcome].append(param + (f" ({why})" if why else ""))
        return "; ".join(f"{outcome}{_params(params)}" for outcome, params in sorted(by_outcome.items()))


def _params(params: list[str]) -> str:
    """Short parameters (sqlite, postgres, a fault's kind) by name; long ones (whole inputs) by count."""
    if not any(params):
        return ""
    if all(len(p) <= 40 and "\\n" not in p for p in params):
        return ": " + ", ".join(p for p in params if p)
    return f" ({len(params)} cases)"
