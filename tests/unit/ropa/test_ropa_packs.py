"""Review packs show text from AWS and from people as text: never Markdown structure, HTML, a link or a
template."""

import re
from datetime import UTC, date, datetime

import pytest
from markdown_it import MarkdownIt

from adc.register import triage
from adc.ropa.packs import MAX_VALUE, md, sha256

# Airflow's UI renders a question's body with react-markdown and remark-gfm. remark-gfm links these
# wherever they stand in a text node, after backslash escapes are resolved (its find-and-replace pass,
# mdast-util-gfm-autolink-literal); Python's \w is wider than JavaScript's, so this finds more, not less.
AUTOLINK = re.compile(r"(https?://|www(?=\.))[-.\w]+|[-.\w+]+@[-\w]+(\.[-\w]+)+", re.IGNORECASE)
MARKDOWN = MarkdownIt("commonmark").enable(["table", "strikethrough"])
LINKS = [
    "www.evil.example",
    "WWW.EVIL.EXAMPLE/login",
    "see https://evil.example/login?next=/admin#top now",
    "HTTP://EVIL.EXAMPLE",
    "[click](http://evil.example)",
    "<http://evil.example>",
    "![x](http://127.0.0.1/x.png)",
    "x.www.evil.example and (www.evil.example) and **www.evil.example**",
    "mailto:dpo@evil.example or dpo@evil.example",
    "a|http://evil.example|b",
    "`http://evil.example`",
    "``` www.evil.example ```",
    "www\\.evil\\.example and http\\://evil.example",  # backslash escapes would not stop remark-gfm
    "www&#46;evil.example and http&#58;//evil.example",  # nor would character references
]


def shown(markdown: str) -> list[tuple[str, str]]:
    """What a renderer makes of one line: (token type, text), text runs joined as remark joins them."""
    (line,) = MARKDOWN.parseInline(markdown)
    return [(token.type, token.content) for token in line.children]


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("<script>alert(1)</script>", r"\<script\>alert(1)\</script\>"),
        ("[click](javascript:alert(1))", r"\[click\](javascript:alert(1))"),
        ("![x](javascript:alert(1))", r"\!\[x\](javascript:alert(1))"),
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


@pytest.mark.reliability("security")
@pytest.mark.parametrize("escape", [md, triage.md], ids=["pack", "triage"])
@pytest.mark.parametrize("given", LINKS)
def test_a_url_or_www_from_aws_or_people_shows_as_text_never_as_a_link(escape, given):
    tokens = shown(escape(given))
    assert {kind for kind, _ in tokens} <= {"text", "code_inline"}  # no link, image, HTML or emphasis
    assert not [text for kind, text in tokens if kind == "text" and AUTOLINK.search(text)]  # none for remark-gfm
    assert "".join(text for _, text in tokens) == " ".join(given.split())  # shown exactly as it came


def test_a_link_shows_as_typed_in_a_code_span_even_with_backticks_and_in_a_table():
    assert md("[x](http://evil)") == "`[x](http://evil)`"
    assert md("<http://evil>") == "`<http://evil>`"
    assert md("see `www.evil` now") == "see `` `www.evil` `` now"  # a longer fence; the pad is not shown
    cell = MARKDOWN.render(f"| a |\n|---|\n| {md('x|http://evil|y')} |")
    assert cell.count("<td>") == 1 and "<td>x|<code>http://evil</code>|y</td>" in cell
