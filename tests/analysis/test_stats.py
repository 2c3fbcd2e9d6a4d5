"""The statistics of a run's figures: order statistics and bootstrap intervals, checked
against hand-checkable cases and resampling done by hand."""

from __future__ import annotations

import numpy as np
import pytest

from coldstart_bench.analysis import stats
from coldstart_bench.analysis.stats import (
    BOOTSTRAP_RESAMPLES,
    median,
    median_ci,
    outliers,
    percentile,
    sorted_percentile,
    stratified_ratio,
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


def test_outliers_are_flagged_by_modified_z_score():
    values = [100, 101, 99, 100, 102, 98, 100, 180]
    assert outliers(values) == [7]
    assert outliers([5, 5, 5, 5]) == []


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


def test_past_the_large_sample_limit_intervals_come_from_order_statistics_and_match_the_bootstrap(
    monkeypatch: pytest.MonkeyPatch,
):
    rng = np.random.default_rng(9)
    base, new = rng.lognormal(6.8, 0.1, 2100), rng.lognormal(6.85, 0.12, 2200)
    cells = [(base[:1000], new[:1100]), (base[1000:], new[1100:])]

    large = median_ci(base), stratified_ratio(cells, np.random.default_rng(0))
    monkeypatch.setattr(stats, "LARGE_SAMPLE", 10**9)  # the bootstrap, whatever the size
    boot = median_ci(base), stratified_ratio(cells, np.random.default_rng(0))

    median_value = float(np.median(base))
    assert large[0] != boot[0]  # two methods, not one
    assert large[0] == pytest.approx(boot[0], abs=0.01 * median_value)
    assert large[1][0] == boot[1][0]  # the same point estimate
    assert large[1][1:3] == pytest.approx(boot[1][1:3], abs=0.01)


def test_order_statistic_intervals_cover_the_true_median_and_ratio_about_95_percent():
    rng = np.random.default_rng(10)
    covered_median = covered_ratio = 0
    sims = 300
    for _ in range(sims):
        base, new = rng.lognormal(0, 0.3, 1100), rng.lognormal(0.05, 0.3, 1100)
        low, high = median_ci(base)
        covered_median += low <= 1.0 <= high
        _ratio, low, high, _strata = stratified_ratio([(base, new)], rng)
        covered_ratio += low <= np.exp(0.05) <= high
    # 95 % nominal; with 300 simulations a share outside 0.90–0.99 would be a broken interval.
    assert 0.90 <= covered_median / sims <= 0.99
    assert 0.90 <= covered_ratio / sims <= 0.99


def test_small_percentiles_in_plain_python_equal_numpys_to_the_bit():
    rng = np.random.default_rng(11)
    for _ in range(3000):
        values = rng.choice([rng.lognormal(0, 3), 0.1, 7.0, -2.5e5], size=rng.integers(1, 65))
        q = float(rng.choice([0, 25, 50, 95, 99, 99.9, 100, rng.uniform(0, 100)]))
        assert sorted_percentile(sorted(values), q) == float(np.percentile(values, q))
        assert percentile([*values, None, float("nan")], q) == float(np.percentile(values, q))
