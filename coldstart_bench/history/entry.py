"""What a run adds to the history: who it is (a key that is the same however often it is
added), its scenario, commit and branch, and one row per measured ok trial and figure —
every per-trial metric and every start-up phase — with that trial's calibration."""

from __future__ import annotations

import hashlib
import json
import math
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coldstart_bench.analysis.frames import measured_ok
from coldstart_bench.analysis.metrics import METRIC_NAMES, PHASE_PREFIX
from coldstart_bench.analysis.phase_effects import trials_with_phases
from coldstart_bench.results.run_file import parse_run_file
from coldstart_bench.results.schema import TrialRecord
from coldstart_bench.results.store import RunData


@dataclass(frozen=True)
class RunEntry:
    """One run of the history."""

    run_key: str  # the run's identity: its id, scenario and start, hashed
    run_id: str
    scenario: str
    commit: str | None
    branch: str | None
    started_at: str
    status: str
    trials: int  # measured ok trials
    verdict: str | None = None  # the gate's, where a gate added it (pass, fail, inconclusive)


@dataclass(frozen=True)
class TrialValue:
    """One figure of one measured ok trial."""

    variant: str
    trial: int
    metric: str  # a metric's name, or phase:NAME
    value: float
    calibration_ms: float | None


def run_key(run_id: str, scenario: str, started_at: str) -> str:
    return hashlib.sha256(f"{run_id}\0{scenario}\0{started_at}".encode()).hexdigest()[:32]


def entry_of(
    run: RunData, commit: str | None, branch: str | None
) -> tuple[RunEntry, list[TrialValue]]:
    """The run's entry and its trials' figures."""
    meta = run.metadata
    started = meta.started_at or ""
    frame = measured_ok(trials_with_phases(run.trials))
    metrics = [
        c
        for c in frame.columns
        if isinstance(c, str) and (c in METRIC_NAMES or c.startswith(PHASE_PREFIX))
    ]
    values: list[TrialValue] = []
    for row in frame.to_dict("records"):
        calibration = _number(row.get("calibration_ms"))
        for metric in metrics:
            value = _number(row.get(metric))
            if value is not None:
                values.append(
                    TrialValue(str(row["variant"]), int(row["trial"]), metric, value, calibration)
                )
    entry = RunEntry(
        run_key=run_key(meta.run_id, run.name, started),
        run_id=meta.run_id,
        scenario=run.name,
        commit=commit,
        branch=branch,
        started_at=started,
        status=run.status,
        trials=len(frame),
    )
    return entry, values


def packed_run(run: RunData) -> bytes:
    """The run's own ``run.json`` and trials as the store keeps them (compressed JSON), so
    that a gate can read the run back as it was (:func:`unpacked_run`)."""
    data = {"run": run.metadata.to_dict(), "trials": [t.to_dict() for t in run.trials]}
    return zlib.compress(json.dumps(data, separators=(",", ":")).encode("utf-8"), 6)


def unpacked_run(data: dict[str, Any], label: str) -> RunData:
    """A stored run read back (``label`` stands for its directory, which the history does
    not keep)."""
    metadata = parse_run_file(data.get("run"), label)
    trials = [TrialRecord.from_dict(t) for t in data.get("trials") or [] if isinstance(t, dict)]
    return RunData(run_dir=Path(label), metadata=metadata, trials=trials)


def _number(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
