"""The gate's decision rule: a regression needs significance *and* size."""

from __future__ import annotations

import numpy as np

from coldstart_bench.gate.rule import compare, decide


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
