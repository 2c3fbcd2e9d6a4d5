"""When each request of a load phase arrives, in seconds after the phase's origin (spawn or
ready): a fixed rate, a Poisson process (exponential gaps, seeded per trial, so a run can
be repeated), or a burst (all at once). The ``concurrent`` pattern has no schedule: each of
its clients sends the next request when its last one is answered (a closed loop)."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator

from coldstart_bench.scenario.settings import LoadSettings


def arrivals(load: LoadSettings) -> Iterator[float] | None:
    """Arrival offsets (s, ascending) of one phase, made as they are needed (a day at
    100,000 req/s is 8.6 billion of them); None for the closed-loop pattern."""
    if load.pattern == "concurrent":
        return None
    if load.pattern == "burst":
        return itertools.repeat(0.0, load.requests or 0)
    return _timed(load)


def _timed(load: LoadSettings) -> Iterator[float]:
    assert load.rate is not None
    limit = load.requests
    horizon = load.duration_s if load.duration_s is not None else float("inf")
    rng = random.Random(load.seed)
    at, made = 0.0, 0
    while (limit is None or made < limit) and at < horizon:
        yield at
        made += 1
        at += 1.0 / load.rate if load.pattern == "constant" else rng.expovariate(load.rate)
