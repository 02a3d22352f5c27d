"""The report helpers: a sandboxed, autoescaping Jinja environment and formula-guarded CSV."""

from __future__ import annotations

import pytest
from jinja2.exceptions import SecurityError, UndefinedError

from adc.reports import environment
from adc.tabular import csv_text


def test_values_are_escaped_and_never_evaluated():
    template = environment().from_string("<p>{{ tag }}</p>")
    assert template.render(tag="<script>x</script>{{ 7*7 }}") == "<p>&lt;script&gt;x&lt;/script&gt;{{ 7*7 }}</p>"


def test_the_sandbox_keeps_templates_away_from_python_internals():
    with pytest.raises((SecurityError, UndefinedError)):
        environment().from_string("{{ x.__class__.__mro__ }}").render(x="")
    with pytest.raises(SecurityError):
        environment().from_string("{{ f.__globals__ }}").render(f=lambda: None)


def test_csv_cells_that_a_spreadsheet_would_run_are_guarded():
    text = csv_text(["a", "b"], [["=1+1", "@SUM(A1)"], ["-2", None]])
    assert text.splitlines() == ["a,b", "'=1+1,'@SUM(A1)", "'-2,"]
