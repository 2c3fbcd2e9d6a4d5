"""Change points in a history: where a metric's level stepped between runs, named by the
commit of the first run after the step.

Each series is one scenario, variant and metric over the runs, in their order.
Candidates come from ruptures' PELT on the runs' median log times, read at the history's
typical machine speed (:func:`~coldstart_bench.analysis.covariate.adjust_for_machine` with
every run as a side: one slope of log time on the log calibration within runs, applied
about the common centre); an l2 cost, so a step in the mean, its penalty 3 σ² ln n with σ
the series' noise read robustly from its successive differences.

A candidate is a change point only where Welch's t-test on the trials either side of it
(up to the neighbouring candidates) gives p below ``alpha`` and a step of at least
``min_change`` — Otava's E-divisive keeps its candidates with a t-test the same way — and,
where the machine's calibration stepped the same way at that run, does so still with the
calibration's whole step (the difference of its medians either side) taken out: a
server's time follows its machine's speed somewhere between not at all and fully, the
bounds of the gate's machine allowance. A runner that got slower between runs is then no
step of the build, and a step that the machine alone cannot explain still is. (Taking each
trial's own calibration out instead adds that calibration's noise to every trial: on a
busy runner, 25 % of it, enough to hide a +45 % step.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from coldstart_bench.analysis.covariate import adjust_for_machine

ALPHA = 0.001
MIN_CHANGE = 0.05
MIN_RUNS = 4
MIN_SEGMENT = 2  # runs


@dataclass(frozen=True)
class RunSeries:
    """One run's trials of a series: their values and calibrations (None: not measured)."""

    run_key: str
    run_id: str
    commit: str | None
    values: tuple[float, ...]
    calibrations: tuple[float | None, ...]


@dataclass(frozen=True)
class ChangePoint:
    """A step between ``index − 1`` and ``index`` (positions in the series' runs)."""

    variant: str
    metric: str
    index: int
    run_id: str
    commit: str | None
    before: float  # the median before the step, at the history's typical speed
    after: float
    ratio: float  # after / before (geometric means of the trials either side)
    low: float  # its 95 % interval
    high: float
    p: float
    machine_ratio: float | None  # the calibration's after / before, where measured
    machine_moved: bool  # the calibration stepped clearly at the same run too

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def read_at_typical_speed(runs: Sequence[RunSeries]) -> tuple[list[np.ndarray], bool]:
    """Each run's values, adjusted for its trials' calibrations where every trial has one
    and the slope is clear; whether they were adjusted."""
    if _calibrated(runs):
        sides = [(r.values, [float(c) for c in r.calibrations if c is not None]) for r in runs]
        done = adjust_for_machine(sides, common_centre=True, min_trials=2)
        if done is not None:
            return done[0], True
    return [np.asarray(r.values, float) for r in runs], False


def _calibrated(runs: Sequence[RunSeries]) -> bool:
    return all(c is not None and c > 0 for r in runs for c in r.calibrations)


def find_changes(
    variant: str,
    metric: str,
    runs: Sequence[RunSeries],
    alpha: float = ALPHA,
    min_change: float = MIN_CHANGE,
) -> list[ChangePoint]:
    """The change points of one series (see the module's docstring)."""
    runs = [r for r in runs if r.values and all(v > 0 for v in r.values)]
    if len(runs) < MIN_RUNS:
        return []
    values, _adjusted = read_at_typical_speed(runs)
    logs = [np.log(v) for v in values]
    measured = [np.log(np.asarray(r.values, float)) for r in runs]
    calibrated = _calibrated(runs)
    candidates = _candidates(np.array([np.median(y) for y in logs]))
    bounds = [0, *candidates, len(runs)]
    found = []
    for i, k in enumerate(candidates):
        start, end = bounds[i], bounds[i + 1 + 1]
        raw_before = np.concatenate(measured[start:k])
        raw_after = np.concatenate(measured[k:end])
        if not _clear(raw_before, raw_after, alpha, min_change):
            continue
        raw_step = float(np.mean(raw_after) - np.mean(raw_before))
        machine = _machine_step(runs, start, k, end) if calibrated else 0.0
        # the machine's whole step out, where it went the same way: what is left must
        # still be a clear step, and the same way
        if machine * raw_step > 0 and not _clear(
            raw_before, raw_after - machine, alpha, min_change, sign=raw_step
        ):
            continue
        before = np.concatenate(logs[start:k])
        after = np.concatenate(logs[k:end])
        step = _welch(before, after)
        if step is None:
            continue
        diff, low, high, p = step
        found.append(
            ChangePoint(
                variant=variant,
                metric=metric,
                index=k,
                run_id=runs[k].run_id,
                commit=runs[k].commit,
                before=float(np.exp(np.median(before))),
                after=float(np.exp(np.median(after))),
                ratio=math.exp(diff),
                low=math.exp(low),
                high=math.exp(high),
                p=p,
                **_machine(runs, start, k, end, alpha),
            )
        )
    return found


