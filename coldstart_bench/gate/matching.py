"""What a comparison compares: the trials of two sides (two runs, or two levels of one
factor inside a run) grouped by variant, and the variants both sides have."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from coldstart_bench.analysis.frames import measured_ok
from coldstart_bench.analysis.metrics import BY_NAME, PHASE_PREFIX
from coldstart_bench.analysis.phase_effects import trials_with_phases
from coldstart_bench.errors import GateInputError
from coldstart_bench.results.schema import TrialRecord
from coldstart_bench.results.store import RunData


@dataclass(frozen=True)
class Side:
    """The trials of one side of a comparison, by variant key."""

    label: str
    groups: dict[str, list[TrialRecord]]


def _planned(run: RunData) -> list[str]:
    """The run's variant ids in the scenario's order (``run.json``'s plan)."""
    return run.variant_order


def _in_order(trials: Sequence[TrialRecord], order: Sequence[str]) -> list[TrialRecord]:
    """Trials sorted by their variant's place in ``order`` (unknown variants last)."""
    rank = {v: i for i, v in enumerate(order)}
    return sorted(trials, key=lambda t: rank.get(t.variant, len(rank)))


def same_run(a: RunData, b: RunData) -> bool:
    """Both sides are one run (the same directory, or copies of it: the same run id and
    the same trials)."""
    if a.run_dir.resolve() == b.run_dir.resolve():
        return True
    same_id = a.metadata.run_id == b.metadata.run_id
    return same_id and [t.to_dict() for t in a.trials] == [t.to_dict() for t in b.trials]


SAME_RUN_WARNING = (
    "BASE and NEW are the same run: every comparison is of a run with itself (ratio 1, "
    "no change) and says nothing about a change"
)


def sides_from_runs(base: RunData, new: RunData) -> tuple[Side, Side]:
    """Two runs, variant by variant. Variants match on their factor levels (so runs that
    list the factors in another order still pair up) and are named and ordered as the new
    run's scenario has them."""
    order = _planned(new) + [v for v in _planned(base) if v not in _planned(new)]

    def levels(t: TrialRecord) -> tuple[tuple[str, str], ...]:
        return tuple(sorted(t.factors.items()))

    names: dict[tuple[tuple[str, str], ...], str] = {}
    for run in (base, new):  # the new run's name wins
        names.update({levels(t): t.variant for t in run.trials})

    def groups(run: RunData) -> dict[str, list[TrialRecord]]:
        out: dict[str, list[TrialRecord]] = {}
        for t in _in_order(run.trials, order):
            out.setdefault(names[levels(t)], []).append(t)
        return out

    base_groups, new_groups = groups(base), groups(new)
    rank = {v: i for i, v in enumerate(order)}
    new_groups = dict(sorted(new_groups.items(), key=lambda kv: rank.get(kv[0], len(rank))))
    return Side(str(base.run_dir), base_groups), Side(str(new.run_dir), new_groups)


def sides_from_factor(run: RunData, factor: str, baseline_level: str) -> list[tuple[Side, Side]]:
    """A/B inside one run: the baseline level against each other level of ``factor`` (in
    the scenario's order), variants matched on the other factors."""
    trials = _in_order(run.trials, _planned(run))
    if factor not in {k for t in trials for k in t.factors}:
        raise GateInputError(f"--factor {factor!r} is not a factor of this run")
    levels = list(dict.fromkeys(str(t.factors.get(factor)) for t in trials))
    if baseline_level not in levels:
        raise GateInputError(
            f"--baseline-level {baseline_level!r} is not a level of {factor!r} (levels: {levels})"
        )
    pairs = []
    for level in (lv for lv in levels if lv != baseline_level):
        base: dict[str, list[TrialRecord]] = {}
        new: dict[str, list[TrialRecord]] = {}
        for t in trials:
            rest = ",".join(f"{k}={v}" for k, v in t.factors.items() if k != factor)
            key = f"{rest or 'default'} · {factor}={level} vs {baseline_level}"
            if t.factors.get(factor) == baseline_level:
                base.setdefault(key, []).append(t)
            elif t.factors.get(factor) == level:
                new.setdefault(key, []).append(t)
        pairs.append((Side(f"{factor}={baseline_level}", base), Side(f"{factor}={level}", new)))
    return pairs


def metric_values(frame: pd.DataFrame, metric: str) -> list[float]:
    if frame.empty or metric not in frame:
        return []
    return [float(v) for v in frame[metric].dropna()]


def calibrations_for(frame: pd.DataFrame, metric: str) -> list[float] | None:
    """Each trial's calibration, beside :func:`metric_values` — its CPU time for CPU work,
    else its wall time — for a time metric; None where some trial has none."""
    known = BY_NAME.get(metric)
    if known is None or known.unit != "ms" or frame.empty or metric not in frame:
        return None
    column = "calibration_cpu_ms" if known.cpu else "calibration_ms"
    if column not in frame:
        return None
    values = frame.loc[frame[metric].notna(), column]
    if values.isna().any():
        return None
    return [float(v) for v in values]


def phases_in(matched: Sequence[tuple[str, pd.DataFrame, pd.DataFrame]]) -> list[str]:
    """The phase metrics the matched frames hold, in first-seen order."""
    seen: dict[str, None] = {}
    for _key, base, new in matched:
        for column in (*base.columns, *new.columns):
            if isinstance(column, str) and column.startswith(PHASE_PREFIX):
                seen[column] = None
    return list(seen)


def matched_frames(
    pairs: Sequence[tuple[Side, Side]],
) -> tuple[list[tuple[str, pd.DataFrame, pd.DataFrame]], list[str]]:
    """(variant key, base frame, new frame) of every variant both sides have — each side's
    measured ok trials, framed once — and the variants only one side has."""
    matched = []
    unmatched: list[str] = []
    for base, new in pairs:
        unmatched += [f"only in {base.label}: {k}" for k in base.groups if k not in new.groups]
        unmatched += [f"only in {new.label}: {k}" for k in new.groups if k not in base.groups]
        for key in (k for k in new.groups if k in base.groups):
            frames = (measured_ok(trials_with_phases(side.groups[key])) for side in (base, new))
            matched.append((key, *frames))
    return matched, unmatched
