"""Two runs on machines that were not as fast: each comparison judged with the machine's
change allowed for, instead of none judged at all.

The calibration before each trial says how much slower (or faster) the new run's machine
was: a ratio ``m`` with its interval. How much of that a start-up felt is not known — a
short interpreter start is more sensitive to other work than a server's start-up is — only
that it felt between none of it and all of it. So the build's own ratio ``b`` lies between
the observed ratio and the observed ratio divided by the machine's, and each end keeps its
interval:

    b ∈ [observed_low / max(1, m_high), observed_high / min(1, m_low)]

- **regression**: even crediting the whole of the machine's slowdown to the machine, the
  build is significantly slower (``b``'s low end above 1×) and by more than
  ``max_regression`` (observed / max(1, m));
- **pass**: even crediting none of a faster machine to it, the build is not slower than
  ``max_detectable`` (``b``'s high end);
- **inconclusive**: between the two, the machine's change leaves the answer open — and the
  reason says by how much.

CPU metrics are allowed for the calibration's CPU time, which other work moves far less than
its wall time (wall metrics: the wall time). The joint level is at least 1 − α − 5 % (the
comparison's interval and the machine's 95 % one).
"""

from __future__ import annotations

import dataclasses

from coldstart_bench.analysis.machine import Drift
from coldstart_bench.gate.rule import Decision


def adjust(
    decision: Decision, machine: Drift, max_regression: float, detectable_bound: float
) -> Decision:
    """One comparison, judged with the machine's change allowed for (module's docstring)."""
    shift, m = decision.comparison.shift, machine.speed
    low = shift.low / max(1.0, m.high)
    high = shift.high / min(1.0, m.low)
    least = decision.comparison.ratio / max(1.0, m.ratio)
    moved = f"the machine {m.ratio:.3f}× [{m.low:.3f}, {m.high:.3f}]"
    span = f"the build alone {_pct(low)} to {_pct(high)}"
    if low > 1.0 and least > 1 + max_regression:
        verdict = "regression"
        reason = (
            f"{decision.comparison.change_pct:+.1f} % observed; {moved} explains at most part "
            f"of it: {span}, still over {max_regression:.0%}"
        )
    elif high <= 1 + detectable_bound:
        verdict = "pass"
        reason = (
            f"{decision.comparison.change_pct:+.1f} % observed; allowing for {moved}: {span}, "
            f"within {detectable_bound:.0%}"
        )
    else:
        verdict = "inconclusive"
        reason = (
            f"{decision.comparison.change_pct:+.1f} % observed; allowing for {moved}: {span} — "
            "the machine's change leaves it open; measure both builds in one run (A/B)"
        )
    return dataclasses.replace(decision, verdict=verdict, reason=reason)


def _pct(ratio: float) -> str:
    return f"{(ratio - 1) * 100:+.0f} %"
