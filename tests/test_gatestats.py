"""The gate's statistics against hand-checkable cases and brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from coldstart_bench.gatestats import (
    compare,
    decide,
    holm,
    mann_whitney_greater,
    outliers,
    ratio_ci,
    smallest_p,
    trials_needed,
)


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
    assert mann_whitney_greater(new, base) == pytest.approx(brute_force_p(new, base))


def test_the_normal_approximation_is_close_to_exact_for_larger_samples():
    rng = np.random.default_rng(5)
    new, base = rng.normal(0.3, 1, 30), rng.normal(0, 1, 30)
    approx = mann_whitney_greater(new, base)  # 900 > the exact limit
    import coldstart_bench.gatestats as gs

    limit, gs.EXACT_LIMIT = gs.EXACT_LIMIT, 10_000
    try:
        exact = mann_whitney_greater(new, base)
    finally:
        gs.EXACT_LIMIT = limit
    assert approx == pytest.approx(exact, abs=0.005)


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


def test_the_decision_needs_significance_and_size():
    rng = np.random.default_rng(3)
    base = rng.normal(1000, 20, 20)
    big = compare("v", "cold_ttft_ms", base, base * 1.2)
    small = compare("v", "cold_ttft_ms", base, base * 1.02 + rng.normal(0, 1, 20))
    same = compare("v", "cold_ttft_ms", base, rng.normal(1000, 20, 20))
    tiny = compare("v", "cold_ttft_ms", base[:2], base[:2] * 1.5)
    verdicts = [d.verdict for d in decide([big, small, same], max_regression=0.05)]
    assert verdicts[0] == "regression"
    assert verdicts[1] in ("warning", "pass")  # 2 % is under the 5 % threshold either way
    assert verdicts[2] == "pass"
    [inconclusive] = decide([tiny])
    assert inconclusive.verdict == "inconclusive"
    assert "needs at least 3 per side" in inconclusive.reason


def test_holm_makes_more_comparisons_stricter():
    rng = np.random.default_rng(4)
    base = rng.normal(100, 10, 8)
    new = base * 1.12 + rng.normal(0, 3, 8)
    alone = decide([compare("a", "m", base, new)])[0]
    crowded = decide([compare(str(i), "m", base, new) for i in range(12)])[0]
    assert crowded.p_adjusted >= alone.p_adjusted
