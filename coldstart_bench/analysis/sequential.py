"""A group-sequential test for A/B inside one run: look after every round, stop once
"regression" or "no regression" is decided, with both error rates kept under optional
stopping.

Why group-sequential (and not an always-valid mixture test such as mSPRT): cold-start
trials are few (tens), looks are few (one per round), and every look is planned — the
setting group-sequential designs are built for; their boundaries at the last look are
close to the fixed-sample test's, where an always-valid confidence sequence stays 1.5–2×
wider, which at 20 trials a side is the difference between a decision and none.

The statistic at look k is Z_k = log(ratio) / se (:mod:`~coldstart_bench.analysis.shift`:
Hodges–Lehmann estimate of the shift of log times, its standard error from the inverted
rank test). At information fraction t_k = round k / last round:

- efficacy (regression): Z_k ≥ c_k, with α spent as α·t^3 (close to O'Brien–Fleming:
  almost nothing early, so the last look keeps nearly the fixed test's α), and the
  estimate above the regression threshold, as in the fixed gate;
- futility (no regression): Z_k ≤ f_k, with β = 0.2 spent as β·t^1.5 under the
  alternative "slower by the detectable bound" (drift θ = log(1 + bound) / se at the last
  look), so a build that is not slower stops early.

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


@lru_cache(maxsize=512)
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
        upper = _upper_quantile(null, grid, spend_a)
        lower = _lower_quantile(alt, grid, spend_b)
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


def look(
    *,
    rounds: int,
    last_round: int,
    log_ratio: float,
    se_log: float,
    alpha: float,
    threshold: float,
    bound: float,
    min_rounds: int = MIN_ROUNDS,
) -> Look:
    """The decision at a look after ``rounds`` rounds (of ``last_round`` at most), given
    the estimate and its standard error: the boundaries of every look made so far are
    recomputed for the noise seen now."""
    if rounds < min_rounds or not math.isfinite(se_log) or se_log <= 0:
        return Look(rounds, math.nan, math.inf, -math.inf, "continue")
    looks = tuple(r / last_round for r in range(min_rounds, rounds + 1))
    se_last = se_log * math.sqrt(rounds / last_round)
    drift = math.log1p(bound) / se_last
    edges = boundaries(tuple(round(f, 6) for f in looks), alpha, round(drift, 3))
    z = log_ratio / se_log
    upper, lower = edges.efficacy[-1], edges.futility[-1]
    if z >= upper:
        decision = "regression" if log_ratio > math.log1p(threshold) else "warning"
    elif z <= lower:
        decision = "pass"
    else:
        decision = "continue"
    return Look(rounds, z, upper, lower, decision)


def rounds_of(repetitions: Sequence[int]) -> int:
    """How many complete rounds a set of trials holds (their repetitions 0..k-1)."""
    return (max(repetitions) + 1) if repetitions else 0
