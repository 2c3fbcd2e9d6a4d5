"""What a comparison compares: the trials of two sides (two runs, or two levels of one
factor inside a run) grouped by variant, and the variants both sides have."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from coldstart_bench.analysis.digest import RunDigest
from coldstart_bench.analysis.frames import FACTOR_PREFIX, factor_columns, measured_ok
from coldstart_bench.analysis.metrics import BY_NAME, PHASE_PREFIX
from coldstart_bench.errors import GateInputError


@dataclass(frozen=True)
class Side:
    """The trials of one side of a comparison, by variant key: each a slice of the run's
    trials frame (:mod:`~coldstart_bench.analysis.digest`), warm-up and failed trials
    included (the failure check counts them)."""

    label: str
    groups: dict[str, pd.DataFrame]


def _in_order(frame: pd.DataFrame, order: Sequence[str]) -> pd.DataFrame:
    """The frame's rows sorted by their variant's place in ``order`` (unknown variants last;
    the run's order within a variant)."""
    rank = {v: i for i, v in enumerate(order)}
    if frame.empty:
        return frame
    key = frame["variant"].map(lambda v: rank.get(v, len(rank)))
    return frame.iloc[key.to_numpy().argsort(kind="stable")]


def _levels(frame: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """Each trial's (factor, level) pairs of these factor columns, in their order, as one
    hashable key; a factor a trial does not have is left out."""
    names = [c.removeprefix(FACTOR_PREFIX) for c in columns]
    rows = frame[list(columns)].to_numpy(dtype=object) if columns else [()] * len(frame)
    keys = [
        tuple((n, v) for n, v in zip(names, row, strict=True) if isinstance(v, str)) for row in rows
    ]
    return pd.Series(keys, index=frame.index, dtype=object)


def same_run(a: RunDigest, b: RunDigest) -> bool:
    """Both sides are one run (the same directory, or copies of it: the same run id and
    the same trials)."""
    if a.run.run_dir.resolve() == b.run.run_dir.resolve():
        return True
    same_id = a.run.metadata.run_id == b.run.metadata.run_id
    return same_id and a.frame.equals(b.frame)


SAME_RUN_WARNING = (
    "BASE and NEW are the same run: every comparison is of a run with itself (ratio 1, "
    "no change) and says nothing about a change"
)


def sides_from_runs(base: RunDigest, new: RunDigest) -> tuple[Side, Side]:
    """Two runs, variant by variant. Variants match on their factor levels (so runs that
    list the factors in another order still pair up) and are named and ordered as the new
    run's scenario has them."""
    order = new.run.variant_order + [
        v for v in base.run.variant_order if v not in new.run.variant_order
    ]
    # sorted: the variant's identity whatever the order its scenario lists the factors in
    keyed = [(d, _levels(d.frame, sorted(factor_columns(d.frame)))) for d in (base, new)]
    names: dict[tuple[tuple[str, str], ...], str] = {}
    for d, levels in keyed:  # the new run's name wins
        names.update(zip(levels, d.frame["variant"].astype(str), strict=True))

    def groups(frame: pd.DataFrame, levels: pd.Series) -> dict[str, pd.DataFrame]:
        named = levels.map(names)
        out: dict[str, pd.DataFrame] = {}
        for variant in dict.fromkeys(_in_order(frame.assign(variant=named), order)["variant"]):
            out[variant] = frame[named == variant]
        return out

    base_groups, new_groups = (groups(d.frame, levels) for d, levels in keyed)
    rank = {v: i for i, v in enumerate(order)}
    new_groups = dict(sorted(new_groups.items(), key=lambda kv: rank.get(kv[0], len(rank))))
    return Side(str(base.run.run_dir), base_groups), Side(str(new.run.run_dir), new_groups)


def sides_from_factor(run: RunDigest, factor: str, baseline_level: str) -> list[tuple[Side, Side]]:
    """A/B inside one run: the baseline level against each other level of ``factor`` (in
    the scenario's order), variants matched on the other factors."""
    frame = _in_order(run.frame, run.run.variant_order)
    column = FACTOR_PREFIX + factor
    if column not in frame or frame[column].isna().all():
        raise GateInputError(f"--factor {factor!r} is not a factor of this run")
    levels = [str(v) for v in dict.fromkeys(frame[column].dropna())]
    if baseline_level not in levels:
        raise GateInputError(
            f"--baseline-level {baseline_level!r} is not a level of {factor!r} (levels: {levels})"
        )
    others = [c for c in factor_columns(frame) if c != column]
    # the other factors as the variant key's text, k=v,... in the order the run lists them
    rest = _levels(frame, others).map(lambda key: ",".join(f"{n}={v}" for n, v in key))
    pairs = []
    for level in (lv for lv in levels if lv != baseline_level):
        base: dict[str, pd.DataFrame] = {}
        new: dict[str, pd.DataFrame] = {}
        for text in dict.fromkeys(rest):
            key = f"{text or 'default'} · {factor}={level} vs {baseline_level}"
            here = rest == text
            base[key] = frame[here & (frame[column] == baseline_level)]
            new[key] = frame[here & (frame[column] == level)]
        base = {k: v for k, v in base.items() if not v.empty}
        new = {k: v for k, v in new.items() if not v.empty}
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
            matched.append((key, measured_ok(base.groups[key]), measured_ok(new.groups[key])))
    return matched, unmatched
