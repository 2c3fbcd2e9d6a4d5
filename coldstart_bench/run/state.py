"""What one trial has found so far, and how long it may still take. A trial (plain or
under load) fills a :class:`TrialState` as it goes; its record is made from it at the end."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from coldstart_bench.results.schema import (
    ChaosOutcome,
    CompileCacheState,
    EscapedProcess,
    FleetRecord,
    LoadRecord,
    PageCacheState,
    RequestRecord,
    Status,
)
from coldstart_bench.scenario.settings import LoadSettings


@dataclass(frozen=True)
class Deadline:
    """The end of a trial's time: ``trial_timeout_s`` after t0, or none."""

    at_ns: int | None

    @classmethod
    def after(cls, t0_ns: int, timeout_s: float | None) -> Deadline:
        return cls(t0_ns + int(timeout_s * 1e9) if timeout_s else None)

    def left_s(self) -> float | None:
        """Seconds left (0 once past it); None without a deadline."""
        if self.at_ns is None:
            return None
        return max((self.at_ns - time.perf_counter_ns()) / 1e9, 0.0)


@dataclass
class TrialState:
    status: Status = "ok"
    error: str | None = None
    prepare_ms: float | None = None
    page_cache_ms: float | None = None
    teardown_ms: float | None = None
    requests: list[RequestRecord] = field(default_factory=list)
    load: list[LoadRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    load_settings: LoadSettings | None = None
    page_cache: PageCacheState | None = None
    compile_cache: CompileCacheState | None = None
    chaos: ChaosOutcome | None = None
    escaped: tuple[EscapedProcess, ...] = ()
    fleet: FleetRecord | None = None

    def fail(self, status: Status, error: str) -> None:
        """The first failure is the trial's; later ones follow from it."""
        if self.status == "ok":
            self.status, self.error = status, error
