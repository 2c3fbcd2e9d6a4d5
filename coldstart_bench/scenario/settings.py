"""Settings that leave the scenario to travel with a trial: plain frozen records built by
the schema (the only place their defaults are written), carried by the trial's plan and
stored in its record, read by the analysis from there.

No pydantic here: the results format stores these as they are, and reading a run back
must not need the scenario's validation machinery.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

LoadPattern = Literal["concurrent", "constant", "poisson", "burst"]


@dataclass(frozen=True, slots=True)
class LoadSettings:
    """A load trial's ``[load]`` table as it ran: the traffic, then how its figures judge
    it. Fields that records written before results schema 2 did not keep are None there."""

    pattern: LoadPattern
    start: Literal["spawn", "ready"]
    before_ready: Literal["hold", "retry"]
    slo_ttft_ms: float | None
    slo_total_ms: float | None
    steady_margin: float
    steady_window: int
    goodput_window_s: float
    rate: float | None = None
    concurrency: int | None = None
    requests: int | None = None
    duration_s: float | None = None
    retry_interval_ms: float | None = None
    warm_after_s: float | None = None
    seed: int | None = None  # of this trial's Poisson arrivals
