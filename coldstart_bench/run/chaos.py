"""Chaos inside a trial: restart or kill a service before one of the requests, then retry
that request until the service answers again, timing the recovery."""

from __future__ import annotations

import time

from coldstart_bench.plan.specs import ChaosSpec, RequestSpec
from coldstart_bench.probe.client import Probe
from coldstart_bench.proc.group import TrialProcesses
from coldstart_bench.results.schema import ChaosOutcome, RequestRecord, ns_to_ms


def restart_and_recover(
    chaos: ChaosSpec,
    probe: Probe,
    request: RequestSpec,
    t0: int,
    processes: TrialProcesses,
) -> tuple[RequestRecord, ChaosOutcome]:
    """Restart (or kill) a service, then retry ``request`` until it succeeds; the recovery
    time runs from the action to the end of the first successful response. Returns the
    last attempt's record and what happened, for the trial's record."""
    began = time.perf_counter_ns()
    processes.restart(chaos.service, kill=chaos.action == "kill")
    restarted = time.perf_counter_ns()
    deadline = began + int(chaos.recovery_timeout_s * 1e9)
    failures: list[str] = []
    while True:
        record = probe.send(request, t0)
        if record.status == "ok" or time.perf_counter_ns() >= deadline:
            break
        failures.append(record.error or record.status)
        time.sleep(chaos.retry_interval_ms / 1000.0)
    done = time.perf_counter_ns()
    return record, ChaosOutcome(
        service=chaos.service,
        action=chaos.action,
        at_request=chaos.at_request,
        recovered=record.status == "ok",
        restart_ms=ns_to_ms(restarted - began) if chaos.action == "restart" else None,
        recovery_ms=ns_to_ms(done - began) if record.status == "ok" else None,
        failed_requests=len(failures),
        first_errors=tuple(failures[:3]),
    )
