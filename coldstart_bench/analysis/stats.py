"""The statistics of a run's figures: medians and percentiles, the median absolute
deviation, bootstrap intervals (of a median, of a ratio of medians averaged over strata)
and outlier flags. Pure functions on numbers. Comparisons of two samples — the rank test,
its shift estimate and interval — are :mod:`.rank_test`'s.

The bootstrap is scipy's (``scipy.stats.bootstrap`` with the percentile method); this
module only chooses its options, so that an interval means the same in every output. scipy
is imported on first use: the run path never needs it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0
CONFIDENCE = 0.95
OUTLIER_Z = 3.5  # Iglewicz & Hoaglin's cut-off for the modified Z-score


# Order statistics ------------------------------------------------------------------------


def _clean(values: Iterable[float | None]) -> np.ndarray:
    data = np.asarray([v for v in values if v is not None], dtype=float)
    return data[~np.isnan(data)]


def percentile(values: Iterable[float | None], q: float) -> float | None:
    """The q-th percentile (0..100), linear interpolation between closest ranks (numpy's
    default); missing values are ignored; None when there are none."""
    if not 0 <= q <= 100:
        raise ValueError(f"q must be within 0..100, got {q}")
    data = _clean(values)
    return float(np.percentile(data, q)) if data.size else None


def median(values: Iterable[float | None]) -> float | None:
    return percentile(values, 50)


def mean(values: Iterable[float | None]) -> float | None:
    data = _clean(values)
    return float(data.mean()) if data.size else None


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
    distribution = _bootstrap(
        (values,),
        lambda x, axis: np.median(x, axis=axis),
        np.random.default_rng(seed),
        BOOTSTRAP_RESAMPLES,
    )
    return _interval(distribution, confidence)


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
