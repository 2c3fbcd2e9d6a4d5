"""An executor that starts no process: each trial's record is made up from functions of the
trial. It lets tests of what the session does — order, interleaving, shards, skipped
variants, interrupts, incremental writing — run in milliseconds."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from coldstart_bench.plan.order import TrialSpec
from coldstart_bench.proc.signals import Interrupted
from coldstart_bench.results.schema import TrialRecord
from coldstart_bench.results.store import utc_now
from coldstart_bench.run.executors import TrialStarted
from coldstart_bench.run.trial import RunContext, failed_trial, trial_identity


def _constant_ttft(_trial: TrialSpec) -> float:
    return 100.0


def _never_fails(_trial: TrialSpec) -> str | None:
    return None


@dataclass
class FakeExecutor:
    """``cold_ttft_ms(trial)`` gives each trial's cold TTFT (ready is 90 % of it),
    ``failure(trial)`` a reason for the trials that fail; ``interrupt_after`` delivers a
    SIGINT (as :class:`Interrupted`) once that many trials are done. ``ran`` lists the
    trials in the order they ran."""

    cold_ttft_ms: Callable[[TrialSpec], float] = _constant_ttft
    failure: Callable[[TrialSpec], str | None] = _never_fails
    interrupt_after: int | None = None
    ran: list[TrialSpec] = field(default_factory=list)
    name: str = "fake"

    def execute(
        self, context: RunContext, trials: Sequence[TrialSpec], started: TrialStarted
    ) -> Iterator[TrialRecord]:
        for done, trial in enumerate(trials):
            if self.interrupt_after is not None and done == self.interrupt_after:
                raise Interrupted(signal.SIGINT)
            started(trial)
            self.ran.append(trial)
            reason = self.failure(trial)
            if reason is not None:
                yield failed_trial(trial, context.run_id, reason)
                continue
            ttft = self.cold_ttft_ms(trial)
            yield TrialRecord(
                **trial_identity(trial, context.run_id),
                status="ok",
                started_at=utc_now(),
                t0_ns=time.perf_counter_ns(),
                spawn_ms=0.5,
                ready_ms=round(ttft * 0.9, 4),
                cold_ttft_ms=ttft,
                wall_ms=ttft,
            )
