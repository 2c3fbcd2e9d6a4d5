"""``coldstart gate --history``: a run judged against the runs before it in the history —
with the same statistics and exit codes as against one run directory — and, where the
history has none, a pass that says so (the first run of a CI recipe seeds the history
instead of failing for want of a baseline)."""

from __future__ import annotations

import dataclasses

from coldstart_bench.analysis.digest import RunDigest, digest
from coldstart_bench.analysis.frames import measured_ok
from coldstart_bench.gate.evaluate import GateResult, GateSettings, budgets_of
from coldstart_bench.gate.two_runs import two_runs
from coldstart_bench.history import DEFAULT_WINDOW
from coldstart_bench.history.baseline import history_baseline
from coldstart_bench.history.store import HistoryStore
from coldstart_bench.results.store import RunData


def judge_against_history(
    store: HistoryStore,
    new_run: RunData,
    settings: GateSettings,
    branch: str | None = None,
    window: int = DEFAULT_WINDOW,
) -> GateResult:
    baseline = history_baseline(store, new_run, branch, window)
    if baseline.run is None:
        return first_run(digest(new_run), settings, baseline.note)
    return dataclasses.replace(
        two_runs(digest(baseline.run), digest(new_run), settings), baseline_note=baseline.note
    )


def first_run(
    new_run: RunDigest, settings: GateSettings, note: str, base_label: str = "history"
) -> GateResult:
    """Nothing to compare with (an empty history, a baseline not saved yet): no
    comparison, but the budgets still hold."""
    ok = measured_ok(new_run.frame)
    frames = [(str(key), part) for key, part in ok.groupby("variant", sort=False)]
    return GateResult(
        decisions=[],
        budgets=budgets_of(frames, settings.budgets),
        unmatched=[],
        settings=settings,
        base_label=base_label,
        new_label=str(new_run.run.run_dir),
        two_runs=False,
        baseline_note=note,
    )
