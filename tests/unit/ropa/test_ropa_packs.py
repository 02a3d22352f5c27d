"""Review packs show text from AWS and from people as text: never Markdown structure, HTML or a template."""

from datetime import UTC, date, datetime

import pytest

from adc.ropa.packs import MAX_VALUE, md, sha256


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("<script>alert(1)</script>", r"\<script\>alert(1)\</script\>"),
        ("[click](javascript:alert(1))", r"\[click\](javascript:alert(1))"),
        ("![x](http://127.0.0.1/x.png)", r"\!\[x\](http://127.0.0.1/x.png)"),
        ("a | b", r"a \| b"),
        ("**bold** _it_ `code` ~~gone~~", r"\*\*bold\*\* \_it\_ \`code\` \~\~gone\~\~"),
        ("# heading", r"\# heading"),
        ("- item", r"\- item"),
        ("1. first", r"1\. first"),
        ("&lt;b&gt;", r"\&lt;b\&gt;"),
        ("line one\nline two\r\n| three", r"line one line two \| three"),
        ("2024-02-14", "2024-02-14"),
    ],
)
def test_md_escapes_everything_that_would_be_structure(given, shown):
    assert md(given) == shown


def test_md_keeps_template_syntax_as_visible_text():
    # Airflow never renders packs; the braces stay and show as typed
    assert md("{{ conn.aws_default.password }}") == r"{{ conn.aws\_default.password }}"


def test_md_bounds_long_values_and_shows_nothing_as_a_dash():
    assert len(md("x" * 10_000)) == MAX_VALUE
    assert md(None) == "—" and md("") == "—"


def test_md_formats_dates_lists_and_times():
    assert md(date(2026, 1, 2)) == "2026-01-02"
    assert md(datetime(2026, 1, 2, 3, 4, tzinfo=UTC)) == "2026-01-02 03:04 UTC"
    assert md(["IA-0001", "IA-0002"]) == "IA-0001, IA-0002"


def test_sha256_is_of_the_exact_text():
    assert sha256("a") != sha256("a\n")
    assert len(sha256("pack")) == 64
