"""Markdown as Bitbucket renders it into the ``html`` of every ``{raw, markup, html}`` field and for
``format=rendered``: CommonMark plus tables and strikethrough, with raw HTML escaped (never passed through) and
unsafe link schemes (``javascript:``...) refused, so user text can never come back as live markup."""

from __future__ import annotations

import html
from functools import lru_cache
from typing import Any

from markdown_it import MarkdownIt

_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


@lru_cache(maxsize=8192)  # the same titles, descriptions and comments are rendered on every listing
def markdown_html(raw: str) -> str:
    """``<p>text</p>`` for plain text, as Bitbucket answers; the empty string for empty text."""
    return _MARKDOWN.render(raw).rstrip("\n") if raw.strip() else ""


def preformatted_html(raw: str) -> str:
    """Text no renderer here understands, shown as it is."""
    return f"<pre>{html.escape(raw)}</pre>" if raw else ""


def rendered(raw: str, markup: str = "markdown") -> dict[str, Any]:
    body = markdown_html(raw) if markup == "markdown" else preformatted_html(raw)
    return {"raw": raw, "markup": markup, "html": body}