def _clear(
    before: np.ndarray, after: np.ndarray, alpha: float, min_change: float, sign: float = 0.0
) -> bool:
    """A step between these log values: significant, large enough (and, given ``sign``,
    that way)."""
    step = _welch(before, after)
    if step is None or step[3] >= alpha or abs(math.expm1(step[0])) < min_change:
        return False
    return sign == 0.0 or step[0] * sign > 0


def _machine_step(runs: Sequence[RunSeries], start: int, k: int, end: int) -> float:
    """The calibration's step at ``k`` in logs: the medians' difference either side."""

    def logs(part: Sequence[RunSeries]) -> np.ndarray:
        return np.log([float(c) for r in part for c in r.calibrations if c is not None])

    return float(np.median(logs(runs[k:end])) - np.median(logs(runs[start:k])))


def _candidates(signal: np.ndarray) -> list[int]:
    import ruptures

    n = len(signal)
    sigma = 1.4826 * float(np.median(np.abs(np.diff(signal)))) / math.sqrt(2)
    sigma = max(sigma, 1e-4)  # a series without noise: a step of 0.01 % is not one
    penalty = 3 * sigma * sigma * math.log(n)
    model = ruptures.Pelt(model="l2", min_size=MIN_SEGMENT, jump=1).fit(signal.reshape(-1, 1))
    return [int(k) for k in model.predict(pen=penalty)[:-1]]


def _welch(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float, float] | None:
    """(mean difference b − a, its 95 % interval, two-sided p) of Welch's t-test."""
    from scipy import stats

    if len(a) < 2 or len(b) < 2:
        return None
    va, vb = float(np.var(a, ddof=1)) / len(a), float(np.var(b, ddof=1)) / len(b)
    diff = float(np.mean(b) - np.mean(a))
    se = math.sqrt(va + vb)
    if se == 0:
        return (diff, diff, diff, 0.0 if diff else 1.0)
    dof = (va + vb) ** 2 / (va * va / max(len(a) - 1, 1) + vb * vb / max(len(b) - 1, 1))
    t = diff / se
    p = float(2 * stats.t.sf(abs(t), dof))
    half = float(stats.t.ppf(0.975, dof)) * se
    return diff, diff - half, diff + half, p


def _machine(
    runs: Sequence[RunSeries], start: int, k: int, end: int, alpha: float
) -> dict[str, object]:
    """Whether the calibration stepped at the same run (Welch's test on its logs)."""

    def logs(part: Sequence[RunSeries]) -> np.ndarray:
        return np.log([c for r in part for c in r.calibrations if c is not None and c > 0])

    before, after = logs(runs[start:k]), logs(runs[k:end])
    step = _welch(before, after) if len(before) and len(after) else None
    if step is None:
        return {"machine_ratio": None, "machine_moved": False}
    diff, _low, _high, p = step
    return {
        "machine_ratio": math.exp(diff),
        "machine_moved": p < alpha and abs(math.expm1(diff)) >= MIN_CHANGE,
    }
