"""What a run says about its machine: how fast it was (the calibration recorded before
each trial), how busy, and — between two runs — whether it was the same machine as far as a
comparison of them is concerned.

Two runs measured on a machine whose speed changed between them cannot be compared: the
change of the machine is read as a change of the build. :func:`drift` compares their
calibrations with the same rank statistic the gate uses (:mod:`.rank_test`); the gate calls
the comparison inconclusive unless the calibration's interval shows the machine the same
within the change the gate is asked to detect.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from coldstart_bench.analysis.rank_test import Shift, shift
from coldstart_bench.results.schema import BUSY_OTHERS_SHARE, TrialRecord

DRIFT_CONFIDENCE = 0.95
# Fewer calibrations than this a side, and two runs' machines are not compared.
MIN_CALIBRATIONS = 3
# The machine counts as busy when its load average (runnable tasks) exceeds its CPUs by
# this factor, or the hypervisor steals this share of its time: then times are inflated.
BUSY_LOAD_PER_CPU = 1.0
BUSY_STEAL = 0.05
# ... or when other work kept BUSY_OTHERS_SHARE of the CPUs busy between trials: a load
# average lags a minute behind, too long for a run of a few minutes.


MACHINE_COLUMNS = (
    "trial", "variant", "warmup_trial", "calibration_ms", "calibration_cpu_ms", "load_1m",
    "busy_share", "steal_share", "others_busy_share", "cpus", "cpu_quota",
)  # fmt: skip


def machine_frame(trials: Iterable[TrialRecord]) -> pd.DataFrame:
    """One row per trial that recorded its machine (warm-up ones too: they ran on the same
    machine): what every figure of this module is computed from, so that a run of a
    million trials is summarised without holding their records."""
    rows = [
        (
            t.trial,
            t.variant,
            t.warmup,
            m.calibration_ms,
            m.calibration_cpu_ms,
            m.load_1m,
            m.busy_share,
            m.steal_share,
            m.others_busy_share,
            m.cpus,
            m.cpu_quota,
        )
        for t in trials
        if (m := t.machine) is not None
    ]
    return pd.DataFrame(rows, columns=list(MACHINE_COLUMNS))


def calibrations(machine: pd.DataFrame, cpu: bool = False) -> np.ndarray:
    """The calibration of every trial of a :func:`machine_frame`: its wall time, or with
    ``cpu`` its CPU time."""
    column = machine["calibration_cpu_ms" if cpu else "calibration_ms"]
    return column.dropna().to_numpy(dtype=float)


def _median(column: pd.Series) -> float | None:
    values = column.dropna()
    return float(np.median(values.to_numpy(dtype=float))) if len(values) else None


@dataclass(frozen=True)
class MachineSummary:
    """The machine over one run."""

    trials: int  # with a calibration
    calibration_ms: float | None  # median
    calibration_spread: float | None  # (p90 − p10) / median: how much its speed moved
    load_1m: float | None  # median over trials
    cpus: int | None
    steal_share: float | None  # median
    others_busy_share: float | None  # median, between trials
    busy: bool  # load, steal or other work beyond what the machine can give

    def text(self) -> str | None:
        """One line on the machine's speed and load over the run (None: no calibration)."""
        if self.calibration_ms is None:
            return None
        parts = [f"calibration {self.calibration_ms:,.1f} ms median over {self.trials:,} trials"]
        if self.calibration_spread is not None:
            parts.append(f"10th–90th percentiles {self.calibration_spread:.0%} of it")
        if self.load_1m is not None:
            parts.append(f"load average {self.load_1m:.1f} on {self.cpus or '?'} CPU(s)")
        if self.steal_share:
            parts.append(f"{self.steal_share:.1%} stolen")
        if self.others_busy_share is not None:
            parts.append(f"other work {self.others_busy_share:.0%} of the CPUs between trials")
        return "; ".join(parts)

    def busy_line(self) -> str | None:
        """One line for the start of a report, when the machine was busy."""
        if not self.busy:
            return None
        what = []
        if self.load_1m is not None and self.cpus:
            what.append(f"load average {self.load_1m:.1f} on {self.cpus} CPU(s)")
        if self.steal_share is not None and self.steal_share >= BUSY_STEAL:
            what.append(f"{self.steal_share:.0%} of CPU time stolen")
        if self.others_busy_share is not None and self.others_busy_share >= BUSY_OTHERS_SHARE:
            what.append(f"other work kept {self.others_busy_share:.0%} of the CPUs busy")
        return (
            f"The machine was busy ({', '.join(what)}): times are inflated, and comparisons "
            "with runs on a quieter machine are unreliable."
        )


