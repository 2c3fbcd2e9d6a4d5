"""Where trials run. The session decides *which* trials run and in what order, and records
each result; an executor only runs them, like hyperfine's ``Executor``: one small protocol,
with a local implementation, one on a Ray cluster (:mod:`coldstart_bench.run.ray`) and an
in-memory fake for tests (:mod:`coldstart_bench.run.fake`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from coldstart_bench.plan.order import TrialSpec
from coldstart_bench.results.schema import TrialRecord
from coldstart_bench.run.trial import RunContext, run_trial

TrialStarted = Callable[[TrialSpec], None]


class Executor(Protocol):
    """Runs trials and yields each one's record as soon as it is finished (in the order
    they finish). It calls ``started`` when it knows that a trial starts; one that cannot
    know (a remote cluster) does not call it. A Ctrl-C (``KeyboardInterrupt``) or the
    generator being closed must stop every trial still running before it returns."""

    name: str

    def execute(
        self, context: RunContext, trials: Sequence[TrialSpec], started: TrialStarted
    ) -> Iterator[TrialRecord]: ...


class LocalExecutor:
    """On this machine, one trial at a time, in the plan's order."""

    name = "local"

    def execute(
        self, context: RunContext, trials: Sequence[TrialSpec], started: TrialStarted
    ) -> Iterator[TrialRecord]:
        if context.guardian is not None and trials:
            context.guardian.ensure_started()
        for trial in trials:
            started(trial)
            yield run_trial(context, trial)
