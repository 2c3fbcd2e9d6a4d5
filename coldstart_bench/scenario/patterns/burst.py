"""``burst``: ``requests`` arrivals at once, at the phase's origin."""

from __future__ import annotations

import itertools

from coldstart_bench.scenario.patterns.base import LoadPattern, LoadTable


def _check(table: LoadTable) -> tuple[str, str] | None:
    if table.duration_s is not None:
        return "duration_s", "a burst has no duration: it is all at once"
    return None


PATTERN = LoadPattern(
    name="burst",
    doc="`requests` arrivals all at once",
    keys=frozenset(),
    needs=("requests",),
    check=_check,
    arrivals=lambda t: itertools.repeat(0.0, t.requests or 0),
    describe=lambda t: f"a burst of {t.requests}",
    panel="ranked",
)
