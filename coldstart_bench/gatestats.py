"""The statistics behind ``coldstart compare`` and ``coldstart gate``: a rank test, Holm's
correction, a bootstrap interval of a ratio of medians, outlier flags, and the gate's
decision rule. Pure functions on numbers (numpy only).

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

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0
OUTLIER_Z = 3.5  # Iglewicz & Hoaglin's cut-off for the modified Z-score
EXACT_LIMIT = 400  # n1 * n2 up to this: exact null distribution of U


# Mann–Whitney U ------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _u_null_counts(n1: int, n2: int) -> np.ndarray:
    """counts[u] = number of arrangements of n1 + n2 distinct values giving U = u."""
    # f(i, j) over U = number of pairs where a first-sample value is above a second's;
    # built up one value at a time (the classic recursion), as polynomial coefficients.
    table = [[np.ones(1, dtype=float)] + [None] * n2 for _ in range(n1 + 1)]  # type: ignore[list-item]
    for j in range(n2 + 1):
        table[0][j] = np.ones(1, dtype=float)
    for i in range(1, n1 + 1):
        for j in range(1, n2 + 1):
            # largest value from sample 1: it beats all j of sample 2 → shift by j
            a = table[i - 1][j]
            b = table[i][j - 1]
            size = max(len(a) + j, len(b))
            out = np.zeros(size)
            out[j : j + len(a)] += a
            out[: len(b)] += b
            table[i][j] = out
    return table[n1][n2]


def mann_whitney_greater(new: Sequence[float], base: Sequence[float]) -> float:
    """One-sided p-value for "``new`` tends to be larger than ``base``" (slower)."""
    x, y = np.asarray(new, float), np.asarray(base, float)
    n1, n2 = len(x), len(y)
    if n1 == 0 or n2 == 0:
        return 1.0
    # U = #(x > y) + 0.5 #(x == y)
    u = float(((x[:, None] > y[None, :]).sum()) + 0.5 * (x[:, None] == y[None, :]).sum())
    ties = len(np.unique(np.concatenate([x, y]))) < n1 + n2
    if n1 * n2 <= EXACT_LIMIT and not ties:
        counts = _u_null_counts(n1, n2)
        return float(counts[math.ceil(u) :].sum() / counts.sum())
    # Normal approximation with tie correction and continuity correction.
    allv = np.concatenate([x, y])
    _, tie_counts = np.unique(allv, return_counts=True)
    n = n1 + n2
    mean = n1 * n2 / 2
    var = n1 * n2 / 12 * ((n + 1) - (tie_counts**3 - tie_counts).sum() / (n * (n - 1)))
    if var <= 0:
        return 1.0
    z = (u - mean - 0.5) / math.sqrt(var)
    return 0.5 * math.erfc(z / math.sqrt(2))


def mann_whitney_two_sided(a: Sequence[float], b: Sequence[float]) -> float:
    return min(1.0, 2 * min(mann_whitney_greater(a, b), mann_whitney_greater(b, a)))


def smallest_p(n1: int, n2: int) -> float:
    """The smallest one-sided p-value the test can give with these sample sizes."""
    return 1.0 / math.comb(n1 + n2, n1)


def trials_needed(alpha: float, other: int | None = None) -> int:
    """Smallest n per side (equal sizes, or against ``other`` trials) for which the most
    extreme outcome reaches ``alpha``."""
    for n in range(2, 1000):
        if smallest_p(n, other if other is not None else n) <= alpha:
            return n
    return 1000


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (same order as given)."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def holm_alpha(alpha: float, m: int, rank: int) -> float:
    """The level the rank-th smallest p-value is held to (rank from 0)."""
    return alpha / (m - rank)


# Effect size ----------------------------------------------------------------------------


def ratio_ci(
    new: Sequence[float],
    base: Sequence[float],
    confidence: float = 0.95,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float, float]:
    """median(new) / median(base) and its percentile bootstrap interval."""
    x, y = np.asarray(new, float), np.asarray(base, float)
    point = float(np.median(x) / np.median(y))
    rng = np.random.default_rng(seed)
    mx = np.median(x[rng.integers(0, len(x), (resamples, len(x)))], axis=1)
    my = np.median(y[rng.integers(0, len(y), (resamples, len(y)))], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = mx / my
    tail = (1 - confidence) / 2 * 100
    low, high = np.nanpercentile(ratios, [tail, 100 - tail])
    return point, float(low), float(high)


def outliers(values: Sequence[float], cutoff: float = OUTLIER_Z) -> list[int]:
    """Indexes of values whose modified Z-score, 0.6745 (x − median) / MAD, exceeds the
    cut-off. They are flagged for the reader, never dropped."""
    x = np.asarray(values, float)
    if len(x) < 3:
        return []
    med = np.median(x)
    mad = np.median(np.abs(x - med))
    if mad == 0:
        return []
    z = 0.6745 * (x - med) / mad
    return [int(i) for i in np.flatnonzero(np.abs(z) > cutoff)]


# The decision ---------------------------------------------------------------------------


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
