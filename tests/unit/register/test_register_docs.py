"""docs/register.md keeps up with the code: every register column and every finding kind is documented."""

from __future__ import annotations

from pathlib import Path

from adc.register import KINDS
from adc.register.assets import COLUMNS

DOC = (Path(__file__).resolve().parents[3] / "docs" / "register.md").read_text()


def test_every_column_is_documented():
    assert [c.name for c in COLUMNS if f"| `{c.name}` |" not in DOC] == []


def test_every_finding_kind_is_documented():
    assert [k for k in KINDS if f"| `{k}` |" not in DOC] == []
