"""Factor effects on the start-up phases: which phase a toggle moves, with the same
stratified bootstrap as the trial-level effects. A small phase (model load, ~100 ms) can
move clearly while the whole cold start (~1 s, its import time noisy) does not."""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence

import pandas as pd

from coldstart_bench.analysis.effects import Effect, factor_contrasts, factor_effects
from coldstart_bench.analysis.frames import FACTOR_PREFIX, measured_ok, trials_frame
from coldstart_bench.analysis.metrics import PHASE_PREFIX
from coldstart_bench.analysis.stats import BOOTSTRAP_RESAMPLES, CONFIDENCE
from coldstart_bench.results.schema import TrialRecord, instance_name

REPORTED_PREFIX = "reported:"
# Resamples expected in the interval's tails together: enough for a stable quantile.
TAIL_RESAMPLES = 40


def phase_metric(phase: str) -> str:
    """The metric name of a phase's duration, e.g. ``phase:model_load``."""
    return PHASE_PREFIX + phase


def phase_durations(trials: Iterable[TrialRecord]) -> pd.DataFrame:
    """One row per trial that reported phases: identity, factors, and each phase's
    duration (ms) as a ``phase:<name>`` column (and where the server printed its own figure
    for a phase read from its log, that as ``reported:<name>``). A phase reported by more
    than one service is named ``<service>/<phase>``; a restarted instance's phases (chaos)
    are not the cold start's and are left out."""
    trials = list(trials)
    owners: dict[str, set[str]] = {}
    for t in trials:
        for p in t.phases:
            owners.setdefault(p.phase, set()).add(p.service)
    rows = []
    for t in trials:
        firsts = {instance_name(s.name, 0) for s in t.services}
        phases = [p for p in t.phases if p.service in firsts or not t.services]
        if not phases:
            continue
        row: dict[str, object] = {
            "trial": t.trial,
            "variant": t.variant,
            **{FACTOR_PREFIX + k: v for k, v in t.factors.items()},
            "warmup_trial": t.warmup,
            "status": t.status,
        }
        for p in phases:
            name = p.phase if len(owners[p.phase]) == 1 else f"{p.service}/{p.phase}"
            row.setdefault(phase_metric(name), p.duration_ms)
            if p.reported_ms is not None:
                row.setdefault(REPORTED_PREFIX + name, p.reported_ms)
        rows.append(row)
    return pd.DataFrame(rows)


def trials_with_phases(trials: Sequence[TrialRecord]) -> pd.DataFrame:
    """:func:`~.frames.trials_frame` with each phase's duration beside the metrics
    (``phase:NAME``, from the phases file, the log or the service's spans), so a phase is
    compared, gated and kept in a history like a metric."""
    frame = trials_frame(trials)
    phases = phase_durations(trials)
    columns = [c for c in phases.columns if isinstance(c, str) and c.startswith(PHASE_PREFIX)]
    if frame.empty or not columns:
        return frame
    return frame.merge(phases[["trial", *columns]], on="trial", how="left")


def phase_effects(
    frame: pd.DataFrame,
    declared: Mapping[str, Sequence[str]] | None = None,
    skip: Collection[str] = (),
) -> list[Effect]:
    """Each factor's effect on each phase's duration — the ``phase:NAME`` columns of a
    :func:`trials_with_phases` frame — (see
    :func:`~coldstart_bench.analysis.effects.factor_effects`), phases in the order they
    first appear. A run has many phases × levels, and at 95 % each, one in twenty
    comparisons of phases no factor touches would look "clear" (the reference server's
    0.1 ms listen phase "13 % slower with pooling on" did). So each interval is widened
    to 1 − 0.05/m for the m comparisons (Bonferroni): all of them hold together with
    95 % confidence, with enough resamples for tails that far out. Factors in ``skip``
    (ones that act on the client alone, such as pooling) are not compared: a server's
    start-up cannot see them, and a "finding" there could only be noise."""
    metrics = [c for c in frame.columns if isinstance(c, str) and c.startswith(PHASE_PREFIX)]
    if not metrics:
        return []
    contrasts = {
        f: c for f, c in factor_contrasts(measured_ok(frame), declared).items() if f not in skip
    }
    comparisons = len(metrics) * sum(len(levels) for _base, levels in contrasts.values())
    if not comparisons:
        return []
    alpha = (1 - CONFIDENCE) / comparisons
    resamples = max(BOOTSTRAP_RESAMPLES, math.ceil(TAIL_RESAMPLES / alpha))
    return factor_effects(
        frame,
        metrics=metrics,
        declared=declared,
        confidence=1 - alpha,
        resamples=resamples,
        skip=skip,
    )
