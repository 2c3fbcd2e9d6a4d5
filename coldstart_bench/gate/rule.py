"""The gate's decision rule, on the statistic of :mod:`coldstart_bench.analysis.rank_test`.

For each gated (variant, metric), new against base: the one-sided Mann–Whitney U test of
"slower", Bonferroni-corrected over every comparison the gate makes, and the interval of
the ratio that inverts the same test at the same corrected level — so a comparison called
significant always has an interval above 1×, and the reverse.

- **regression**: significantly slower, and the ratio above 1 + ``max_regression``.
  Significance alone would fail builds over real but negligible changes; a threshold alone
  would fail them over noise.
- **warning**: significantly slower, within the threshold (exit 0).
- **inconclusive**: not shown slower, but the comparison could not have shown a slowdown
  of ``max_detectable`` (its minimum detectable effect, at 80 % power, is larger), or its
  trials are too few for any outcome to reach significance. Never a pass.
- **pass**: none of these.

``compare`` shows the same comparisons with the same p-values and intervals, and words
them as slower / faster / no change.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from coldstart_bench.analysis.covariate import MachineAdjustment, adjust_for_machine
from coldstart_bench.analysis.rank_test import Shift, detectable_change, shift, trials_needed
from coldstart_bench.analysis.stats import outliers


@dataclass(frozen=True)
class Comparison:
    """One gated (variant, metric): base against new."""

    variant: str
    metric: str
    base_median: float
    new_median: float
    shift: Shift  # the ratio new/base and its interval at the family's corrected level
    outliers_base: int
    outliers_new: int
    machine: MachineAdjustment | None = None  # the per-trial calibration's adjustment

    @property
    def n_base(self) -> int:
        return self.shift.n_base

    @property
    def n_new(self) -> int:
        return self.shift.n_new

    @property
    def ratio(self) -> float:
        return self.shift.ratio

    @property
    def change_pct(self) -> float:
        return self.shift.change_pct


def compare(
    variant: str,
    metric: str,
    base: Sequence[float],
    new: Sequence[float],
    alpha_each: float,
    calibrations: tuple[Sequence[float], Sequence[float]] | None = None,
    common_centre: bool = True,
) -> Comparison:
    """``new`` against ``base`` (positive times), the interval at one-sided ``alpha_each``;
    with each trial's ``calibrations`` (base's, new's), the test reads the times with the
    machine's trial-to-trial wobble taken out (:mod:`coldstart_bench.analysis.covariate`)
    where that applies (``common_centre``: see there). The medians shown are the times as
    measured."""
    b, n = np.asarray(base, float), np.asarray(new, float)
    tested_b, tested_n, machine = b, n, None
    if calibrations is not None:
        sides = [(b, calibrations[0]), (n, calibrations[1])]
        adjusted = adjust_for_machine(sides, common_centre)
        if adjusted is not None:
            (tested_b, tested_n), machine = adjusted
    return Comparison(
        variant=variant,
        metric=metric,
        base_median=float(np.median(b)),
        new_median=float(np.median(n)),
        shift=shift(tested_n, tested_b, alpha_each),
        outliers_base=len(outliers(b)),
        outliers_new=len(outliers(n)),
        machine=machine,
    )


Verdict = str  # "regression", "warning", "pass" or "inconclusive"


@dataclass(frozen=True)
class Decision:
    comparison: Comparison
    verdict: Verdict
    p_adjusted: float  # one-sided "slower", Bonferroni over the family
    p_faster_adjusted: float
    detectable: float  # the smallest slowdown (fraction) found with 80 % power
    reason: str

    @property
    def faster(self) -> bool:
        """Significantly faster (the interval below 1×, ⇔ its adjusted p under α)."""
        return self.comparison.shift.high < 1


# The gate's defaults, written once: the command line, a scenario's [gate] and this rule
# all start from them.
DEFAULT_MAX_REGRESSION = 0.05
DEFAULT_CONFIDENCE = 0.95
# The largest minimum detectable effect a pass may have, as a multiple of max_regression:
# twice the threshold is where the gate's design asks for 80 % power (+10 % at the default
# 5 %, benchmarks/gate_accuracy.py); a comparison that could have missed a slowdown that
# large may not say "pass". The quickstart's 10 trials a variant find ≥ 6 % on a quiet
# machine (docs/explanation/statistics.md).
DETECTABLE_PER_THRESHOLD = 2.0


def decide(
    comparisons: Sequence[Comparison],
    alpha: float = 1 - DEFAULT_CONFIDENCE,
    max_regression: float = DEFAULT_MAX_REGRESSION,
    max_detectable: float | None = None,
) -> list[Decision]:
    """The rule of this module's docstring, over the whole family at once
    (``max_detectable`` None: :data:`DETECTABLE_PER_THRESHOLD` × ``max_regression``)."""
    if max_detectable is None:
        max_detectable = DETECTABLE_PER_THRESHOLD * max_regression
    m = max(len(comparisons), 1)
    alpha_each = alpha / m
    decisions = []
    for c in comparisons:
        s = c.shift
        p_adj, p_fast = min(1.0, m * s.p_slower), min(1.0, m * s.p_faster)
        mde = detectable_change(s.se_log, alpha_each, max_regression)
        significant = s.low > 1.0  # ⇔ p_adj < alpha: the interval inverts the test
        threshold = f"{max_regression:.0%}"
        if math.isnan(s.ratio):
            same = s.p_slower >= 1 and s.p_faster >= 1
            verdict = "pass" if same else "inconclusive"
            reason = (
                "no change: every trial measured the same"
                if same
                else f"the base's median is 0, so no ratio (p adj. {p_adj:.3g} for slower)"
            )
        elif significant and s.ratio > 1 + max_regression:
            verdict = "regression"
            reason = (
                f"{c.change_pct:+.1f} % slower (p adj. {p_adj:.3g} < {alpha:g}, over {threshold})"
            )
        elif significant:
            verdict = "warning"
            reason = (
                f"{c.change_pct:+.1f} % slower, significant (p adj. {p_adj:.3g}) but within "
                f"{threshold}"
            )
        elif s.high < 1.0:  # significantly faster: whatever the power, no regression
            verdict = "pass"
            reason = f"{c.change_pct:+.1f} %, faster (p adj. {p_fast:.3g})"
        elif not s.bounded:
            verdict = "inconclusive"
            need = trials_needed(alpha_each)
            reason = (
                f"{c.n_base} vs {c.n_new} trials cannot reach significance {alpha:g} over "
                f"{m} comparison(s); needs at least {need} per side"
            )
        elif mde > max_detectable:
            verdict = "inconclusive"
            reason = (
                f"{c.change_pct:+.1f} %, not shown slower, but with this noise and these "
                f"trials only a slowdown of {mde:.0%} or more would be found (80 % power); "
                f"the bound is {max_detectable:.0%}: more trials, or a quieter machine"
            )
        else:
            verdict = "pass"
            reason = f"{c.change_pct:+.1f} % (p adj. {p_adj:.3g}); would find ≥ {mde:.0%}"
        decisions.append(Decision(c, verdict, p_adj, p_fast, mde, reason))
    return decisions


def compare_word(decision: Decision) -> str:
    """How ``compare`` words a decision: slower, faster or no change (and why not, when the
    comparison could not tell)."""
    if decision.verdict in ("regression", "warning"):
        return "slower"
    if decision.faster:
        return "faster"
    if decision.verdict == "inconclusive":
        return "can't tell"
    if decision.verdict == "not judged":  # its twin measure decided (gate/measures.py)
        return "not judged"
    return "no change"
