"""A baseline made of the history: the trials of the most recent comparable runs before a
new run, pooled into one run, so that ``coldstart gate --history`` judges the new run with
the same statistics, machine check and exit codes as against a run directory.

Comparable: the same scenario (on ``branch`` where given), a run that ended with measured
trials, and not the new run itself (``coldstart run --history`` adds it before the gate
reads the history). Pooling several runs makes the baseline a sample of the history's
machines as well as its builds; each trial keeps its calibration, so the gate still reads
every trial at its machine's speed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from coldstart_bench.history import DEFAULT_WINDOW
from coldstart_bench.history.entry import RunEntry, run_key, unpacked_run
from coldstart_bench.history.store import HistoryStore
from coldstart_bench.results.store import RunData

_USABLE = ("complete", "partial", "interrupted")


@dataclass(frozen=True)
class HistoryBaseline:
    run: RunData | None  # the pooled runs; None where the history has none to compare with
    entries: list[RunEntry]  # the runs pooled, oldest first
    note: str  # one line on what the baseline is, for the gate's notes


def own_key(run: RunData) -> str:
    return run_key(run.metadata.run_id, run.name, run.metadata.started_at or "")


def history_baseline(
    store: HistoryStore, new: RunData, branch: str | None, window: int = DEFAULT_WINDOW
) -> HistoryBaseline:
    """The new run's baseline: up to ``window`` runs before it, pooled."""
    key, started = own_key(new), new.metadata.started_at or ""
    stored = [s.entry for s in store.runs(new.name, branch)]
    keys = [e.run_key for e in stored]
    earlier = stored[: keys.index(key)] if key in keys else [
        e for e in stored if e.started_at <= started
    ]  # fmt: skip
    usable = [e for e in earlier if e.status in _USABLE and e.trials > 0]
    where = f"{new.name}" + (f" on {branch}" if branch else "")
    chosen: list[tuple[RunEntry, RunData]] = []
    unreadable = 0
    for entry in reversed(usable):
        if len(chosen) == window:
            break
        data = store.run_file(entry.run_key)
        if data is None:
            unreadable += 1
            continue
        chosen.append((entry, unpacked_run(data, f"history:{entry.run_id}")))
    chosen.reverse()
    without = (
        f"; {unreadable} earlier run(s) were added without their trials (history schema 1) "
        "and cannot be compared with"
        if unreadable
        else ""
    )
    if not chosen:
        return HistoryBaseline(
            None,
            [],
            f"history: no earlier run of {where} in {store.shown} to compare with{without}: "
            "nothing to judge, so the gate passes (with --add this run starts the history)",
        )
    entries = [e for e, _run in chosen]
    runs = [r for _e, r in chosen]
    labels = [(e.commit or e.run_id)[:10] for e in entries]
    span = labels[0] if len(labels) == 1 else f"{labels[0]} … {labels[-1]}"
    label = f"history ({len(entries)} run(s) of {where}: {span})"
    pooled = RunData(
        run_dir=Path(label),
        metadata=runs[-1].metadata,
        # numbered afresh: a trial's number is its identity in a run (phases join on it)
        trials=[replace(t, trial=i) for i, t in enumerate(t for r in runs for t in r.trials)],
    )
    note = (
        f"history: the baseline is the last {len(entries)} run(s) of {where} before this one "
        f"({span}), {sum(e.trials for e in entries)} measured trials pooled{without}"
    )
    return HistoryBaseline(pooled, entries, note)
