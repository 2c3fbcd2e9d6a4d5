"""A group-sequential test for A/B inside one run: look after every round, stop once
"regression" or "no regression" is decided, with both error rates kept under optional
stopping.

Why group-sequential (and not an always-valid mixture test such as mSPRT): cold-start
trials are few (tens), looks are few (one per round), and every look is planned — the
setting group-sequential designs are built for; their boundaries at the last look are
close to the fixed-sample test's, where an always-valid confidence sequence stays 1.5–2×
wider, which at 20 trials a side is the difference between a decision and none.

The statistic at look k is the rank test's own, Z_k = Φ⁻¹(1 − p), p the one-sided
Mann–Whitney p-value of "slower" (:mod:`~coldstart_bench.analysis.rank_test`). Under no
difference it is (near) standard normal whatever the shape of the noise — a machine whose
speed jumps between two levels makes the noise bimodal, and a Z built from an estimate
and its standard error would overstate the evidence — so the false-positive rate holds
under drift; and crossing the efficacy boundary implies the fixed test's significance at
the same level, so the interval shown agrees with the verdict. Under a shift δ of log
times Z_k has mean about δ / se_k (se from the inverted test's 95 % interval), which sets
the alternative of the futility boundary. A rank statistic has few possible values in
small samples (5 trials a side cannot give p below 1/252, so Z stays under 2.7 however
large the slowdown): a look where even the most extreme outcome could not cross the
efficacy boundary is skipped, for a stop there could only be for "no regression".

At information fraction t_k = round k / last round:

- efficacy (regression): Z_k ≥ c_k, with α spent as α·t^3 (close to O'Brien–Fleming:
  almost nothing early, so the last look keeps nearly the fixed test's α), and the
  estimate above the regression threshold, as in the fixed gate;
- futility (no regression): Z_k ≤ f_k, with β = 0.2 spent as β·t^1.5 under the
  alternative "slower by the detectable bound" (drift θ = log(1 + bound) / se at the last
  look), and the estimate itself within the regression threshold, so a build that is not
  slower stops early.

Boundaries are found by recursive numerical integration of the Brownian motion
B(t) = Z·√t (Jennison & Turnbull, ch. 19), and recomputed at each look from the noise seen
so far (information-based monitoring). Where the last look's boundaries do not meet (too
few trials for the noise), the gap between them is "inconclusive".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist

import numpy as np

_NORMAL = NormalDist()
ALPHA_SPENDING_POWER = 3.0
BETA_SPENDING_POWER = 1.5
POWER = 0.8
GRID_STEP = 0.01
MIN_ROUNDS = 5  # before this many rounds a side, a rank test says little; no look


@dataclass(frozen=True)
class Boundaries:
    """Z-scale boundaries at each look: cross ``efficacy`` upwards to stop for a
    regression, ``futility`` downwards to stop for none."""

    fractions: tuple[float, ...]
    efficacy: tuple[float, ...]
    futility: tuple[float, ...]


def spent(level: float, t: float, power: float) -> float:
    """The power-family spending function: ``level · t^power``."""
    return level * min(max(t, 0.0), 1.0) ** power


@lru_cache(maxsize=8192)
def boundaries(fractions: tuple[float, ...], alpha: float, drift: float) -> Boundaries:
    """Efficacy and (binding) futility boundaries at the looks ``fractions`` (ascending,
    the last ≤ 1), for a one-sided ``alpha`` and power :data:`POWER` at ``drift`` (the mean
    of Z at full information under the alternative)."""
    beta = 1 - POWER
    half_width = 12.0 + max(drift, 0.0) * 2
    grid = np.arange(-half_width, half_width + GRID_STEP / 2, GRID_STEP)
    null = alt = None  # sub-densities of B on the grid, still running
    efficacy: list[float] = []
    futility: list[float] = []
    previous = 0.0
    for t in fractions:
        if efficacy and efficacy[-1] == futility[-1]:  # decided at an earlier look
            efficacy.append(efficacy[-1])
            futility.append(futility[-1])
            continue
        step = t - previous
        null = _advance(null, grid, 0.0, step, t)
        alt = _advance(alt, grid, drift, step, t)
        spend_a = spent(alpha, t, ALPHA_SPENDING_POWER) - spent(
            alpha, previous, ALPHA_SPENDING_POWER
        )
        spend_b = spent(beta, t, BETA_SPENDING_POWER) - spent(beta, previous, BETA_SPENDING_POWER)
        lower = _lower_quantile(alt, grid, spend_b)
        # Binding futility may leave less null mass than this look may spend: then every
        # path still running crosses, and the boundaries meet where futility is.
        upper = _upper_quantile(null, grid, spend_a) if null.sum() > spend_a else lower
        if lower >= upper:
            lower = upper  # the decision is forced here
        efficacy.append(upper / math.sqrt(t))
        futility.append(lower / math.sqrt(t))
        keep = (grid > lower) & (grid < upper)
        null, alt = null * keep, alt * keep
        previous = t
    return Boundaries(tuple(fractions), tuple(efficacy), tuple(futility))


def _advance(
    density: np.ndarray | None, grid: np.ndarray, drift: float, step: float, t: float
) -> np.ndarray:
    """The sub-density of B(t) one look later (mass on the grid, summing to what is left)."""
    if density is None:  # the first look: B(t) ~ N(drift·t, t)
        mass = _normal_pdf(grid, drift * t, math.sqrt(t)) * GRID_STEP
        return mass
    sd = math.sqrt(step)
    reach = math.ceil(8 * sd / GRID_STEP)
    offsets = np.arange(-reach, reach + 1) * GRID_STEP
    kernel = _normal_pdf(offsets, drift * step, sd) * GRID_STEP
    return np.convolve(density, kernel, mode="same")


def _normal_pdf(x: np.ndarray, mean: float, sd: float) -> np.ndarray:
    return np.exp(-0.5 * ((x - mean) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))


def _upper_quantile(mass: np.ndarray, grid: np.ndarray, tail: float) -> float:
    """The point above which ``tail`` of the mass lies (+inf when less than that is left)."""
    above = np.cumsum(mass[::-1])[::-1]
    hits = np.flatnonzero(above <= tail)
    return float(grid[hits[0]]) if len(hits) and tail > 0 else math.inf


def _lower_quantile(mass: np.ndarray, grid: np.ndarray, tail: float) -> float:
    below = np.cumsum(mass)
    hits = np.flatnonzero(below <= tail)
    return float(grid[hits[-1]]) if len(hits) and tail > 0 else -math.inf


@dataclass(frozen=True)
class Look:
    """One comparison at one look: what the test says there."""

    round: int
    z: float
    efficacy: float
    futility: float
    decision: (
        str  # "regression", "pass", "warning" (significant, within the threshold) or "continue"
    )


def z_of(p_slower: float) -> float:
    """The rank test's one-sided p-value as a standard normal score."""
    return _NORMAL.inv_cdf(1 - min(max(p_slower, 1e-12), 1 - 1e-12))


