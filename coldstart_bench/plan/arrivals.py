"""When each request of a load phase arrives, in seconds after the phase's origin (spawn or
ready): a fixed rate, a Poisson process (exponential gaps, seeded per trial, so a run can
be repeated), or a burst (all at once). The ``concurrent`` pattern has no schedule: each of
its clients sends the next request when its last one is answered (a closed loop)."""

from __future__ import annotations

import random

from coldstart_bench.scenario.settings import LoadSettings


def arrivals(load: LoadSettings) -> list[float] | None:
    """Arrival offsets (s, ascending) of one phase; None for the closed-loop pattern."""
    if load.pattern == "concurrent":
        return None
    if load.pattern == "burst":
        return [0.0] * (load.requests or 0)
    assert load.rate is not None
    limit = load.requests if load.requests is not None else None
    horizon = load.duration_s if load.duration_s is not None else float("inf")
    rng = random.Random(load.seed)
    offsets: list[float] = []
    at = 0.0
    while (limit is None or len(offsets) < limit) and at < horizon:
        offsets.append(at)
        at += 1.0 / load.rate if load.pattern == "constant" else rng.expovariate(load.rate)
    return offsets
