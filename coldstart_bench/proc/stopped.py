"""How a service's teardown went, for its record."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class StopReport:
    stopped_by: str | None = None  # the signal that ended it, or "exited"
    exit_code: int | None = None
    teardown_ns: int = 0
    leftover_pids: list[int] = field(default_factory=list)  # alive after the grace
    survivors: list[int] = field(default_factory=list)  # alive even after SIGKILL
    shm_removed: list[str] = field(default_factory=list)  # /dev/shm files it left, removed
