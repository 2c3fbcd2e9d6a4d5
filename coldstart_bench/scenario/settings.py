"""Settings that leave the scenario to travel with a trial: plain frozen records built by
the schema (the only place their defaults are written), carried by the trial's plan and
stored in its record, read by the analysis from there.

No pydantic here: the results format stores these as they are, and reading a run back
must not need the scenario's validation machinery.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class LoadSettings:
    """A load trial's ``[load]`` table as it ran: the traffic, then how its figures judge
    it. Fields that records written before results schema 2 did not keep are None there."""

    pattern: str
    """`[load] pattern` (one of `coldstart_bench/scenario/patterns/`)."""
    start: Literal["spawn", "ready"]
    """`[load] start`."""
    before_ready: Literal["hold", "retry"]
    """`[load] before_ready`, or the `before_ready` factor's level."""
    slo_ttft_ms: float | None
    """`[load] slo.ttft_ms`."""
    slo_total_ms: float | None
    """`[load] slo.total_ms`."""
    steady_margin: float
    """`[load] steady_margin`."""
    steady_window: int
    """`[load] steady_window`."""
    goodput_window_s: float
    """`[load] goodput_window_s`."""
    rate: float | None = None
    """`[load] rate`."""
    concurrency: int | None = None
    """`[load] concurrency`."""
    requests: int | None = None
    """`[load] requests`."""
    duration_s: float | None = None
    """`[load] duration_s`."""
    retry_interval_ms: float | None = None
    """`[load] retry_interval_ms`."""
    warm_after_s: float | None = None
    """`[load] warm_after_s`."""
    until_after_ready_s: float | None = None
    """`[load] until_after_ready_s`."""
    seed: int | None = None
    """The seed of this trial's Poisson arrivals."""
