"""The statistics every output reads: order statistics, bootstrap intervals and the rank
test, checked against hand-checkable cases, brute force, textbook formulas and scipy."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from coldstart_bench.analysis.stats import (
    BOOTSTRAP_RESAMPLES,
    holm,
    mann_whitney_greater,
    median,
    median_ci,
    outliers,
    percentile,
    ratio_ci,
    smallest_p,
    stratified_ratio,
    trials_needed,
)


def test_median_of_odd_and_even_counts():
    assert median([3, 1, 2]) == 2
    assert median([4, 1, 3, 2]) == 2.5


def test_percentile_interpolates_between_ranks_like_numpy():
    # numpy.percentile([10, 20, 30, 40, 50], 95) == 48.0
    assert percentile([50, 10, 40, 20, 30], 95) == pytest.approx(48.0)
    assert percentile([10, 20, 30, 40, 50], 0) == 10
    assert percentile([10, 20, 30, 40, 50], 100) == 50


def test_missing_values_are_ignored_and_nothing_gives_none():
    assert median([None, 5.0, None]) == 5.0
    assert median([]) is None
    assert percentile([None], 95) is None


def test_q_outside_0_100_is_an_error():
    with pytest.raises(ValueError):
        percentile([1], 101)


def brute_force_p(new: np.ndarray, base: np.ndarray) -> float:
    values = np.concatenate([new, base])
    observed = (new[:, None] > base[None, :]).sum()
    hits = total = 0
    for picked in itertools.combinations(range(len(values)), len(new)):
        x = values[list(picked)]
        y = np.delete(values, list(picked))
        hits += (x[:, None] > y[None, :]).sum() >= observed
        total += 1
    return hits / total


@pytest.mark.parametrize("sizes", [(3, 3), (4, 6), (7, 5)])
def test_the_exact_rank_test_matches_brute_force(sizes):
    rng = np.random.default_rng(sum(sizes))
    new, base = rng.normal(0.4, 1, sizes[0]), rng.normal(0, 1, sizes[1])
    p = mann_whitney_greater(new, base)
    assert p == pytest.approx(brute_force_p(new, base))
    assert p == pytest.approx(
        stats.mannwhitneyu(new, base, alternative="greater", method="exact").pvalue
    )


def normal_approximation_p(new: np.ndarray, base: np.ndarray) -> float:
    """The one-sided p-value by the textbook normal approximation, with the tie correction
    of the variance and a continuity correction of 0.5 (coldstart's own routine before it
    called scipy)."""
    n1, n2 = len(new), len(base)
    u = (new[:, None] > base[None, :]).sum() + 0.5 * (new[:, None] == base[None, :]).sum()
    _, ties = np.unique(np.concatenate([new, base]), return_counts=True)
    n = n1 + n2
    var = n1 * n2 / 12 * ((n + 1) - (ties**3 - ties).sum() / (n * (n - 1)))
    z = (u - n1 * n2 / 2 - 0.5) / math.sqrt(var)
    return 0.5 * math.erfc(z / math.sqrt(2))


def test_the_normal_approximation_is_close_to_exact_for_larger_samples(monkeypatch):
    rng = np.random.default_rng(5)
    new, base = rng.normal(0.3, 1, 30), rng.normal(0, 1, 30)
    approx = mann_whitney_greater(new, base)  # 900 > the exact limit
    assert approx == pytest.approx(normal_approximation_p(new, base), rel=1e-9)
    monkeypatch.setattr("coldstart_bench.analysis.stats.EXACT_LIMIT", 10_000)
    exact = mann_whitney_greater(new, base)
    assert approx == pytest.approx(exact, abs=0.005)
    assert exact == pytest.approx(
        stats.mannwhitneyu(new, base, alternative="greater", method="exact").pvalue
    )


def test_tied_values_use_the_tie_corrected_approximation():
    rng = np.random.default_rng(6)
    new, base = np.round(rng.normal(0.3, 1, 10), 1), np.round(rng.normal(0, 1, 10), 1)
    assert len(np.unique(np.concatenate([new, base]))) < 20  # there are ties
    assert mann_whitney_greater(new, base) == pytest.approx(
        normal_approximation_p(new, base), rel=1e-9
    )
    assert mann_whitney_greater([5, 5, 5], [5, 5, 5]) == 1.0


def test_known_values():
    assert mann_whitney_greater([4, 5, 6], [1, 2, 3]) == pytest.approx(1 / 20)
    assert mann_whitney_greater([1, 2, 3], [4, 5, 6]) == pytest.approx(1.0)
    assert smallest_p(3, 3) == pytest.approx(0.05)
    assert trials_needed(0.05) == 3 and trials_needed(0.05 / 8) == 5
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_outliers_are_flagged_by_modified_z_score():
    values = [100, 101, 99, 100, 102, 98, 100, 180]
    assert outliers(values) == [7]
    assert outliers([5, 5, 5, 5]) == []


def test_the_ratio_interval_covers_the_truth():
    rng = np.random.default_rng(2)
    base, new = rng.lognormal(0, 0.05, 40) * 100, rng.lognormal(0, 0.05, 40) * 110
    ratio, low, high = ratio_ci(new, base)
    assert low < 1.10 < high and low < ratio < high


def resampled_medians(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Medians of bootstrap resamples drawn by hand, the way coldstart drew them before it
    called scipy: one row of indexes per resample."""
    picks = rng.integers(0, len(values), size=(BOOTSTRAP_RESAMPLES, len(values)))
    return np.median(values[picks], axis=1)


def test_bootstrap_intervals_are_the_percentiles_of_resampled_medians():
    rng = np.random.default_rng(7)
    values = rng.lognormal(0, 0.2, 12) * 1000
    by_hand = np.percentile(resampled_medians(values, np.random.default_rng(0)), [2.5, 97.5])
    assert median_ci(values) == pytest.approx(tuple(by_hand))
    assert median_ci(np.array([5.0])) == (5.0, 5.0)

    base, new = values, rng.lognormal(0, 0.2, 9) * 1200
    draws = np.random.default_rng(0)
    ratios = resampled_medians(new, draws) / resampled_medians(base, draws)
    point, low, high = ratio_ci(new, base)
    assert point == pytest.approx(np.median(new) / np.median(base))
    assert (low, high) == pytest.approx(tuple(np.percentile(ratios, [2.5, 97.5])))


def test_a_stratified_ratio_averages_the_strata_and_skips_thin_ones():
    rng = np.random.default_rng(8)
    fast = (np.full(5, 100.0) + rng.normal(0, 1, 5), np.full(5, 50.0) + rng.normal(0, 1, 5))
    slow = (np.full(5, 200.0) + rng.normal(0, 1, 5), np.full(5, 150.0) + rng.normal(0, 1, 5))
    thin = (np.array([1.0, 2.0]), np.array([100.0, 200.0]))  # under 3 trials a side
    ratio, low, high, strata = stratified_ratio([fast, slow, thin], np.random.default_rng(0))
    expected = np.mean([np.median(t) / np.median(b) for b, t in (fast, slow)])
    assert strata == 2 and ratio == pytest.approx(expected)
    assert low < ratio < high < 1
    assert stratified_ratio([thin], np.random.default_rng(0)) is None
