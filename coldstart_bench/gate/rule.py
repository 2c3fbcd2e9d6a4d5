"""The gate's decision rule, on the statistics of :mod:`coldstart_bench.analysis.stats`.

The decision rule (see :func:`decide`): a slowdown is a **regression** only when it is
both *statistically significant* (one-sided Mann–Whitney U, Holm-corrected over every
comparison the gate makes) and *larger than the threshold* (ratio of medians above
1 + max_regression). Significance alone would fail builds over real but negligible
changes (a 0.5 % slower import found with enough trials); a threshold alone would fail
them over noise (a 7 % swing of two medians from ten noisy trials). A significant slowdown
under the threshold is a **warning**; a comparison whose sample sizes cannot reach the
significance level even in the most extreme case is **inconclusive** (never a pass).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from coldstart_bench.analysis.stats import (
    holm,
    mann_whitney_greater,
    mann_whitney_two_sided,
    outliers,
    ratio_ci,
    smallest_p,
    trials_needed,
)


@dataclass(frozen=True)
class Comparison:
    """One gated (variant, metric): base vs new."""

    variant: str
    metric: str
    n_base: int
    n_new: int
    base_median: float
    new_median: float
    ratio: float
    ratio_low: float
    ratio_high: float
    p_slower: float  # one-sided, before correction
    p_two_sided: float
    outliers_base: int
    outliers_new: int

    @property
    def change_pct(self) -> float:
        return (self.ratio - 1) * 100


Verdict = str  # "regression", "warning", "pass", "inconclusive", "over budget"


@dataclass(frozen=True)
class Decision:
    comparison: Comparison
    verdict: Verdict
    p_adjusted: float
    reason: str


def compare(
    variant: str,
    metric: str,
    base: Sequence[float],
    new: Sequence[float],
    confidence: float = 0.95,
) -> Comparison:
    ratio, low, high = ratio_ci(new, base, confidence)
    return Comparison(
        variant=variant,
        metric=metric,
        n_base=len(base),
        n_new=len(new),
        base_median=float(np.median(base)),
        new_median=float(np.median(new)),
        ratio=ratio,
        ratio_low=low,
        ratio_high=high,
        p_slower=mann_whitney_greater(new, base),
        p_two_sided=mann_whitney_two_sided(new, base),
        outliers_base=len(outliers(base)),
        outliers_new=len(outliers(new)),
    )


def classify(p_adjusted: float, ratio: float, alpha: float, max_regression: float) -> str:
    """The rule for one comparison that can reach significance: regression, warning or pass."""
    if p_adjusted < alpha and ratio > 1 + max_regression:
        return "regression"
    if p_adjusted < alpha and ratio > 1:
        return "warning"
    return "pass"


def decide(
    comparisons: Sequence[Comparison], alpha: float = 0.05, max_regression: float = 0.05
) -> list[Decision]:
    """Apply the rule in this module's docstring to every comparison at once (Holm over
    all of them)."""
    adjusted = holm([c.p_slower for c in comparisons])
    m = len(comparisons)
    decisions = []
    for c, p_adj in zip(comparisons, adjusted, strict=True):
        # Even the most extreme outcome must clear the strictest Holm level it could face.
        reachable = smallest_p(c.n_new, c.n_base) <= alpha / m
        threshold = f"{max_regression:.0%}"
        verdict = classify(p_adj, c.ratio, alpha, max_regression) if reachable else "inconclusive"
        if verdict == "inconclusive":
            need = trials_needed(alpha / m)
            reason = (
                f"{c.n_base} vs {c.n_new} trials cannot reach significance {alpha:g} "
                f"(over {m} comparison(s)); needs at least {need} per side"
            )
        elif verdict == "regression":
            reason = f"{c.change_pct:+.1f} % slower (p={p_adj:.3g} < {alpha:g}, over {threshold})"
        elif verdict == "warning":
            reason = (
                f"{c.change_pct:+.1f} % slower, significant (p={p_adj:.3g}) but within {threshold}"
            )
        else:
            reason = f"{c.change_pct:+.1f} % (p={p_adj:.3g})"
        decisions.append(Decision(c, verdict, p_adj, reason))
    return decisions
