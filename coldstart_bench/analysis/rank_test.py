"""How much slower (or faster) one set of timings is than another, as one statistic: the
Mann–Whitney U test of log times, the Hodges–Lehmann estimate of their shift, and the
interval got by inverting that same test. Because the interval is the set of shifts the
test does not reject, "significantly slower at level α" and "the interval's lower end is
above 1×" are the same statement, in every output.

On log times a shift is a ratio: ``ratio`` is the typical new/base ratio (the median of
all pairwise log differences, exponentiated), robust to the skew and outliers of cold
starts. The null distribution of U is exact (counted) up to :data:`EXACT_PAIRS` pairs
without ties, else the normal approximation with tie and continuity corrections.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist

import numpy as np

EXACT_PAIRS = 10_000  # n1 * n2 up to this (and no ties): U's exact null distribution
SE_ALPHA = 0.025  # the standard error is read off the 95 % interval
MAX_PAIRS = 4_000_000  # pairwise differences held at once (32 MB)
_NORMAL = NormalDist()


@dataclass(frozen=True)
class Shift:
    """new against base: the ratio, its interval at ``level`` (two-sided), the one-sided
    p-values, and the standard error of the log ratio (for power)."""

    ratio: float
    low: float
    high: float
    level: float
    p_slower: float
    p_faster: float
    se_log: float
    n_new: int
    n_base: int
    bounded: bool = True  # some outcome of these trials could reach the test's level

    @property
    def change_pct(self) -> float:
        return (self.ratio - 1.0) * 100.0


def shift(new: np.ndarray, base: np.ndarray, alpha_one_sided: float) -> Shift:
    """The shift of ``new`` against ``base`` (times, e.g. milliseconds), with the two-sided
    interval whose ends are the one-sided tests at ``alpha_one_sided``.

    Positive times are compared as logs (a shift is a ratio). Where some time is 0 (a reused
    connection does no connecting), the shift is taken in milliseconds and read as a ratio
    to the base's median; with a base median of 0 there is no ratio (NaN). The rank test is
    the same either way: it only sees the order."""
    raw_new, raw_base = np.asarray(new, float), np.asarray(base, float)
    if min(raw_new.min(initial=1.0), raw_base.min(initial=1.0)) > 0:
        x, y = np.log(raw_new), np.log(raw_base)

        def as_ratio(v: float) -> float:
            return float(np.exp(v))

        scale = 1.0
    else:
        x, y = raw_new, raw_base
        scale = float(np.median(raw_base)) if len(raw_base) else 0.0

        def as_ratio(v: float) -> float:
            return 1 + v / scale if scale > 0 else math.nan

    n1, n2 = len(x), len(y)
    d = _differences(x, y)
    _, inverse, counts = np.unique(np.concatenate([x, y]), return_inverse=True, return_counts=True)
    ties = bool(np.any(counts > 1))
    sigma = _sigma(n1, n2, counts)
    # U from the ranks (ties averaged), exact whatever the number of pairs.
    midranks = np.cumsum(counts) - (counts - 1) / 2
    u_slower = float(midranks[inverse[:n1]].sum() - n1 * (n1 + 1) / 2)
    u_faster = n1 * n2 - u_slower
    low, high = _bounds(d, n1, n2, ties, sigma, alpha_one_sided)
    # The standard error from the 95 % interval's width, not the ±1σ one's: where the noise
    # has heavy tails or two modes (a machine switching speed), the outer quantiles say so
    # and the inner ones would make the estimate look more certain than it is.
    se_low, se_high = _bounds(d, n1, n2, ties, sigma, SE_ALPHA)
    spread = (se_high - se_low) / (2 * _NORMAL.inv_cdf(1 - SE_ALPHA))
    return Shift(
        ratio=as_ratio(float(np.median(d))),
        low=as_ratio(low) if math.isfinite(low) else 0.0,
        high=as_ratio(high),
        level=1 - 2 * alpha_one_sided,
        p_slower=_p_at_least(u_slower, n1, n2, ties, sigma),
        p_faster=_p_at_least(u_faster, n1, n2, ties, sigma),
        se_log=float(spread / scale) if scale > 0 else math.inf,
        n_new=n1,
        n_base=n2,
        bounded=math.isfinite(low) and math.isfinite(high),
    )


def _differences(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Every pairwise difference new − base, sorted; beyond :data:`MAX_PAIRS` (over 2,000
    trials a side) a seeded random sample of them, so memory stays bounded."""
    if len(x) * len(y) <= MAX_PAIRS:
        return np.sort(np.subtract.outer(x, y).ravel())
    rng = np.random.default_rng(0)
    return np.sort(
        x[rng.integers(len(x), size=MAX_PAIRS)] - y[rng.integers(len(y), size=MAX_PAIRS)]
    )


