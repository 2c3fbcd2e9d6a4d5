"""Two runs judged against each other, variant by variant, with their machines compared
first (``coldstart gate --baseline``, ``--history``, ``coldstart compare``)."""

from __future__ import annotations

from coldstart_bench.analysis.digest import RunDigest
from coldstart_bench.analysis.machine import MIN_CALIBRATIONS, calibrations, drift
from coldstart_bench.errors import GateInputError
from coldstart_bench.gate.evaluate import GateResult, GateSettings, evaluate
from coldstart_bench.gate.matching import sides_from_runs


def two_runs(base_run: RunDigest, new_run: RunDigest, settings: GateSettings) -> GateResult:
    moved = drift(base_run.machine, new_run.machine, settings.max_regression)
    moved_cpu = drift(base_run.machine, new_run.machine, settings.max_regression, cpu=True)
    unchecked = None
    if moved is None:
        counts = [len(calibrations(r.machine)) for r in (base_run, new_run)]
        unchecked = (
            f"the baseline has {counts[0]} calibration(s), the new run {counts[1]}; at least "
            f"{MIN_CALIBRATIONS} a side are needed, and a run made with --no-calibration has none"
        )
    pairs = [sides_from_runs(base_run, new_run)]
    try:
        return evaluate(
            pairs, settings, moved, two_runs=True, unchecked=unchecked, cpu_drift=moved_cpu
        )
    except GateInputError:
        names = (base_run.run.name, new_run.run.name)
        if names[0] != names[1]:
            raise GateInputError(
                f"the two runs are of different scenarios ({names[0]!r} and {names[1]!r}): "
                "no variant of one is a variant of the other, so there is nothing to compare"
            ) from None
        raise
