"""The machine's trial-to-trial wobble taken out of a comparison, by each trial's own
calibration (analysis of covariance).

Every trial is preceded by a calibration: a fixed piece of work whose wall time and CPU
time say how fast the machine was just then. On a shared machine a start-up's times move
with it (on the 2-core VM of the docs, the log CPU time to the first token correlated
0.6–0.95 with the calibration's CPU time within one run). So each time is read as it would
have been at the comparison's typical machine speed: on log scales,

    adjusted = log y − slope · (log x − mean of log x over both sides)

with one slope for both sides, fitted to the spread *within* each side (pooled least
squares). Where the sides ran on one machine (the levels of one run, interleaved; two runs
whose calibrations agree) the centre is common to both, so the chance difference of their
calibrations is allowed for as well — that keeps the test's error rate: with the noise
gone from each side, a difference of means left in would count for more. (The slope's own
uncertainty times that difference is not carried: a few per cent of the standard error
where the sides' calibrations differ by 1 %, about 10 % at a 5 % difference.) Where two
runs' machines differed, each side is centred on its own mean (``common_centre=False``):
only the wobble within each run goes, and the whole difference of the machines is left to
:mod:`coldstart_bench.gate.machine_adjust`, which bounds it from none to all of the
calibration's change. The slope is kept within [0, 1] — a start-up that the machine slows
not at all, or as much as the calibration; a fitted value outside is noise (clipped
towards "no adjustment").

Applied where both sides have :data:`MIN_TRIALS` trials with a calibration and the fitted
slope is clearly above 0 (:data:`MIN_SLOPE_T` standard errors): a calibration that does not
explain the times would only add the noise of its own fit — and, on a machine whose wall
clock swings 12 %, made the sequential test on wall time fail 5.9 % of 1,000 simulated
unchanged builds instead of 4.9 % (with the rule, 4.7 % of 3,000 against 4.4 % unadjusted;
benchmarks/gate_accuracy_cpu.py).
The rank test then reads the adjusted times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MIN_TRIALS = 8  # a side, each with a calibration: fewer, and the slope is not fitted
MIN_SLOPE_T = 2.0  # the fitted slope this many standard errors above 0, else not applied


@dataclass(frozen=True)
class MachineAdjustment:
    """What the adjustment did to one comparison: the slope, and the pooled within-side
    standard deviation of the log times before and after (0.05 ≈ 5 % trial to trial)."""

    slope: float
    noise_before: float
    noise_after: float

    @property
    def noise_cut(self) -> float:
        """The share of the trial-to-trial spread it removed (0.3 = 30 % less)."""
        if self.noise_before <= 0:
            return 0.0
        return 1.0 - self.noise_after / self.noise_before


def adjust_for_machine(
    sides: Sequence[tuple[Sequence[float], Sequence[float]]],
    common_centre: bool = True,
    min_trials: int = MIN_TRIALS,
) -> tuple[list[np.ndarray], MachineAdjustment] | None:
    """``sides``: (times, calibrations) of each side, trial by trial, all positive. The
    times adjusted as the module's docstring says (same units), and what it did; None
    where it does not apply (a side with too few trials, a time or calibration ≤ 0, no
    spread in the calibrations)."""
    logs = []
    for times, calibrations in sides:
        y, x = np.asarray(times, float), np.asarray(calibrations, float)
        if len(y) != len(x) or len(y) < min_trials:
            return None
        if not (np.all(np.isfinite(x)) and np.all(x > 0) and np.all(y > 0)):
            return None
        logs.append((np.log(y), np.log(x)))
    centred = [(ly - ly.mean(), lx - lx.mean()) for ly, lx in logs]
    sxx = sum(float(np.dot(cx, cx)) for _, cx in centred)
    if sxx <= 0:
        return None
    sxy = sum(float(np.dot(cy, cx)) for cy, cx in centred)
    fitted = sxy / sxx
    dof = sum(len(ly) - 1 for ly, _ in logs)
    syy = sum(float(np.dot(cy, cy)) for cy, _ in centred)
    residual_fit = max(syy - fitted * sxy, 0.0)
    se_slope = np.sqrt(residual_fit / max(dof - 1, 1) / sxx)
    if fitted <= MIN_SLOPE_T * se_slope:
        return None
    slope = min(max(fitted, 0.0), 1.0)
    centre = float(np.mean(np.concatenate([lx for _, lx in logs])))
    adjusted = [
        np.exp(ly - slope * (lx - (centre if common_centre else lx.mean()))) for ly, lx in logs
    ]
    before = float(np.sqrt(syy / dof))
    residual = sum(float(np.dot(cy - slope * cx, cy - slope * cx)) for cy, cx in centred)
    after = float(np.sqrt(residual / max(dof - 1, 1)))
    return adjusted, MachineAdjustment(slope, before, after)
