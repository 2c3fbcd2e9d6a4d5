"""``coldstart gate`` and ``coldstart compare``: the settings of a comparison, the
comparisons of two matched sides, the machine check between two runs, and the result with
its exit code. Both commands evaluate the same :class:`GateResult`; they only word it
differently.

Exit codes of a gate: 0 pass (warnings allowed), 1 a regression or a budget exceeded,
2 bad input, 3 an output that could not be written, 4 inconclusive (the machine drifted
between the two runs, a comparison could not have found the change it is asked to find,
or too few trials).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from coldstart_bench.analysis.machine import Drift
from coldstart_bench.analysis.metrics import BY_NAME, DEFAULT_GATED, METRIC_NAMES, PHASE_PREFIX
from coldstart_bench.errors import GateInputError
from coldstart_bench.gate.failures import FailureCheck, failure_checks
from coldstart_bench.gate.machine_adjust import adjust
from coldstart_bench.gate.matching import (
    Side,
    calibrations_for,
    matched_frames,
    metric_values,
    phases_in,
)
from coldstart_bench.gate.measures import combine, deciding_words
from coldstart_bench.gate.rule import (
    DEFAULT_CONFIDENCE,
    DEFAULT_MAX_REGRESSION,
    DETECTABLE_PER_THRESHOLD,
    Comparison,
    Decision,
    compare,
    decide,
)
from coldstart_bench.results.store import RunData
from coldstart_bench.scenario.schema import GateConfig

DEFAULT_METRICS = DEFAULT_GATED

EXIT_PASS, EXIT_FAIL, EXIT_BAD_INPUT, EXIT_INCONCLUSIVE = 0, 1, 2, 4


@dataclass
class GateSettings:
    metrics: tuple[str, ...] = DEFAULT_METRICS
    max_regression: float = DEFAULT_MAX_REGRESSION
    confidence: float = DEFAULT_CONFIDENCE
    max_detectable: float | None = None  # None: DETECTABLE_PER_THRESHOLD × max_regression
    budgets: dict[str, float] = field(default_factory=dict)
    factor: str | None = None
    baseline_level: str | None = None
    allow_drift: bool = False
    require_wall: bool = False  # an undecided wall comparison stays inconclusive
    # each trial's time read at its side's typical machine speed (analysis/covariate.py)
    per_trial_machine: bool = True

    @property
    def alpha(self) -> float:
        return 1 - self.confidence

    @property
    def detectable_bound(self) -> float:
        if self.max_detectable is not None:
            return self.max_detectable
        return DETECTABLE_PER_THRESHOLD * self.max_regression


def settings_for(run: RunData, overrides: Mapping[str, Any]) -> GateSettings:
    """The scenario's ``[gate]`` table (as recorded in the run) under the command line."""
    return settings_from_table(run.gate_table, overrides)


def settings_from_table(table: Mapping[str, Any], overrides: Mapping[str, Any]) -> GateSettings:
    """A ``[gate]`` table under the command line's ``overrides`` (None: not given)."""
    cfg = GateConfig.model_validate(dict(table)) if table else GateConfig()
    settings = GateSettings(
        metrics=tuple(cfg.metrics) if cfg.metrics else DEFAULT_METRICS,
        max_regression=cfg.max_regression
        if cfg.max_regression is not None
        else DEFAULT_MAX_REGRESSION,
        confidence=cfg.confidence or DEFAULT_CONFIDENCE,
        max_detectable=cfg.max_detectable,
        budgets=dict(cfg.budgets),
        factor=cfg.factor,
        baseline_level=cfg.baseline_level,
    )
    for key, value in overrides.items():
        if value is not None and value != () and value != {}:
            setattr(settings, key, value)
    for metric in (*settings.metrics, *settings.budgets):
        if metric not in METRIC_NAMES and not metric.startswith(PHASE_PREFIX):
            raise GateInputError(
                f"unknown metric {metric!r}; choose from {', '.join(METRIC_NAMES)}, "
                f"or {PHASE_PREFIX}NAME for a start-up phase"
            )
    return settings


