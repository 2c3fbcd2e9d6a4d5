"""Figures from the phases targets report: the median timeline per variant, each service's
ready time in a chain, and model-load throughput."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import pandas as pd

from coldstart_bench.analysis.frames import measured_ok
from coldstart_bench.results.schema import TrialRecord, instance_name

LOAD_PHASES: tuple[str, ...] = ("model_read", "deserialize", "to_device")


def load_throughput(phases: pd.DataFrame) -> pd.DataFrame:
    """Per trial with load phases that report their bytes: bytes / (model_read +
    deserialize + to_device), in MB/s (10^6 bytes)."""
    if phases.empty or "bytes" not in phases:
        return pd.DataFrame(columns=["trial", "variant", "load_ms", "mb", "mb_per_s"])
    ok = measured_ok(phases)
    load = ok[ok["phase"].isin(LOAD_PHASES)]
    rows = []
    for (trial, variant), part in load.groupby(["trial", "variant"], sort=False):
        nbytes = part["bytes"].dropna()
        if nbytes.empty:
            continue
        load_ms = float(part["duration_ms"].sum())
        mb = float(nbytes.max()) / 1e6
        rows.append(
            {
                "trial": trial,
                "variant": variant,
                "load_ms": load_ms,
                "mb": mb,
                "mb_per_s": mb / (load_ms / 1000.0) if load_ms > 0 else None,
            }
        )
    return pd.DataFrame(rows, columns=["trial", "variant", "load_ms", "mb", "mb_per_s"])


def phase_medians(phases: pd.DataFrame) -> pd.DataFrame:
    """Median start and duration of each (service, phase) per variant, in the order the
    phases happened (by median start)."""
    if phases.empty:
        return pd.DataFrame(columns=["variant", "service", "phase", "start_ms", "duration_ms"])
    ok = measured_ok(phases)
    per_trial = ok.groupby(["variant", "trial", "service", "phase"], sort=False).agg(
        start_ms=("start_ms", "min"), duration_ms=("duration_ms", "sum")
    )
    out = per_trial.groupby(["variant", "service", "phase"], sort=False).median().reset_index()
    return out.sort_values(["variant", "start_ms"], kind="stable").reset_index(drop=True)


def service_ready(trials: Iterable[TrialRecord]) -> pd.DataFrame:
    """Median ready time (from t0) of each service per variant, over measured ok trials.
    A chaos restart adds another instance of a service: it is "NAME (restart K)", as its
    phases are."""
    rows = []
    for t in trials:
        if t.warmup or t.status != "ok":
            continue
        seen: Counter[str] = Counter()
        for s in t.services:
            restarts = seen[s.name]
            seen[s.name] += 1
            if s.ready_ms is not None:
                name = instance_name(s.name, restarts)
                rows.append({"variant": t.variant, "service": name, "ready_ms": s.ready_ms})
    frame = pd.DataFrame(rows, columns=["variant", "service", "ready_ms"])
    if frame.empty:
        return frame
    return frame.groupby(["variant", "service"], sort=False)["ready_ms"].median().reset_index()