def look(
    *,
    rounds: int,
    last_round: int,
    p_slower: float,
    log_ratio: float,
    se_log: float,
    alpha: float,
    threshold: float,
    bound: float,
    smallest_p: float = 0.0,
    min_rounds: int = MIN_ROUNDS,
) -> Look:
    """The decision at a look after ``rounds`` rounds (of ``last_round`` at most), given
    the rank test's p-value, the estimate and its standard error: the boundaries of every
    look made so far are recomputed for the noise seen now."""
    if rounds < min_rounds or not math.isfinite(se_log) or se_log <= 0:
        return Look(rounds, math.nan, math.inf, -math.inf, "continue")
    looks = tuple(r / last_round for r in range(min_rounds, rounds + 1))
    se_last = se_log * math.sqrt(rounds / last_round)
    drift = math.log1p(bound) / se_last
    # The drift is an estimate: to 0.02 is as exact as it is, and lets designs be reused.
    edges = boundaries(tuple(round(f, 6) for f in looks), alpha, round(drift * 50) / 50)
    z = z_of(p_slower)
    upper, lower = edges.efficacy[-1], edges.futility[-1]
    if z_of(smallest_p) < upper:  # not even the most extreme outcome could cross: no look
        decision = "continue"
    elif z >= upper:
        decision = "regression" if log_ratio > math.log1p(threshold) else "warning"
    elif z <= lower and log_ratio <= math.log1p(threshold):
        # Never "no regression" while the estimate itself is one: near its few possible
        # values a small rank test can fall under the boundary with a clear slowdown.
        decision = "pass"
    else:
        decision = "continue"
    return Look(rounds, z, upper, lower, decision)


def rounds_of(repetitions: Sequence[int]) -> int:
    """How many complete rounds a set of trials holds (their repetitions 0..k-1)."""
    return (max(repetitions) + 1) if repetitions else 0
