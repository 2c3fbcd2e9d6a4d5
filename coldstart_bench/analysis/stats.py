"""The statistics of a run's figures: medians and percentiles, the median absolute
deviation, bootstrap intervals (of a median, of a ratio of medians averaged over strata)
and outlier flags. Pure functions on numbers. Comparisons of two samples — the rank test,
its shift estimate and interval — are :mod:`.rank_test`'s.

The bootstrap is scipy's (``scipy.stats.bootstrap`` with the percentile method); this
module only chooses its options, so that an interval means the same in every output. scipy
is imported on first use: the run path never needs it.

A bootstrap costs resamples × values in time and memory (2,000 × 60,000 floats is 1 GB for
one median; 10⁴ trials took 56 s of bootstrap), so past :data:`LARGE_SAMPLE` values the
intervals come from order statistics instead, in linear time: the distribution-free
interval of a median (the ranks a binomial places around n/2), and for a ratio of medians
the delta method on those medians' standard errors (read off the same ranks, as Price &
Bonett 2002 do for one ratio). With that many values the percentile bootstrap and these
intervals agree to well under 1 % of the median.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0
CONFIDENCE = 0.95
OUTLIER_Z = 3.5  # Iglewicz & Hoaglin's cut-off for the modified Z-score
SMALL_SAMPLE = 64  # values; up to it, percentiles in plain Python (same result)
PAIRWISE_BLOCK = 8  # numpy's sum: fewer values than this are added in order
LARGE_SAMPLE = 500  # values in all the samples of one interval; past it, order statistics


# Order statistics ------------------------------------------------------------------------


def _clean(values: Iterable[float | None]) -> np.ndarray:
    data = np.asarray([v for v in values if v is not None], dtype=float)
    return data[~np.isnan(data)]


def percentile(values: Iterable[float | None], q: float) -> float | None:
    """The q-th percentile (0..100), linear interpolation between closest ranks (numpy's
    default); missing values are ignored; None when there are none."""
    if not 0 <= q <= 100:
        raise ValueError(f"q must be within 0..100, got {q}")
    kept = [v for v in values if v is not None and v == v]  # v == v: not NaN
    if len(kept) <= SMALL_SAMPLE:  # numpy's call costs ~40 µs; a run asks 10⁵s of these
        return sorted_percentile(sorted(kept), q) if kept else None
    return float(np.percentile(np.asarray(kept, dtype=float), q))


def sorted_percentile(ordered: Sequence[float], q: float) -> float:
    """``np.percentile(ordered, q)`` of sorted values, in plain Python and to the same
    bit: numpy's virtual index (n − 1)·q, and its two-sided linear interpolation."""
    n = len(ordered)
    index = (n - 1) * (q / 100)
    below = min(max(math.floor(index), 0), n - 1)
    above = min(below + 1, n - 1)
    weight = index - math.floor(index)
    if index < 0:
        below = above = 0
    elif index >= n - 1:
        below = above = n - 1
    low, high = float(ordered[below]), float(ordered[above])
    step = high - low
    return high - step * (1 - weight) if weight >= 0.5 else low + step * weight


def median(values: Iterable[float | None]) -> float | None:
    return percentile(values, 50)


def mean(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None and v == v]
    if len(kept) < PAIRWISE_BLOCK:  # numpy adds fewer than 8 values one by one: the same sum
        return sum(kept, 0.0) / len(kept) if kept else None
    return float(np.asarray(kept, dtype=float).mean())


def mad(values: np.ndarray) -> float:
    """Median absolute deviation from the median (unscaled)."""
    return float(np.median(np.abs(values - np.median(values))))


# Bootstrap --------------------------------------------------------------------------------


def _bootstrap(
    samples: Sequence[np.ndarray],
    statistic: Callable[..., Any],
    rng: np.random.Generator,
    resamples: int,
) -> np.ndarray:
    """The bootstrap distribution of ``statistic`` (vectorised along the last axis), each
    sample resampled on its own."""
    from scipy import stats

    with warnings.catch_warnings():
        # Identical values (a 0 ms connect every time) have a one-point distribution: its
        # percentile interval is that point, which is right; scipy warns about BCa anyway.
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        result = stats.bootstrap(
            tuple(samples),
            statistic,
            n_resamples=resamples,
            method="percentile",
            vectorized=True,
            paired=False,
            random_state=rng,
        )
    return np.asarray(result.bootstrap_distribution, dtype=float)


def _interval(distribution: np.ndarray, confidence: float) -> tuple[float, float]:
    """Percentile interval; resamples where the statistic is undefined (a ratio over a
    zero median) are left out rather than spoiling the interval."""
    tail = (1 - confidence) / 2 * 100
    low, high = np.nanpercentile(distribution, [tail, 100 - tail])
    return float(low), float(high)


