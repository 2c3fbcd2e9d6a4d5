"""What a comparison compares: the trials of two sides (two runs, or two levels of one
factor inside a run) grouped by variant, and the variants both sides have."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from coldstart_bench.analysis.frames import measured_ok, trials_frame
from coldstart_bench.errors import GateInputError
from coldstart_bench.results.schema import TrialRecord
from coldstart_bench.results.store import RunData


@dataclass(frozen=True)
class Side:
    """The trials of one side of a comparison, by variant key."""

    label: str
    groups: dict[str, list[TrialRecord]]


def _key(factors: Mapping[str, str], drop: str | None = None) -> str:
    items = [(k, v) for k, v in factors.items() if k != drop]
    return ",".join(f"{k}={v}" for k, v in items) or "default"


def sides_from_runs(base: RunData, new: RunData) -> tuple[Side, Side]:
    def groups(run: RunData) -> dict[str, list[TrialRecord]]:
        out: dict[str, list[TrialRecord]] = {}
        for t in run.trials:
            out.setdefault(_key(dict(sorted(t.factors.items()))), []).append(t)
        return out

    return Side(str(base.run_dir), groups(base)), Side(str(new.run_dir), groups(new))


def sides_from_factor(run: RunData, factor: str, baseline_level: str) -> list[tuple[Side, Side]]:
    """A/B inside one run: the baseline level against each other level of ``factor``,
    variants matched on the other factors."""
    levels = {t.factors.get(factor) for t in run.trials}
    if factor not in {k for t in run.trials for k in t.factors}:
        raise GateInputError(f"--factor {factor!r} is not a factor of this run")
    if baseline_level not in levels:
        raise GateInputError(
            f"--baseline-level {baseline_level!r} is not a level of {factor!r} "
            f"(levels: {sorted(str(v) for v in levels)})"
        )
    pairs = []
    for level in sorted(str(v) for v in levels if v != baseline_level):
        base: dict[str, list[TrialRecord]] = {}
        new: dict[str, list[TrialRecord]] = {}
        for t in run.trials:
            key = _key(dict(sorted(t.factors.items())), drop=factor)
            key = f"{key} · {factor}={level} vs {baseline_level}"
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
            frames = (measured_ok(trials_frame(side.groups[key])) for side in (base, new))
            matched.append((key, *frames))
    return matched, unmatched
