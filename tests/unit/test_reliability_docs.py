"""docs/reliability.md lists every case of the reliability suite, and names no test that does not exist.

The cases are the tests marked ``reliability(area, ...)``; the ones collected in this session are
checked (all of them under `make test`). `make reliability` rewrites the results table.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.reliability_report import ReliabilityReport, areas_of

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "reliability.md"


def test_every_reliability_case_collected_here_is_in_the_docs(request):
    text = DOC.read_text()
    cases = {ReliabilityReport.function(item) for item in request.session.items if areas_of(item)}
    missing = sorted(case for case in cases if f"`{case}`" not in text)
    assert not missing, f"not in docs/reliability.md (run `make reliability`): {missing}"


def test_the_docs_name_only_tests_that_exist():
    named = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", DOC.read_text())
    assert named
    for path, name in named:
        assert re.search(rf"^def {name}\(", (ROOT / path).read_text(), re.M), f"{path}::{name} is gone"
