"""``constant``: one arrival every 1/rate seconds."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from coldstart_bench.scenario.patterns.base import LoadPattern, LoadTable, sized


def _arrivals(table: LoadTable) -> Iterator[float]:
    assert table.rate is not None
    rate = table.rate
    horizon = table.duration_s if table.duration_s is not None else float("inf")
    steps = itertools.count() if table.requests is None else range(table.requests)
    return itertools.takewhile(lambda at: at < horizon, (i / rate for i in steps))


PATTERN = LoadPattern(
    name="constant",
    doc="one arrival every 1/`rate` seconds",
    keys=frozenset({"rate", "until_after_ready_s"}),
    needs=("rate",),
    check=sized,
    arrivals=_arrivals,
    describe=lambda t: f"constant {t.rate:g} req/s",
    panel="timeline",
)
