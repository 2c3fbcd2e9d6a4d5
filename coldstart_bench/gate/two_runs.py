"""Two runs judged against each other, variant by variant, with their machines compared
first (``coldstart gate --baseline``, ``--history``, ``coldstart compare``)."""

from __future__ import annotations

from coldstart_bench.analysis.machine import MIN_CALIBRATIONS, calibrations, drift
from coldstart_bench.errors import GateInputError
from coldstart_bench.gate.evaluate import GateResult, GateSettings, evaluate
from coldstart_bench.gate.matching import sides_from_runs
from coldstart_bench.results.store import RunData


def two_runs(base_run: RunData, new_run: RunData, settings: GateSettings) -> GateResult:
    moved = drift(base_run.trials, new_run.trials, settings.max_regression)
    moved_cpu = drift(base_run.trials, new_run.trials, settings.max_regression, cpu=True)
    unchecked = None
    if moved is None:
        counts = [len(calibrations(r.trials)) for r in (base_run, new_run)]
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
        names = (base_run.name, new_run.name)
        if names[0] != names[1]:
            raise GateInputError(
                f"the two runs are of different scenarios ({names[0]!r} and {names[1]!r}): "
                "no variant of one is a variant of the other, so there is nothing to compare"
            ) from None
        raise