@dataclass
class GateResult:
    decisions: list[Decision]
    budgets: list[tuple[str, str, float, float, bool]]  # variant, metric, median, budget, ok
    unmatched: list[str]
    settings: GateSettings
    base_label: str
    new_label: str
    drift: Drift | None = None  # two runs: their machines compared
    two_runs: bool = False  # two runs (not levels of one run): their machines matter
    sequential: str | None = None  # how a sequential run's looks decided it
    failures: list[FailureCheck] = field(default_factory=list)  # how often each side failed
    unchecked: str | None = None  # two runs whose machines could not be compared: why
    cpu_drift: Drift | None = None  # the same, by the calibration's CPU time
    busy: str | None = None  # the machine was busy: what that does to each measure
    baseline_note: str | None = None  # a history's baseline, or why there was none

    @property
    def adjusted(self) -> bool:
        """Two runs whose machines were not the same: each comparison allowed for it
        (gate/machine_adjust.py)."""
        if self.settings.allow_drift or not self.two_runs or self.drift is None:
            return False
        return not self.drift.same_machine or (
            self.cpu_drift is not None and not self.cpu_drift.same_machine
        )

    @property
    def decided_by(self) -> str | None:
        """Which measure decided, where one of a wall/CPU pair could not."""
        return deciding_words(self.decisions)

    @property
    def failing(self) -> list[FailureCheck]:
        """The variants whose new side failed some trials."""
        return [f for f in self.failures if f.verdict != "pass"]

    @property
    def drifted(self) -> bool:
        """The machines of the two runs could not be compared (and that matters: no
        --allow-drift): no comparison of times is judged."""
        return self.two_runs and self.drift is None and not self.settings.allow_drift

    def shown(self, decision: Decision) -> str:
        """A comparison's verdict as shown: none of them counts when the machine drifted."""
        return "not judged" if self.drifted else decision.verdict

    @property
    def exit_code(self) -> int:
        if any(not ok for *_r, ok in self.budgets):
            return EXIT_FAIL
        # a build that fails more often is a regression whatever the machine did: its
        # failures are no timing
        if any(f.verdict == "regression" for f in self.failures):
            return EXIT_FAIL
        if self.drifted or self.failing:
            return EXIT_INCONCLUSIVE
        if any(d.verdict == "regression" for d in self.decisions):
            return EXIT_FAIL
        if any(d.verdict == "inconclusive" for d in self.decisions):
            return EXIT_INCONCLUSIVE
        return EXIT_PASS

    @property
    def verdict(self) -> str:
        return {EXIT_PASS: "pass", EXIT_FAIL: "fail"}.get(self.exit_code, "inconclusive")

    @property
    def level(self) -> float:
        """The two-sided level of every interval shown: 1 − 2α/m (Bonferroni, m
        comparisons), so that an interval above 1× is a significant slowdown."""
        m = max(len(self.decisions), 1)
        return 1 - 2 * self.settings.alpha / m

    def trial_machine_line(self) -> str | None:
        """One line on the per-trial adjustment for the machine's speed, where it applied."""
        applied = [d.comparison.machine for d in self.decisions if d.comparison.machine]
        if not applied:
            return None
        before = float(np.median([a.noise_before for a in applied]))
        after = float(np.median([a.noise_after for a in applied]))
        return (
            f"per-trial machine speed: {len(applied)} of {len(self.decisions)} comparison(s) "
            "read each trial at the machine's typical speed, by the calibration before it; "
            f"trial-to-trial noise {before:.1%} → {after:.1%} (median; --no-per-trial-machine: "
            "as measured)"
        )

    def drift_line(self) -> str | None:
        """One line on the machine, for two runs."""
        if self.drift is None:
            if not self.two_runs:
                return None
            why = self.unchecked or "a run without calibrations"
            if self.settings.allow_drift:
                return (
                    f"machine: not compared ({why}; --allow-drift: compared anyway, a drift of "
                    "the machine between the runs would go unseen)"
                )
            return (
                f"inconclusive: the machines of the two runs could not be compared ({why}), so "
                "a change of the machine cannot be told from a change of the build; measure "
                "both builds in one run (A/B, coldstart run --sequential), or pass --allow-drift"
            )
        tolerance = f"{self.settings.max_regression:.0%}"
        cpu = f"; by its CPU time, {self.cpu_drift.speed.ratio:.3f}×" if self.cpu_drift else ""
        if not self.adjusted and self.drift.same_machine:
            return f"machine: {self.drift.sentence()}{cpu}: the same within {tolerance}"
        if self.settings.allow_drift:
            return f"machine: {self.drift.sentence()}{cpu} (--allow-drift: compared anyway)"
        return (
            f"machine: {self.drift.sentence()}{cpu}, not the same within {tolerance}: each "
            "comparison allows for it, from none to all of the calibration's change (wall "
            "times by its wall time, CPU work by its CPU time); where that leaves the "
            "answer open it is inconclusive"
        )


