"""Change points in a history: where a metric's level stepped between runs, named by the
commit of the first run after the step.

Each series is one scenario, variant and metric over the runs, in their order; a run is
one point, its trials' median log value (a run's trials share its machine's state, so they
are no independent evidence of a step between runs).

**The machine.** Where every run measured its calibration, each run is read at the
history's typical machine speed: ``y − b (x − x̄)``, x the run's median log calibration, b
the slope of y on x *within the segments between change points* (an ANCOVA at the level
of runs: between the runs of one stretch of commits the build is the same, so their spread
along the calibration is the machine's), clipped to [0, 1]. Segments and slope are found
together, a few rounds until they agree.

**Steps.** Candidates come from ruptures' PELT on those values (an l2 cost: a step in the
mean; its penalty 3 σ² ln n, σ the series' noise read robustly from successive
differences). Then, as Otava prunes E-divisive's candidates with a t-test, the weakest
candidate is dropped until every one left is clear: Welch's t-test on the runs either side
(up to the neighbouring change points) below ``alpha``, a step of at least ``min_change``,
and — where the calibration stepped the same way at that run — still so with the
machine's whole step taken out (a server's time follows its machine somewhere between not
at all and fully: the bounds of the gate's machine allowance). A runner that got slower is
no step of the build; a step the machine cannot explain stays. Where the calibration
stepped clearly the *other* way at the same run (a loaded runner's first requests came
faster: stress-ng kept its clock up), the step cannot be told from the machine's and is
not reported. A step needs three runs on either side of it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

ALPHA = 0.001
MIN_CHANGE = 0.05
MIN_RUNS = 4
MIN_SEGMENT = 3  # runs: a step is seen once three runs stand on either side of it
ROUNDS = 5  # of segments and slope fitted in turn


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
    """A step between runs ``index − 1`` and ``index`` (positions in the series)."""

    variant: str
    metric: str
    index: int
    run_id: str
    commit: str | None
    before: float  # the runs' median before the step, at the history's typical speed
    after: float
    ratio: float  # after / before (geometric means of the runs either side)
    low: float  # its 95 % interval
    high: float
    p: float
    machine_ratio: float | None  # the calibration's after / before, where measured
    machine_moved: bool  # the calibration stepped clearly at the same run too

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class _Series:
    measured: np.ndarray  # each run's median log value
    machine: np.ndarray | None  # each run's median log calibration, where all have one


def _series(runs: Sequence[RunSeries]) -> _Series:
    measured = np.array([np.median(np.log(np.asarray(r.values, float))) for r in runs])
    calibrated = all(c is not None and c > 0 for r in runs for c in r.calibrations)
    machine = (
        np.array([np.median(np.log([float(c) for c in r.calibrations if c])) for r in runs])
        if calibrated
        else None
    )
    return _Series(measured, machine)


def machine_slope(series: _Series, bounds: Sequence[int]) -> float:
    """The pooled within-segment slope of the runs' log value on their log calibration,
    clipped to [0, 1] (0 where nothing is measured or nothing spreads)."""
    if series.machine is None:
        return 0.0
    sxy = sxx = 0.0
    for start, end in itertools.pairwise(bounds):
        x, y = series.machine[start:end], series.measured[start:end]
        if len(x) < 2:
            continue
        cx = x - x.mean()
        sxx += float(np.dot(cx, cx))
        sxy += float(np.dot(cx, y - y.mean()))
    return min(max(sxy / sxx, 0.0), 1.0) if sxx > 0 else 0.0


def _typical(series: _Series, slope: float) -> np.ndarray:
    if series.machine is None or slope == 0:
        return series.measured
    return series.measured - slope * (series.machine - series.machine.mean())


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
    series = _series(runs)
    candidates: list[int] = []
    slope = machine_slope(series, [0, len(runs)])
    for _ in range(ROUNDS):
        typical = _typical(series, slope)
        found = _prune(series, typical, _candidates(typical), alpha, min_change)
        new_slope = machine_slope(series, [0, *found, len(runs)])
        if found == candidates and abs(new_slope - slope) < 0.01:
            break
        candidates, slope = found, new_slope
    typical = _typical(series, slope)
    candidates = _prune(series, typical, candidates, alpha, min_change)
    bounds = [0, *candidates, len(runs)]
    points = []
    for i, k in enumerate(candidates):
        before, after = typical[bounds[i] : k], typical[k : bounds[i + 2]]
        step = _welch(before, after)
        if step is None:
            continue
        diff, low, high, p = step
        points.append(
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
                **_machine(series, bounds[i], k, bounds[i + 2], alpha),
            )
        )
    return points


def _prune(
    series: _Series, typical: np.ndarray, candidates: list[int], alpha: float, min_change: float
) -> list[int]:
    """Drop the weakest candidate until every one left is a clear step."""
    kept = list(candidates)
    while kept:
        bounds = [0, *kept, len(typical)]
        weakest, worst = None, -1.0
        for i, k in enumerate(kept):
            p = _step_p(series, typical, bounds[i], k, bounds[i + 2], alpha, min_change)
            if p >= alpha and p > worst:
                weakest, worst = i, p
        if weakest is None:
            return kept
        del kept[weakest]
    return kept


def _step_p(
    series: _Series,
    typical: np.ndarray,
    start: int,
    k: int,
    end: int,
    alpha: float,
    min_change: float,
) -> float:
    """The p-value of the step at ``k`` (1 where it is too small, or the machine's)."""
    before, after = typical[start:k], typical[k:end]
    step = _welch(before, after)
    if step is None or abs(math.expm1(step[0])) < min_change:
        return 1.0
    if series.machine is not None:
        machine = float(np.median(series.machine[k:end]) - np.median(series.machine[start:k]))
        moved = _welch(series.machine[start:k], series.machine[k:end])
        if (
            machine * step[0] < 0
            and moved is not None
            and moved[3] < alpha
            and abs(math.expm1(moved[0])) >= min_change
        ):
            return 1.0  # the machine clearly moved the other way at the same run: whose step?
        if machine * step[0] > 0:  # all of the machine out: still a clear step that way?
            full = _typical(series, 1.0)
            out = _welch(full[start:k], full[k:end])
            if out is None or out[0] * step[0] <= 0 or abs(math.expm1(out[0])) < min_change:
                return 1.0
            return max(step[3], out[3])
    return step[3]


def _candidates(signal: np.ndarray) -> list[int]:
    import ruptures

    n = len(signal)
    sigma = 1.4826 * float(np.median(np.abs(np.diff(signal)))) / math.sqrt(2)
    sigma = max(sigma, 1e-4)  # a series without noise: a step of 0.01 % is not one
    penalty = 3 * sigma * sigma * math.log(n)
    # PELT with the L2 cost, in ruptures' compiled form (a linear kernel's cost is the L2
    # cost): the same change points as Pelt(model="l2") on 300 random series, ~1,000× faster
    # on 1,000 runs (2.2 s → 2 ms a series)
    model = ruptures.KernelCPD(kernel="linear", min_size=MIN_SEGMENT, jump=1)
    model.fit(signal.reshape(-1, 1))
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
    p = float(2 * stats.t.sf(abs(diff / se), dof))
    half = float(stats.t.ppf(0.975, dof)) * se
    return diff, diff - half, diff + half, p


def _machine(series: _Series, start: int, k: int, end: int, alpha: float) -> dict[str, object]:
    """Whether the calibration stepped at the same run (Welch's test on the runs' median
    log calibrations)."""
    if series.machine is None:
        return {"machine_ratio": None, "machine_moved": False}
    step = _welch(series.machine[start:k], series.machine[k:end])
    if step is None:
        return {"machine_ratio": None, "machine_moved": False}
    diff, _low, _high, p = step
    return {
        "machine_ratio": math.exp(diff),
        "machine_moved": p < alpha and abs(math.expm1(diff)) >= MIN_CHANGE,
    }