def summarise_machine(machine: pd.DataFrame) -> MachineSummary:
    """The machine over a run, from its :func:`machine_frame`."""
    calib = calibrations(machine)
    load = _median(machine["load_1m"])
    steal = _median(machine["steal_share"])
    other = _median(machine["others_busy_share"])
    cpus_seen = machine["cpus"].dropna()
    cpus = int(cpus_seen[cpus_seen > 0].max()) if (cpus_seen > 0).any() else None
    quotas = machine["cpu_quota"].dropna()
    quota = float(quotas[quotas > 0].min()) if (quotas > 0).any() else None
    capacity = min(cpus, quota) if cpus and quota else (quota or cpus)
    busy = bool(
        (load is not None and capacity and load > BUSY_LOAD_PER_CPU * capacity)
        or (steal is not None and steal >= BUSY_STEAL)
        or (other is not None and other >= BUSY_OTHERS_SHARE)
    )
    middle = float(np.median(calib)) if len(calib) else None
    spread = None
    if middle and len(calib) >= 5:
        low, high = np.percentile(calib, [10, 90])
        spread = float((high - low) / middle)
    return MachineSummary(len(calib), middle, spread, load, cpus, steal, other, busy)


@dataclass(frozen=True)
class Drift:
    """The new run's machine against the base run's, by their calibrations."""

    speed: Shift  # new / base calibration time: 1.2 = the new run's machine 20 % slower
    tolerance: float  # the change the comparison is asked to detect (max regression)

    @property
    def same_machine(self) -> bool:
        """The interval of the calibration ratio lies within ±tolerance."""
        return self.speed.low >= 1 / (1 + self.tolerance) and self.speed.high <= 1 + self.tolerance

    def sentence(self) -> str:
        s = self.speed
        interval = f"calibration ratio {s.ratio:.3f} [{s.low:.3f}, {s.high:.3f}]"
        if abs(s.change_pct) < 0.5:
            return f"the new run's machine was as fast as the baseline's ({interval})"
        how = f"{abs(s.change_pct):.0f} % {'slower' if s.ratio > 1 else 'faster'}"
        return f"the new run's machine was {how} than the baseline's ({interval})"


def drift(
    base: pd.DataFrame, new: pd.DataFrame, tolerance: float, cpu: bool = False
) -> Drift | None:
    """The calibrations of two runs' :func:`machine_frame` compared (their wall times, or
    with ``cpu`` their CPU times); None where either has fewer than
    :data:`MIN_CALIBRATIONS`."""
    before, after = calibrations(base, cpu), calibrations(new, cpu)
    if min(len(before), len(after)) < MIN_CALIBRATIONS:
        return None
    alpha = (1 - DRIFT_CONFIDENCE) / 2
    return Drift(shift(after, before, alpha), tolerance)


def machine_trace(machine: pd.DataFrame) -> pd.DataFrame:
    """One row per trial with a calibration, in run order: the trial's position, its
    variant, the calibration, the load average and the busy share of the CPUs."""
    columns = [
        "trial",
        "variant",
        "warmup_trial",
        "calibration_ms",
        "load_1m",
        "busy_share",
        "cpus",
    ]
    kept = machine.loc[machine["calibration_ms"].notna(), columns]
    return kept.sort_values("trial", kind="stable").reset_index(drop=True)