def evaluate(
    pairs: Sequence[tuple[Side, Side]],
    settings: GateSettings,
    drift: Drift | None = None,
    two_runs: bool = False,
    unchecked: str | None = None,
    cpu_drift: Drift | None = None,
) -> GateResult:
    """Every gated comparison of the matched sides, decided together, and the budgets."""
    matched, unmatched = matched_frames(pairs)
    phases = phases_in(matched)
    missing = [m for m in settings.metrics if m.startswith(PHASE_PREFIX) and m not in phases]
    if missing and matched:
        names = ", ".join(p.removeprefix(PHASE_PREFIX) for p in phases) or "none"
        asked = ", ".join(m.removeprefix(PHASE_PREFIX) for m in missing)
        raise GateInputError(f"no phase {asked} in these trials; their phases: {names}")
    wanted = [
        (key, metric, base, new)
        for key, base, new in matched
        for metric in settings.metrics
        if metric_values(base, metric) and metric_values(new, metric)
    ]
    alpha_each = settings.alpha / max(len(wanted), 1)
    drifts = (drift, cpu_drift) if two_runs else None
    comparisons: list[Comparison] = []
    for key, metric, base, new in wanted:
        centre = _per_trial(settings, metric, drifts)
        comparisons.append(
            compare(
                key,
                metric,
                metric_values(base, metric),
                metric_values(new, metric),
                alpha_each,
                None if centre is None else _calibrations(base, new, metric),
                centre == "common",
            )
        )
    budgets = budgets_of([(key, new) for key, _base, new in matched], settings.budgets)
    failures = failure_checks(
        [
            (key, base.groups[key], new.groups[key])
            for base, new in pairs
            for key in new.groups
            if key in base.groups
        ],
        settings.alpha,
    )
    if not comparisons and not budgets and not any(f.new_failed for f in failures):
        raise GateInputError(
            "no variant with ok measured trials on both sides; nothing to gate"
            + (f" ({'; '.join(unmatched[:5])})" if unmatched else "")
        )
    decided = decide(
        comparisons, settings.alpha, settings.max_regression, settings.detectable_bound
    )
    if two_runs and drift is not None and not settings.allow_drift:
        decided = [_for_the_machine(d, drift, cpu_drift, settings) for d in decided]
    decisions = combine(decided, settings.require_wall)
    labels = pairs[0] if pairs else (Side("", {}), Side("", {}))
    return GateResult(
        decisions,
        budgets,
        unmatched,
        settings,
        labels[0].label,
        labels[1].label,
        drift,
        two_runs,
        failures=failures,
        unchecked=unchecked,
        cpu_drift=cpu_drift,
    )


def _per_trial(
    settings: GateSettings, metric: str, drifts: tuple[Drift | None, Drift | None] | None
) -> str | None:
    """How a comparison reads its trials at their typical machine speed
    (analysis/covariate.py): about a centre common to both sides in one run and between two
    runs on the same machine; about each run's own where their machines differed (the
    difference is machine_adjust's, with its bounds); not at all where the machines were
    not compared or --allow-drift compares them anyway (None)."""
    if not settings.per_trial_machine:
        return None
    if drifts is None:
        return "common"
    wall, cpu = drifts
    known = BY_NAME.get(metric)
    machine = cpu if known is not None and known.cpu and cpu is not None else wall
    if machine is None:
        return None
    if machine.same_machine:
        return "common"
    return None if settings.allow_drift else "own"


def _calibrations(
    base: pd.DataFrame, new: pd.DataFrame, metric: str
) -> tuple[list[float], list[float]] | None:
    sides = calibrations_for(base, metric), calibrations_for(new, metric)
    return None if sides[0] is None or sides[1] is None else (sides[0], sides[1])


def _for_the_machine(
    decision: Decision, wall: Drift, cpu: Drift | None, settings: GateSettings
) -> Decision:
    """A comparison of two runs judged with its machine's change allowed for, where the
    machine was not the same: by the calibration's CPU time for CPU work, else its wall
    time."""
    known = BY_NAME.get(decision.comparison.metric)
    machine = cpu if known is not None and known.cpu and cpu is not None else wall
    if machine.same_machine:
        return decision
    return adjust(decision, machine, settings.max_regression, settings.detectable_bound)


def budgets_of(
    frames: Sequence[tuple[str, pd.DataFrame]], limits: Mapping[str, float]
) -> list[tuple[str, str, float, float, bool]]:
    """(variant, metric, median, limit, within it) of each budget on each variant's new
    trials."""
    found = []
    for key, new in frames:
        for metric, limit in limits.items():
            values = metric_values(new, metric)
            if values:
                median = float(np.median(values))
                found.append((key, metric, median, limit, median <= limit))
    return found
