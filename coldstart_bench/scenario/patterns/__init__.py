"""Load patterns: how the arrivals of a ``[load]`` phase come. Each pattern is one module of
this package holding one :class:`~.base.LoadPattern` named ``PATTERN`` — its settings, its
checks, its arrival schedule, its wording and the panel its load picture draws — found
here by name, so a new pattern is one new module.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping

from coldstart_bench.scenario.patterns.base import LoadPattern, Panel

__all__ = ["PATTERNS", "LoadPattern", "Panel", "pattern"]


def _discover() -> dict[str, LoadPattern]:
    found: dict[str, LoadPattern] = {}
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module.name == "base":
            continue
        described = importlib.import_module(f"{__name__}.{module.name}").PATTERN
        found[described.name] = described
    return found


PATTERNS: Mapping[str, LoadPattern] = _discover()


def pattern(name: str) -> LoadPattern:
    """The pattern of that name (the schema has checked that there is one)."""
    return PATTERNS[name]
