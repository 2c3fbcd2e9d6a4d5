"""The gate's decision rule: a regression needs significance *and* size; a pass needs the
power to have found the change it is asked to find."""

from __future__ import annotations

import numpy as np

from coldstart_bench.gate.rule import compare, compare_word, decide

ALPHA = 0.05


def family(*pairs: tuple[np.ndarray, np.ndarray]):  # type: ignore[no-untyped-def]
    """Comparisons of (base, new) pairs as one family (Bonferroni over all of them)."""
    each = ALPHA / len(pairs)
    return [compare(f"v{i}", "cold_ttft_ms", b, n, each) for i, (b, n) in enumerate(pairs)]


def test_the_decision_needs_significance_and_size():
    rng = np.random.default_rng(3)
    base = rng.normal(1000, 20, 20)
    verdicts = [
        d.verdict
        for d in decide(
            family(
                (base, base * 1.2),
                (base, base * 1.02 + rng.normal(0, 1, 20)),
                (base, rng.normal(1000, 20, 20)),
            ),
            max_regression=0.05,
        )
    ]
    assert verdicts[0] == "regression"
    assert verdicts[1] in ("warning", "pass")  # 2 % is under the 5 % threshold either way
    assert verdicts[2] == "pass"
    [too_few] = decide(family((base[:2], base[:2] * 1.5)))
    assert too_few.verdict == "inconclusive"
    assert "needs at least 3 per side" in too_few.reason


def test_a_pass_needs_the_power_to_find_the_detectable_bound():
    rng = np.random.default_rng(9)
    base = rng.lognormal(0, 0.4, 6) * 1000  # very noisy, few trials
    new = rng.lognormal(0, 0.4, 6) * 1000
    [noisy] = decide(family((base, new)), max_detectable=0.15)
    assert noisy.verdict == "inconclusive" and noisy.detectable > 0.15
    assert "only a slowdown of" in noisy.reason
    quiet_base = rng.lognormal(0, 0.02, 20) * 1000
    quiet_new = rng.lognormal(0, 0.02, 20) * 1000
    [quiet] = decide(family((quiet_base, quiet_new)), max_detectable=0.15)
    assert quiet.verdict == "pass" and quiet.detectable < 0.15


def test_more_comparisons_make_each_stricter_and_the_interval_wider():
    rng = np.random.default_rng(4)
    base = rng.normal(100, 10, 8)
    new = base * 1.12 + rng.normal(0, 3, 8)
    [alone] = decide(family((base, new)))
    crowded = decide(family(*[(base, new)] * 12))[0]
    assert crowded.p_adjusted >= alone.p_adjusted
    assert crowded.comparison.shift.low <= alone.comparison.shift.low


def test_the_verdict_and_the_interval_always_agree():
    rng = np.random.default_rng(11)
    for effect in np.linspace(-0.2, 0.3, 11):
        base = rng.lognormal(0, 0.1, 12) * 1000
        new = rng.lognormal(effect, 0.1, 12) * 1000
        [d] = decide(family((base, new)))
        slower = d.verdict in ("regression", "warning")
        assert slower == (d.comparison.shift.low > 1) == (d.p_adjusted < ALPHA)
        assert (compare_word(d) == "slower") == slower
        if d.faster:
            assert d.verdict == "pass" and d.p_faster_adjusted < ALPHA
