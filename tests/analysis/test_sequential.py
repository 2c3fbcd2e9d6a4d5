"""The group-sequential test keeps its error rates under optional stopping: checked by
simulating its statistic (a Brownian motion observed at the looks) and real rank
statistics, and against the naive alternative — the fixed test repeated after every
round — which does not."""

from __future__ import annotations

import math

import numpy as np

from coldstart_bench.analysis.rank_test import shift, smallest_p
from coldstart_bench.analysis.sequential import boundaries, look

LOOKS = tuple(r / 20 for r in range(5, 21))


def crossings(edges, drift: float, sims: int = 20_000, seed: int = 0):  # type: ignore[no-untyped-def]
    """Shares of simulated paths stopped for efficacy, for futility, and undecided."""
    rng = np.random.default_rng(seed)
    t = np.array(edges.fractions)
    steps = np.diff(np.concatenate([[0.0], t]))
    path = np.cumsum(rng.normal(drift * steps, np.sqrt(steps), (sims, len(t))), axis=1)
    z = path / np.sqrt(t)
    up = z >= np.array(edges.efficacy)
    down = z <= np.array(edges.futility)
    first_up = np.where(up.any(1), up.argmax(1), 999)
    first_down = np.where(down.any(1), down.argmax(1), 999)
    return float((first_up < first_down).mean()), float((first_down < first_up).mean())


def test_the_false_positive_rate_stays_at_alpha_under_optional_stopping():
    for drift in (1.5, 2.5, 3.5):
        edges = boundaries(LOOKS, 0.05, drift)
        rejected, _ = crossings(edges, 0.0)
        assert rejected <= 0.055, (drift, rejected)


def test_the_futility_boundary_gives_the_designed_power():
    edges = boundaries(LOOKS, 0.05, 3.0)
    rejected, _ = crossings(edges, 3.0)
    assert rejected >= 0.78  # 80 % designed, a little lost to binding futility
    _, accepted_at_zero = crossings(edges, 0.0)
    assert accepted_at_zero >= 0.9  # no effect: stopped for "no regression"


def test_an_underpowered_design_leaves_a_gap_at_the_last_look():
    edges = boundaries(LOOKS, 0.05, 1.0)  # too few trials for the noise
    assert edges.futility[-1] < edges.efficacy[-1]


def test_repeating_the_fixed_test_after_every_round_inflates_false_positives():
    """What the sequential design prevents: stop at the first round where the fixed test
    is significant, and 5 % becomes several times that."""
    rng = np.random.default_rng(1)
    naive = sequential = 0
    sims = 400
    for _ in range(sims):
        base = rng.lognormal(0, 0.1, 20)
        new = rng.lognormal(0, 0.1, 20)
        for rounds in range(5, 21):
            s = shift(new[:rounds], base[:rounds], 0.05)
            if s.low > 1:
                naive += 1
                break
        for rounds in range(5, 21):
            s = shift(new[:rounds], base[:rounds], 0.05)
            seen = look(
                rounds=rounds, last_round=20, p_slower=s.p_slower,
                log_ratio=math.log(s.ratio), se_log=s.se_log, alpha=0.05, threshold=0.0,
                bound=0.1, smallest_p=smallest_p(rounds, rounds),
            )  # fmt: skip
            if seen.decision in ("regression", "warning"):
                sequential += 1
                break
            if seen.decision == "pass":
                break
    assert naive / sims > 0.08  # inflated
    assert sequential / sims <= 0.06
