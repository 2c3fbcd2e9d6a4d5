"""What every load pattern says about itself (see the package's docstring)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal, Protocol

# How the load picture draws a variant's cold phase: each request at its arrival since
# ready, with rolling percentiles (arrivals spread in time), or the requests ranked fastest
# first, cold against warm (all arriving at once: how the queue drains).
Panel = Literal["timeline", "ranked"]


class LoadTable(Protocol):
    """The keys of ``[load]`` a pattern reads (the schema's table, or the settings a trial
    ran with)."""

    pattern: str
    rate: float | None
    concurrency: int | None
    requests: int | None
    duration_s: float | None
    until_after_ready_s: float | None
    seed: int | None


@dataclass(frozen=True)
class LoadPattern:
    name: str
    """Its value of `[load] pattern`."""
    doc: str
    """What it sends, for the scenario reference."""
    keys: frozenset[str]
    """The `[load]` keys that apply to it alone among the patterns' own keys (`rate`,
    `concurrency`, `until_after_ready_s`)."""
    needs: tuple[str, ...]
    """Keys it cannot go without."""
    check: Callable[[LoadTable], tuple[str, str] | None]
    """A table's problem for this pattern as (key, message), or None."""
    arrivals: Callable[[LoadTable], Iterator[float] | None]
    """One phase's arrival offsets in seconds after its origin, ascending, made as needed;
    None: a closed loop, each client sending again once answered."""
    describe: Callable[[LoadTable], str]
    """Its traffic in words, e.g. "poisson 10 req/s", "a burst of 32"."""
    panel: Panel
    """How the load picture draws its cold phase."""

    @property
    def all_at_once(self) -> bool:
        return self.panel == "ranked"


def sized(table: LoadTable) -> tuple[str, str] | None:
    """A phase that is not all at once needs one size: requests, duration_s, or (timed
    arrivals) until_after_ready_s."""
    if table.requests is not None and table.duration_s is not None:
        return "requests", "give either requests or duration_s (one of them)"
    if table.requests is None and table.duration_s is None and table.until_after_ready_s is None:
        return "requests", "give requests, duration_s or until_after_ready_s (how long it lasts)"
    return None
