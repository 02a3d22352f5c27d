"""Text from AWS or from people as inert Markdown, for the bodies Airflow's UI shows (react-markdown
with remark-gfm): it shows as typed, never as structure, HTML or a link.

Backslash escapes cannot stop GFM's autolink literals (``www.``, ``http://``, ``https://``, e-mail
addresses): remark-gfm also links them by a regex over each text node after escapes are resolved, so
``www\\.evil\\.com`` still becomes a link. Only a code span, which is not a text node, keeps them text.
"""

from __future__ import annotations

import re

_MARKDOWN = re.compile(r"([\\`*_\[\]<>|~&#!])")
_LEADING = re.compile(r"^(\d+[.)]|[-+=])")  # would start a list item or a setext heading
_LINKABLE = re.compile(r"https?://|www\.|@", re.IGNORECASE)  # where remark-gfm's autolink literals start
_WORD = re.compile(r"[^ |]+|\|")  # a pipe stands alone: inside a code span it would still split a table cell
_BACKTICKS = re.compile(r"`+")


def _code(text: str) -> str:
    """``text`` as a code span that shows it exactly: the fence is longer than any run of backticks in
    it, and a space pads a backtick at either end (CommonMark strips one from each side)."""
    fence = "`" * (max(map(len, _BACKTICKS.findall(text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def inert(text: str) -> str:
    """One line of text as inert Markdown: words GFM would autolink become code spans, every other
    Markdown and HTML character is escaped, and nothing at the start can begin a list or a heading."""
    text = " ".join(text.split())  # a line break or a tab would start a new block
    text = _WORD.sub(lambda m: _code(m[0]) if _LINKABLE.search(m[0]) else _MARKDOWN.sub(r"\\\1", m[0]), text)
    return _LEADING.sub(lambda m: m[0][:-1] + "\\" + m[0][-1], text)