def median_ci(
    values: np.ndarray, confidence: float = CONFIDENCE, seed: int = BOOTSTRAP_SEED
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the median."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:  # nothing to resample: the interval is the value
        return float(values[0]), float(values[0])
    if len(values) > LARGE_SAMPLE:
        return _order_interval(values, confidence)
    distribution = _bootstrap(
        (values,),
        lambda x, axis: np.median(x, axis=axis),
        np.random.default_rng(seed),
        BOOTSTRAP_RESAMPLES,
    )
    return _interval(distribution, confidence)


def _z(confidence: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(1 - (1 - confidence) / 2))


def _order_interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    """The distribution-free interval of a median: the order statistics at the ranks
    n/2 ∓ z·√n/2 (the binomial's normal approximation, good for large n)."""
    n = len(values)
    half = _z(confidence) * math.sqrt(n) / 2
    low_rank = max(0, math.floor(n / 2 - half) - 1)
    high_rank = min(n - 1, math.ceil(n / 2 + half) - 1)
    low, high = np.partition(values, (low_rank, high_rank))[[low_rank, high_rank]]
    return float(low), float(high)


def _median_and_variance(values: np.ndarray, confidence: float) -> tuple[float, float]:
    """A median and its variance, from the width of its order-statistic interval."""
    low, high = _order_interval(values, confidence)
    se = (high - low) / (2 * _z(confidence))
    return float(np.median(values)), se * se


def _delta_ratio(
    cells: Sequence[tuple[np.ndarray, np.ndarray]], confidence: float
) -> tuple[float, float]:
    """The interval of the mean over strata of median(treatment) / median(baseline) by the
    delta method: var(t/b) ≈ var(t)/b² + t²·var(b)/b⁴ per stratum, strata independent."""
    ratios, variances = [], []
    for base, treat in cells:
        b, var_b = _median_and_variance(base, confidence)
        t, var_t = _median_and_variance(treat, confidence)
        ratios.append(t / b)
        variances.append(var_t / b**2 + t * t * var_b / b**4)
    point = float(np.mean(ratios))
    half = _z(confidence) * math.sqrt(sum(variances)) / len(cells)
    return point - half, point + half


def _median_ratio(new: np.ndarray, base: np.ndarray, axis: int = -1) -> np.ndarray:
    b = np.median(base, axis=axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, np.median(new, axis=axis) / b, np.nan)


def stratified_ratio(
    cells: Sequence[tuple[np.ndarray, np.ndarray]],
    rng: np.random.Generator,
    resamples: int = BOOTSTRAP_RESAMPLES,
    min_trials: int = 3,
    confidence: float = CONFIDENCE,
) -> tuple[float, float, float, int] | None:
    """Mean over strata of median(treatment) / median(baseline), given (baseline,
    treatment) per stratum, with a bootstrap interval that resamples every cell at once.
    Strata with fewer than ``min_trials`` on a side, or a baseline median of 0, are left
    out; None when none is left. Returns (ratio, low, high, strata used)."""
    kept = [
        (base, treat)
        for base, treat in cells
        if min(len(base), len(treat)) >= min_trials and np.median(base) > 0
    ]
    if not kept:
        return None
    point = float(np.mean([np.median(t) / np.median(b) for b, t in kept]))
    if sum(len(b) + len(t) for b, t in kept) > LARGE_SAMPLE:
        low, high = _delta_ratio(kept, confidence)
        return point, low, high, len(kept)

    def mean_ratio(*samples: np.ndarray, axis: int = -1) -> np.ndarray:
        ratios = [
            _median_ratio(t, b, axis) for b, t in zip(samples[::2], samples[1::2], strict=True)
        ]
        # A resample whose every stratum drew a baseline of 0s has no ratio: NaN, no warning.
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmean(np.stack(ratios), axis=0)

    flat = [array for cell in kept for array in cell]
    distribution = _bootstrap(flat, mean_ratio, rng, resamples)
    low, high = _interval(distribution, confidence)
    return point, low, high, len(kept)


# Outliers ---------------------------------------------------------------------------------


def outliers(values: Sequence[float], cutoff: float = OUTLIER_Z) -> list[int]:
    """Indexes of values whose modified Z-score, 0.6745 (x − median) / MAD, exceeds the
    cut-off. They are flagged for the reader, never dropped."""
    x = np.asarray(values, float)
    if len(x) < 3:
        return []
    spread = mad(x)
    if spread == 0:
        return []
    z = 0.6745 * (x - np.median(x)) / spread
    return [int(i) for i in np.flatnonzero(np.abs(z) > cutoff)]


# Failure rates ------------------------------------------------------------------------------


def more_failures_p(base_failed: int, base_n: int, new_failed: int, new_n: int) -> float:
    """The one-sided p-value of "the new side fails more often than the base": Fisher's
    exact test on the 2 × 2 table of failed and ok trials (exact for the small counts a
    gate sees; 1.0 where a side ran no trial)."""
    if base_n <= 0 or new_n <= 0:
        return 1.0
    from scipy.stats import fisher_exact

    table = [[new_failed, new_n - new_failed], [base_failed, base_n - base_failed]]
    return float(fisher_exact(table, alternative="greater").pvalue)
