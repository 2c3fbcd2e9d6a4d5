"""Markdown that cannot break out of its place: table cells, list items."""

from __future__ import annotations


def md_escape(text: str) -> str:
    """Safe in a Markdown table cell: no pipes, no line breaks, no raw HTML."""
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("|", "\\|")
        .replace("\r", " ")
        .replace("\n", " ")
    )
