"""``concurrent``: ``concurrency`` clients in a closed loop, each sending its next request
once its last one is answered (no schedule of arrivals)."""

from __future__ import annotations

from coldstart_bench.scenario.patterns.base import LoadPattern, sized

PATTERN = LoadPattern(
    name="concurrent",
    doc="`concurrency` clients in a closed loop, each sending again once answered",
    keys=frozenset({"concurrency"}),
    needs=(),
    check=sized,
    arrivals=lambda _t: None,
    describe=lambda t: f"{t.concurrency} client(s) in a closed loop",
    panel="timeline",
)
