"""A history's series: one scenario, variant and metric over its runs, trial by trial —
and the change points of every series of a scenario."""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from dataclasses import dataclass

from coldstart_bench.history.changes import ALPHA, ChangePoint, RunSeries, find_changes
from coldstart_bench.history.entry import RunEntry
from coldstart_bench.history.store import HistoryStore


def series_of(
    store: HistoryStore,
    scenario: str,
    variant: str,
    metric: str,
    branch: str | None = None,
    runs: dict[str, RunEntry] | None = None,
) -> list[RunSeries]:
    """The runs of the scenario (on ``branch``) that measured this variant and metric,
    oldest first, each with its trials' values and calibrations. ``runs``: the scenario's
    runs by key, where the caller has read them already (:func:`runs_by_key`)."""
    if runs is None:
        runs = runs_by_key(store, scenario, branch)
    by_run: dict[str, tuple[list[float], list[float | None]]] = {}
    for run_key, _variant, _metric, value, calibration in store.values(
        scenario, metric, variant, branch
    ):
        values, calibrations = by_run.setdefault(run_key, ([], []))
        values.append(value)
        calibrations.append(calibration)
    return [
        RunSeries(key, runs[key].run_id, runs[key].commit, tuple(v), tuple(c))
        for key, (v, c) in by_run.items()
        if key in runs
    ]


def runs_by_key(store: HistoryStore, scenario: str, branch: str | None) -> dict[str, RunEntry]:
    return {r.entry.run_key: r.entry for r in store.runs(scenario, branch)}


def scenario_changes(
    store: HistoryStore,
    scenario: str,
    metrics: list[str] | None = None,
    branch: str | None = None,
    alpha: float = ALPHA,
) -> Iterator[ChangePoint]:
    """The change points of every series of the scenario (or of ``metrics`` only). A
    history holds dozens of series (every metric and phase of every variant), so each is
    tested at ``alpha`` / their number (Bonferroni): ``alpha`` is the chance of a false
    change point anywhere in the scenario, not in each series."""
    series = [(v, m) for v, m in store.metrics(scenario) if not metrics or m in metrics]
    each = alpha / max(len(series), 1)
    runs = runs_by_key(store, scenario, branch)
    for variant, metric in series:
        found = series_of(store, scenario, variant, metric, branch, runs)
        yield from find_changes(variant, metric, found, alpha=each)


def run_medians(runs: list[RunSeries]) -> list[float]:
    """Each run's median over its trials."""
    return [statistics.median(r.values) for r in runs]


DEFAULT_PLOTTED = ("cold_ttft_ms", "ready_ms")
MAX_PANELS = 8


@dataclass(frozen=True)
class SeriesView:
    """What a history plot shows of one series: each run's label (its commit, else its
    id), median and trials, the calibration's median per run, and the change points."""

    variant: str
    metric: str
    labels: list[str]
    medians: list[float]
    trials: list[tuple[float, ...]]
    calibrations: list[float | None]
    changes: list[ChangePoint]


def scenario_view(
    store: HistoryStore,
    scenario: str,
    metrics: list[str] | None = None,
    branch: str | None = None,
) -> tuple[list[SeriesView], list[ChangePoint]]:
    """The series to plot: ``metrics``, else cold TTFT, time to ready and every series
    with a change point (at most :data:`MAX_PANELS`) — and every change point of the
    scenario's series, drawn or not."""
    changes = list(scenario_changes(store, scenario, metrics, branch))
    stepped = {(c.variant, c.metric) for c in changes}
    chosen = [
        (v, m)
        for v, m in store.metrics(scenario)
        if (m in metrics if metrics else (m in DEFAULT_PLOTTED or (v, m) in stepped))
    ][:MAX_PANELS]
    views = []
    by_key = runs_by_key(store, scenario, branch)
    for variant, metric in chosen:
        runs = series_of(store, scenario, variant, metric, branch, by_key)
        views.append(
            SeriesView(
                variant=variant,
                metric=metric,
                labels=[(r.commit or r.run_id)[:10] for r in runs],
                medians=run_medians(runs),
                trials=[r.values for r in runs],
                calibrations=[
                    statistics.median(c for c in r.calibrations if c is not None)
                    if any(c is not None for c in r.calibrations)
                    else None
                    for r in runs
                ],
                changes=[c for c in changes if (c.variant, c.metric) == (variant, metric)],
            )
        )
    return views, changes