def _bounds(
    d: np.ndarray, n1: int, n2: int, ties: bool, sigma: float, alpha: float
) -> tuple[float, float]:
    """The shifts at which the one-sided tests at ``alpha`` start to reject: every pair
    difference above the lower bound counts towards "slower", so the bound is the
    (N − u_crit + 1)-th smallest difference (of a sample of them: at that quantile)."""
    pairs = n1 * n2
    u_crit = _critical_u(n1, n2, ties, sigma, alpha)
    if u_crit > pairs:
        return -math.inf, math.inf  # not even the most extreme outcome would reject

    def kth(k: int) -> float:
        return float(d[k if len(d) == pairs else round(k / max(pairs - 1, 1) * (len(d) - 1))])

    return kth(pairs - u_crit), kth(u_crit - 1)


def _critical_u(n1: int, n2: int, ties: bool, sigma: float, alpha: float) -> int:
    """The smallest u with P(U ≥ u) ≤ alpha under no difference."""
    pairs = n1 * n2
    if pairs <= EXACT_PAIRS and not ties:
        tail = _upper_tails(n1, n2)
        hits = np.flatnonzero(tail <= alpha)
        return int(hits[0]) if len(hits) else pairs + 1
    return math.ceil(pairs / 2 + 0.5 + _NORMAL.inv_cdf(1 - alpha) * sigma - 1e-12)


def _p_at_least(u: float, n1: int, n2: int, ties: bool, sigma: float) -> float:
    """P(U ≥ u) under no difference."""
    pairs = n1 * n2
    if pairs == 0:
        return 1.0
    if pairs <= EXACT_PAIRS and not ties:
        tail = _upper_tails(n1, n2)
        return float(tail[min(math.ceil(u), pairs)]) if u <= pairs else 0.0
    if sigma == 0:
        return 1.0
    return 1 - _NORMAL.cdf((u - pairs / 2 - 0.5) / sigma)


def _sigma(n1: int, n2: int, counts: np.ndarray) -> float:
    """The standard deviation of U under no difference, corrected for tied values."""
    n = n1 + n2
    if n < 2:
        return 0.0
    tied = float(np.sum(counts.astype(float) ** 3 - counts))
    return math.sqrt(n1 * n2 / 12 * ((n + 1) - tied / (n * (n - 1))))


@lru_cache(maxsize=256)
def _upper_tails(n1: int, n2: int) -> np.ndarray:
    """P(U ≥ u) for u = 0..n1·n2, from the exact count of arrangements: the coefficients of
    the Gaussian binomial [n1 + n2 choose n1] in q (integers, so nothing is rounded)."""
    pairs = n1 * n2
    poly = [1] + [0] * pairs
    for i in range(1, n1 + 1):
        grow = n2 + i  # multiply by (1 − q^(n2+i)) ...
        for k in range(pairs, grow - 1, -1):
            poly[k] -= poly[k - grow]
        for k in range(i, pairs + 1):  # ... and divide by (1 − q^i)
            poly[k] += poly[k - i]
    total = math.comb(n1 + n2, n1)
    tails = np.cumsum([c / total for c in reversed(poly)])[::-1]
    return np.minimum(np.asarray(tails, float), 1.0)


def detectable_change(se_log: float, alpha_one_sided: float, threshold: float) -> float:
    """The smallest slowdown (a fraction: 0.12 = +12 %) that the rule "significant at
    ``alpha_one_sided`` and above ``threshold``" calls a regression with 80 % power, given
    the standard error of the log ratio: the estimate must clear both bars, so its mean
    must lie 0.84 standard errors above the higher one."""
    if not math.isfinite(se_log):
        return math.inf
    bar = max(math.log1p(threshold), _NORMAL.inv_cdf(1 - alpha_one_sided) * se_log)
    return math.expm1(bar + _NORMAL.inv_cdf(0.8) * se_log)


def smallest_p(n1: int, n2: int) -> float:
    """The smallest one-sided p-value the test can give with these sample sizes: 1 over
    the number of orderings, in logs (past ~520 a side the count is no float: 0.0)."""
    if n1 + n2 <= 1000:  # exact while the count is a float
        return 1.0 / math.comb(n1 + n2, n1)
    log_orderings = math.lgamma(n1 + n2 + 1) - math.lgamma(n1 + 1) - math.lgamma(n2 + 1)
    return math.exp(-log_orderings)


def trials_needed(alpha: float, other: int | None = None) -> int:
    """Smallest n per side (equal sizes, or against ``other`` trials) for which the most
    extreme outcome reaches ``alpha``."""
    for n in range(2, 1000):
        if smallest_p(n, other if other is not None else n) <= alpha:
            return n
    return 1000
