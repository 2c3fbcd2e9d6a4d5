"""Template variables in scenario strings: ``{port}``, ``{python}``, ``{warmup}``...

Only ``{identifier}`` and ``{identifier.identifier}`` are placeholders, so JSON or
Python snippets in commands (``{"a": 1}``, ``{}``) pass through untouched. ``{{`` and
``}}`` write a literal brace.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from coldstart_bench.scenario.messages import did_you_mean

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+)?)\}")


class UnknownVariable(KeyError):
    def __init__(self, name: str, known: Iterable[str]) -> None:
        self.name = name
        self.hint = did_you_mean(name, known, "; did you mean {{{}}}?")
        super().__init__(name)

    def describe(self) -> str:
        return f"unknown template variable {{{self.name}}}{self.hint}"


def variables_in(text: str) -> list[str]:
    """Names of the placeholders used in ``text``, in order of appearance."""
    return [m.group(1) for m in _PLACEHOLDER.finditer(text) if m.group(1)]


def render(text: str, values: Mapping[str, str]) -> str:
    """Replace every placeholder; raise :class:`UnknownVariable` for a name not in ``values``."""

    def substitute(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        name = match.group(1)
        if name not in values:
            raise UnknownVariable(name, values)
        return values[name]

    return _PLACEHOLDER.sub(substitute, text)
