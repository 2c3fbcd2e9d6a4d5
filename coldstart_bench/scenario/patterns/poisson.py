"""``poisson``: arrivals of a Poisson process at ``rate`` (exponential gaps, seeded per
trial, so a run can be repeated)."""

from __future__ import annotations

import random
from collections.abc import Iterator

from coldstart_bench.scenario.patterns.base import LoadPattern, LoadTable, sized


def _arrivals(table: LoadTable) -> Iterator[float]:
    assert table.rate is not None
    limit = table.requests
    horizon = table.duration_s if table.duration_s is not None else float("inf")
    rng = random.Random(table.seed)
    at, made = 0.0, 0
    while (limit is None or made < limit) and at < horizon:
        yield at
        made += 1
        at += rng.expovariate(table.rate)


PATTERN = LoadPattern(
    name="poisson",
    doc="a Poisson process at `rate` (exponential gaps, seeded per trial)",
    keys=frozenset({"rate", "until_after_ready_s"}),
    needs=("rate",),
    check=sized,
    arrivals=_arrivals,
    describe=lambda t: f"poisson {t.rate:g} req/s",
    panel="timeline",
)
