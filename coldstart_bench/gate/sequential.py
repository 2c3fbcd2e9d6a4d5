"""A/B inside one run, decided as it goes (``coldstart run --sequential``): after every
round — each variant once, the levels interleaved — every gated comparison is looked at
with the group-sequential test of :mod:`coldstart_bench.analysis.sequential`, and the run
stops once the verdict is decided. ``coldstart gate`` on such a run replays the same looks
over the recorded rounds, so it reaches the same verdict at the same round; a fixed-sample
test on a sample that stopped early would not keep its error rates.

The verdict is decided at a round where some comparison is a regression (the gate fails
whatever the others say), or where every comparison has passed; after the last round, a
comparison still undecided is inconclusive.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from coldstart_bench.analysis.digest import digest
from coldstart_bench.analysis.rank_test import smallest_p
from coldstart_bench.analysis.sequential import MIN_ROUNDS, look
from coldstart_bench.errors import GateInputError
from coldstart_bench.gate.evaluate import GateResult, GateSettings, evaluate
from coldstart_bench.gate.matching import sides_from_factor
from coldstart_bench.gate.measures import combine
from coldstart_bench.gate.rule import Decision
from coldstart_bench.results.run_file import EMPTY
from coldstart_bench.results.schema import TrialRecord
from coldstart_bench.results.store import RunData


@dataclass(frozen=True)
class SequentialDesign:
    """What a sequential run was stopped by; recorded in its run.json."""

    factor: str
    baseline_level: str
    last_round: int  # the scenario's repetitions: the most rounds the run may take
    min_rounds: int = MIN_ROUNDS
    # each trial read at its level's typical machine speed (runs before 0.x: as measured)
    per_trial_machine: bool = False

    def as_json(self) -> dict[str, object]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Outcome:
    result: GateResult
    round: int  # the round the verdict was reached at (or the last one run)
    decided: bool  # stopped by the test, not by running out of rounds

    def reason(self) -> str:
        return self.result.sequential or ""


def judge(
    run: RunData, design: SequentialDesign, settings: GateSettings, up_to: int | None = None
) -> Outcome:
    """Replay the looks over the run's rounds (up to ``up_to``), stopping where the
    verdict is decided."""
    measured = _measured(run.trials)
    complete = _complete_rounds(measured)
    if up_to is not None:
        complete = min(complete, up_to)
    for rounds in range(design.min_rounds, complete + 1):
        outcome = _at_round(run, measured, design, settings, rounds)
        if outcome.decided:
            return outcome
    return _at_round(run, measured, design, settings, max(complete, 1))


def judge_round(
    run: RunData, design: SequentialDesign, settings: GateSettings, rounds: int
) -> Outcome:
    """The look after ``rounds`` rounds alone (the run's stop rule makes each look once)."""
    measured = _measured(run.trials)
    return _at_round(run, measured, design, settings, rounds)


SEQUENTIAL = "sequential-ab"


class SequentialStop:
    """The stop rule of ``coldstart run --sequential``: after each round completes, the
    look :func:`judge` would make there; stop once decided."""

    def __init__(self, design: SequentialDesign, settings: GateSettings, gate_table: dict) -> None:
        self.design = design
        self.settings = settings
        self.gate_table = gate_table
        self.looked = design.min_rounds - 1

    def describe(self) -> dict[str, object]:
        return {"kind": SEQUENTIAL, **self.design.as_json(), "gate": self.gate_table}

    def __call__(self, records: Sequence[TrialRecord]) -> str | None:
        measured = _measured(records)
        complete = _complete_rounds(measured)
        run = RunData(Path("."), EMPTY, list(records))
        while self.looked < complete:
            self.looked += 1
            outcome = _at_round(run, measured, self.design, self.settings, self.looked)
            if outcome.decided:
                return outcome.reason()
        return None


def design_of(run: RunData) -> SequentialDesign | None:
    """The sequential design a run was stopped by, from its run.json (None: not one)."""
    rule = run.metadata.stop_rule or {}
    if rule.get("kind") != SEQUENTIAL:
        return None
    fields = {f.name: f.type for f in dataclasses.fields(SequentialDesign)}
    values = {k: v for k, v in rule.items() if k in fields}
    optional = {"min_rounds", "per_trial_machine"}
    for name, kind in fields.items():
        value = values.get(name)
        wanted = {"int": int, "bool": bool}.get(str(getattr(kind, "__name__", kind)), str)
        if name not in values and name not in optional:
            raise GateInputError(f"{run.run_dir}: run.json stop_rule has no {name!r}")
        if name in values and (type(value) is not wanted or (wanted is int and value < 1)):
            what = {int: "a whole number ≥ 1", bool: "true or false"}.get(wanted, "a string")
            raise GateInputError(
                f"{run.run_dir}: run.json stop_rule.{name} is {value!r}, not {what}"
            )
    return SequentialDesign(**values)


def _measured(trials: Sequence[TrialRecord]) -> list[TrialRecord]:
    """The trials a look reads: measured ones that ran (ok or failed: the timings read the
    ok ones, the failure rates all of them)."""
    return [t for t in trials if not t.warmup and t.status != "skipped"]


def _complete_rounds(trials: Sequence[TrialRecord]) -> int:
    """Rounds every variant has finished, ok or failed (the others' later rounds count up
    to the shortest)."""
    per_variant: dict[str, set[int]] = {}
    for t in trials:
        per_variant.setdefault(t.variant, set()).add(t.repetition)
    if not per_variant:
        return 0
    return min(len(reps) for reps in per_variant.values())


def _at_round(
    run: RunData,
    measured: Sequence[TrialRecord],
    design: SequentialDesign,
    settings: GateSettings,
    rounds: int,
) -> Outcome:
    # the statistic the run's own looks used, whatever today's default
    settings = dataclasses.replace(settings, per_trial_machine=design.per_trial_machine)
    kept = [t for t in measured if t.repetition < rounds]
    pairs = sides_from_factor(
        digest(dataclasses.replace(run, trials=kept)), design.factor, design.baseline_level
    )
    try:
        fixed = evaluate(pairs, settings)
    except GateInputError as exc:  # no ok trial on one side yet: nothing to look at
        empty = GateResult([], [], [], settings, design.baseline_level, design.factor)
        text = f"sequential A/B: not decided at round {rounds} of at most {design.last_round}"
        return Outcome(dataclasses.replace(empty, sequential=f"{text} ({exc})"), rounds, False)
    m = max(len(fixed.decisions), 1)
    decisions, verdicts = [], []
    for d in fixed.decisions:
        seen = look(
            rounds=rounds,
            last_round=design.last_round,
            p_slower=d.comparison.shift.p_slower,
            smallest_p=smallest_p(d.comparison.n_new, d.comparison.n_base),
            log_ratio=math.log(d.comparison.ratio),
            se_log=d.comparison.shift.se_log,
            alpha=settings.alpha / m,
            threshold=settings.max_regression,
            bound=settings.detectable_bound,
            min_rounds=design.min_rounds,
        )
        verdict, reason = _verdict(seen.decision, rounds, design.last_round, d)
        verdicts.append(seen.decision)
        # a pass of the sequential test has its design's power: 80 % at the bound
        detectable = d.detectable
        if seen.decision == "pass":
            detectable = min(detectable, settings.detectable_bound)
        decisions.append(
            dataclasses.replace(d, verdict=verdict, reason=reason, detectable=detectable)
        )
    if rounds >= design.last_round:  # the last look: what one measure could not, the other may
        decisions = combine(decisions, settings.require_wall)
    # A failure rate is looked at after every round too: a look may stop the run only where
    # it would hold at α over all the looks the run can make (Bonferroni).
    looks = max(design.last_round - design.min_rounds + 1, 1)
    failures = [
        dataclasses.replace(f, significant_level=settings.alpha / looks) for f in fixed.failures
    ]
    failing = any(f.verdict == "regression" for f in failures)
    decided = (
        failing
        or "regression" in verdicts
        or (bool(verdicts) and all(v == "pass" for v in verdicts) and not fixed.failing)
    )
    result = dataclasses.replace(fixed, decisions=decisions, failures=failures)
    how = f"{result.verdict}, decided" if decided else "not decided"
    text = f"sequential A/B: {how} at round {rounds} of at most {design.last_round}"
    result = dataclasses.replace(result, sequential=text)
    return Outcome(result, rounds, decided)


def _verdict(decision: str, rounds: int, last: int, fixed: Decision) -> tuple[str, str]:
    """A comparison's verdict at this look, and why, in the gate's words."""
    where = f"at round {rounds} of {last}"
    change = f"{fixed.comparison.change_pct:+.1f} %"
    if decision == "regression":
        return "regression", f"{change}: the sequential test found a regression {where}"
    if decision == "pass":
        return "pass", f"{change}: the sequential test ruled out a regression {where}"
    if rounds < last:
        return "inconclusive", f"{change}: not decided yet {where}"
    if decision == "warning":
        return "warning", f"{change}: significantly slower but within the threshold {where}"
    return "inconclusive", f"{change}: the sequential test did not decide within {last} rounds"
