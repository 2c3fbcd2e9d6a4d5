"""When each request of a load phase arrives, in seconds after the phase's origin (spawn or
ready): the schedule of the phase's pattern (:mod:`coldstart_bench.scenario.patterns`)."""

from __future__ import annotations

from collections.abc import Iterator

from coldstart_bench.scenario.patterns import pattern
from coldstart_bench.scenario.settings import LoadSettings


def arrivals(load: LoadSettings) -> Iterator[float] | None:
    """Arrival offsets (s, ascending) of one phase, made as they are needed (a day at
    100,000 req/s is 8.6 billion of them); None for a closed-loop pattern."""
    return pattern(load.pattern).arrivals(load)
