"""The one statistic every comparison reads: the rank test, its shift estimate and the
interval that inverts it — checked against brute force, textbook formulas and scipy, and
for the property the gate relies on: significant ⇔ the interval excludes 1×."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from coldstart_bench.analysis import rank_test as shift_module
from coldstart_bench.analysis.rank_test import detectable_change, shift, smallest_p, trials_needed


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
def test_the_exact_rank_test_matches_brute_force_and_scipy(sizes):
    rng = np.random.default_rng(sum(sizes))
    new, base = rng.lognormal(0.4, 1, sizes[0]), rng.lognormal(0, 1, sizes[1])
    p = shift(new, base, 0.05).p_slower
    assert p == pytest.approx(brute_force_p(new, base))
    assert p == pytest.approx(
        stats.mannwhitneyu(new, base, alternative="greater", method="exact").pvalue
    )


def normal_approximation_p(new: np.ndarray, base: np.ndarray) -> float:
    """The textbook normal approximation: tie-corrected variance, continuity correction."""
    n1, n2 = len(new), len(base)
    u = (new[:, None] > base[None, :]).sum() + 0.5 * (new[:, None] == base[None, :]).sum()
    _, ties = np.unique(np.concatenate([new, base]), return_counts=True)
    n = n1 + n2
    var = n1 * n2 / 12 * ((n + 1) - (ties**3 - ties).sum() / (n * (n - 1)))
    z = (u - n1 * n2 / 2 - 0.5) / math.sqrt(var)
    return 0.5 * math.erfc(z / math.sqrt(2))


def test_beyond_the_exact_limit_the_normal_approximation_is_used(monkeypatch):
    rng = np.random.default_rng(5)
    new, base = rng.lognormal(0.1, 0.3, 30), rng.lognormal(0, 0.3, 30)
    exact = shift(new, base, 0.05).p_slower
    assert exact == pytest.approx(
        stats.mannwhitneyu(new, base, alternative="greater", method="exact").pvalue
    )
    monkeypatch.setattr(shift_module, "EXACT_PAIRS", 100)
    approx = shift(new, base, 0.05).p_slower
    assert approx == pytest.approx(normal_approximation_p(new, base), rel=1e-9)
    assert approx == pytest.approx(exact, abs=0.005)


def test_tied_values_use_the_tie_corrected_approximation():
    rng = np.random.default_rng(6)
    new = np.round(rng.lognormal(0.3, 0.5, 10), 1)
    base = np.round(rng.lognormal(0, 0.5, 10), 1)
    assert len(np.unique(np.concatenate([new, base]))) < 20  # there are ties
    assert shift(new, base, 0.05).p_slower == pytest.approx(
        normal_approximation_p(new, base), rel=1e-9
    )
    assert shift([5.0, 5, 5], [5.0, 5, 5], 0.05).p_slower == 1.0


def test_known_values():
    assert shift([4.0, 5, 6], [1.0, 2, 3], 0.05).p_slower == pytest.approx(1 / 20)
    assert shift([1.0, 2, 3], [4.0, 5, 6], 0.05).p_slower == pytest.approx(1.0)
    assert smallest_p(3, 3) == pytest.approx(0.05)
    assert trials_needed(0.05) == 3 and trials_needed(0.05 / 8) == 5
    same = shift([100.0, 110, 120], [100.0, 110, 120], 0.05)
    assert same.ratio == pytest.approx(1.0)  # the median of the pairwise log ratios


@pytest.mark.parametrize("sizes", [(4, 4), (10, 10), (10, 7), (30, 30), (120, 120)])
@pytest.mark.parametrize("alpha", [0.05, 0.00625])
def test_significant_exactly_when_the_interval_excludes_one(sizes, alpha):
    """The interval is the set of shifts the same test does not reject, so the two can
    never disagree — exact and approximate distributions alike."""
    rng = np.random.default_rng(sizes[0] * 31 + sizes[1])
    for effect in np.linspace(0.0, 0.3, 13):
        new = rng.lognormal(effect, 0.15, sizes[0])
        base = rng.lognormal(0, 0.15, sizes[1])
        s = shift(new, base, alpha)
        assert (s.p_slower <= alpha) == (s.low > 1), (effect, s)
        assert (s.p_faster <= alpha) == (s.high < 1), (effect, s)
        assert s.low <= s.ratio <= s.high


def test_the_interval_covers_the_true_ratio_at_its_level():
    rng = np.random.default_rng(2)
    covered = 0
    for _ in range(400):
        new = rng.lognormal(math.log(1.1), 0.2, 15)
        base = rng.lognormal(0, 0.2, 15)
        s = shift(new, base, 0.025)  # a 95 % interval
        covered += s.low <= 1.1 <= s.high
    assert 0.92 <= covered / 400 <= 0.98


def test_too_few_trials_give_an_unbounded_interval_and_no_power():
    s = shift([2.0, 3.0], [1.0, 1.5], 0.05 / 8)
    assert not s.bounded and s.low == 0 and math.isinf(s.high)
    assert detectable_change(math.inf, 0.05, 0.05) == math.inf


def test_the_detectable_change_grows_with_noise_and_strictness():
    loose = detectable_change(0.02, 0.05, 0.05)
    noisy = detectable_change(0.05, 0.05, 0.05)
    strict = detectable_change(0.02, 0.005, 0.05)
    assert loose < noisy and loose < strict
    # With very little noise the threshold decides: a bit over max_regression.
    assert 0.05 < detectable_change(0.001, 0.05, 0.05) < 0.06
