"""Wall time and CPU work, judged together. On a busy shared runner the wall clock of a
start-up swings by 20–30 % while the CPU work it does moves a few per cent: a comparison of
wall times there cannot find a 10 % slowdown, a comparison of CPU times can. So each wall
metric with a CPU twin (``cold_ttft_ms`` and ``cpu_ttft_ms``, ``ready_ms`` and
``cpu_ready_ms``) is compared on both, and where one of the two could not be judged (too
noisy for the change it is asked to find) while the other decided, the other decides: the
undecided one is shown "not judged", with why, and counts neither way.

- a regression on either is a regression;
- CPU work decided, wall time not judged: the verdict holds for CPU-bound changes (an
  import, a compile step, a bigger parse) and says that one that is no CPU work (a sleep,
  a wait on the network or the disk) would go unseen on this machine;
- wall time decided, CPU work not judged (the CPU work itself disturbed: spinning threads
  on an oversubscribed machine): the wall time's verdict holds.

``require_wall`` (``coldstart gate --require-wall``) keeps an undecided wall comparison
inconclusive whatever the CPU work says.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from coldstart_bench.analysis.metrics import BY_NAME
from coldstart_bench.gate.rule import Decision

NOT_JUDGED = "not judged"
_DECIDED = ("pass", "warning", "regression")


def cpu_twin(metric: str) -> str | None:
    known = BY_NAME.get(metric)
    return known.cpu_twin if known is not None else None


def combine(decisions: Sequence[Decision], require_wall: bool = False) -> list[Decision]:
    """The decisions, each wall/CPU pair of a variant judged together (see the module)."""
    by_key = {(d.comparison.variant, d.comparison.metric): d for d in decisions}
    changed: dict[tuple[str, str], Decision] = {}
    for (variant, metric), wall in by_key.items():
        twin = cpu_twin(metric)
        cpu = by_key.get((variant, twin)) if twin is not None else None
        if cpu is None:
            continue
        if wall.verdict == "inconclusive" and cpu.verdict in _DECIDED and not require_wall:
            changed[(variant, metric)] = dataclasses.replace(
                wall,
                verdict=NOT_JUDGED,
                reason=(
                    f"wall time could not be judged here ({wall.reason}); the CPU work "
                    f"decided ({twin}: {cpu.verdict}) — a regression that is no CPU work "
                    "(a sleep, a wait on the network or the disk) would go unseen on this "
                    "machine"
                ),
            )
        elif cpu.verdict == "inconclusive" and wall.verdict in _DECIDED:
            changed[(variant, twin)] = dataclasses.replace(  # type: ignore[index]
                cpu,
                verdict=NOT_JUDGED,
                reason=f"CPU work could not be judged ({cpu.reason}); wall time decided",
            )
    return [changed.get((d.comparison.variant, d.comparison.metric), d) for d in decisions]


def deciding_words(decisions: Sequence[Decision]) -> str | None:
    """One line on which measure decided, where one of a pair could not (None: both, or
    no pair)."""
    not_judged = [d for d in decisions if d.verdict == NOT_JUDGED]
    if not not_judged:
        return None
    cpu_decided = [d for d in not_judged if cpu_twin(d.comparison.metric) is not None]
    if cpu_decided:
        worst = max(d.detectable for d in cpu_decided)
        return (
            f"decided on CPU work: this machine's noise hid wall-time changes smaller than "
            f"{worst:.0%} ({len(cpu_decided)} comparison(s) not judged); a slowdown that is "
            "no CPU work would go unseen here (--require-wall makes that inconclusive)"
        )
    return "decided on wall time: the CPU work was too noisy to judge here"
