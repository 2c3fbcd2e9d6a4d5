"""A trial's requests, one after another, after its services are ready."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

from coldstart_bench.plan.specs import RequestSpec, TrialSetup
from coldstart_bench.probe.client import Probe
from coldstart_bench.probe.load import Router
from coldstart_bench.proc.group import TrialProcesses
from coldstart_bench.run.chaos import restart_and_recover
from coldstart_bench.run.state import Deadline, TrialState


def send_requests(
    probe: Probe,
    setup: TrialSetup,
    requests: Sequence[RequestSpec],
    t0: int,
    state: TrialState,
    processes: TrialProcesses,
    deadline: Deadline,
    router: Router | None = None,
) -> None:
    """The trial's requests one after another, each bounded by what is left of the trial;
    the first that fails ends them. ``router``: a fleet's client-side policy, which sends
    each request to a replica (and names it)."""
    pause_s = setup.probe.pause_ms / 1000.0
    for i, planned in enumerate(requests):
        if i and pause_s:
            time.sleep(pause_s)
        left_s = deadline.left_s()
        if left_s == 0:
            state.fail(
                "timeout",
                f"the trial ran past trial_timeout_s = {setup.timeout_s:g} s before request {i}",
            )
            return
        request, replica = router.pick(planned) if router is not None else (planned, None)
        if setup.chaos is not None and i == setup.chaos.at_request:
            record, state.chaos = restart_and_recover(setup.chaos, probe, request, t0, processes)
        else:
            first = processes.first_token if i == 0 else None  # the services' CPU time then
            record = probe.send(request, t0, left_s, on_first_token=first)
        if router is not None and replica is not None:
            router.release(replica)
            record = dataclasses.replace(record, replica=replica)
        state.requests.append(record)
        if record.status != "ok":
            by = f" (replica {record.replica})" if record.replica else ""
            state.fail(record.status, f"request {record.index + 1}{by}: {record.error}")
            return
