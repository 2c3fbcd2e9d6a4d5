"""A history as CSV in the layout Apache Otava (formerly Hunter) reads: one file per
scenario and variant, a row per run (its start as ``time``, its commit, branch and run id
as attributes) and a column per metric — the run's median of its trials, as measured. And
the ``otava.yaml`` that names them, so ``otava analyze`` runs on the same series."""

from __future__ import annotations

import csv
import io
import statistics

from coldstart_bench.history.series import series_of
from coldstart_bench.history.store import HistoryStore

ATTRIBUTES = ("commit", "branch", "run_id")


def variant_csv(
    store: HistoryStore, scenario: str, variant: str, branch: str | None = None
) -> tuple[str, list[str]]:
    """The CSV text of one scenario's variant, and the metric columns every row has (Otava
    reads no empty cell: a phase that only some runs had stays in the CSV, out of the
    config)."""
    metrics = sorted(m for v, m in store.metrics(scenario) if v == variant)
    runs = store.runs(scenario, branch)
    by_key = {s.entry.run_key: s.entry for s in runs}
    medians: dict[str, dict[str, float]] = {m: {} for m in metrics}
    for metric in metrics:
        for series in series_of(store, scenario, variant, metric, branch, by_key):
            medians[metric][series.run_key] = statistics.median(series.values)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["time", *ATTRIBUTES, *metrics])
    exported = [s.entry for s in runs if any(s.entry.run_key in medians[m] for m in metrics)]
    for e in exported:
        row = [e.started_at, e.commit or "", e.branch or "", e.run_id]
        row += [f"{medians[m][e.run_key]:.4f}" if e.run_key in medians[m] else "" for m in metrics]
        writer.writerow(row)
    dense = [m for m in metrics if all(e.run_key in medians[m] for e in exported)]
    return out.getvalue(), dense


def otava_config(tests: list[tuple[str, str, list[str]]]) -> str:
    """``otava.yaml`` for the exported files: (test name, file, metrics) each."""
    lines = ["tests:"]
    for name, path, metrics in tests:
        lines += [
            f"  {name}:",
            "    type: csv",
            f"    file: {path}",
            "    time_column: time",
            f"    attributes: [{', '.join(ATTRIBUTES)}]",
            "    metrics:",
            *(f"      {m.replace(':', '_')}:\n        column: {m}" for m in metrics),
        ]
    return "\n".join(lines) + "\n"
