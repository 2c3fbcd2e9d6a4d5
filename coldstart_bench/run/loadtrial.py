"""A load trial's cold start: the traffic starts at t0 (or at ready) on the load runner's
thread while the services start here; the warm phase follows; chaos, if any, strikes
while the traffic goes on."""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass

from coldstart_bench.plan.specs import LoadSpec, TrialSetup
from coldstart_bench.probe.load import LoadRunner, is_cut
from coldstart_bench.probe.timeline import HARNESS_OUT_OF_FILES
from coldstart_bench.proc.group import TrialProcesses
from coldstart_bench.proc.service import LaunchError
from coldstart_bench.results.schema import ChaosOutcome, LoadRecord, ns_to_ms
from coldstart_bench.run.state import Deadline, TrialState


def measure_load(
    setup: TrialSetup, load: LoadSpec, state: TrialState, processes: TrialProcesses
) -> None:
    """A load trial: the traffic starts at t0 (or at ready) on its own thread while the
    services start here; then the warm phase; then the teardown, whatever happened."""
    state.load_settings = load.settings
    runner = LoadRunner(load, setup.probe)
    runner.prepare()  # thread, loop and client before t0
    try:
        TrialProcesses.check_ports(setup.services)
        t0 = processes.begin()
        deadline = Deadline.after(t0, setup.timeout_s)
        runner.begin(t0)
        for service in setup.services:
            processes.start(service, deadline.at_ns)
        runner.ready(processes.services[-1].ready_ns or time.perf_counter_ns())
        chaos = _chaos_under_load(setup, runner, processes) if setup.chaos else None
        state.load = runner.finish(deadline.left_s())
        if chaos is not None:
            state.chaos = _recovery(setup, chaos, state.load, t0)
        judge_load(setup, runner, state)
    except LaunchError as exc:
        runner.abort(str(exc))
        state.load = runner.finish(30.0)
        state.fail(exc.status, str(exc))
    finally:
        runner.close()
        teardown_began = time.perf_counter_ns()
        processes.stop_all()
        state.teardown_ms = ns_to_ms(time.perf_counter_ns() - teardown_began)


def judge_load(setup: TrialSetup, runner: LoadRunner, state: TrialState) -> None:
    """The trial fails where its time ran out with requests held or in flight, the harness
    ran out of file descriptors, or no request was answered."""
    if runner.cut:
        cut = sum(map(is_cut, state.load))
        limit = f" (trial_timeout_s = {setup.timeout_s:g} s)" if setup.timeout_s else ""
        state.fail(
            "timeout",
            f"the trial's time ran out{limit} before the load was done: {cut} request(s) "
            "cut while held or in flight",
        )
    elif starved := sum(r.request.error == HARNESS_OUT_OF_FILES for r in state.load):
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        state.fail(
            "failed",
            f"{starved} request(s) of the load were never sent: the harness ran out of file "
            f"descriptors (ulimit -n is {soft}); raise it or send fewer at once",
        )
    elif not any(r.request.status == "ok" for r in state.load):
        state.fail("failed", "no request of the load was answered")


@dataclass(frozen=True)
class _Restart:
    """A chaos action under load, on the harness's clock."""

    began_ns: int
    gone_ns: int  # the old instance is gone (the new one spawned, or the kill returned)
    restart_ms: float | None


def _chaos_under_load(setup: TrialSetup, runner: LoadRunner, processes: TrialProcesses) -> _Restart:
    """Once the load has sent request ``at_request``, restart (or kill) the service while
    the traffic goes on."""
    chaos = setup.chaos
    assert chaos is not None
    runner.when_dispatched(chaos.at_request + 1).wait(chaos.recovery_timeout_s)
    began = time.perf_counter_ns()
    new = processes.restart(chaos.service, kill=chaos.action == "kill")
    restarted = time.perf_counter_ns()
    # Until the old instance is gone it may still answer (draining), which is not a recovery.
    gone = new.spawn_ns if new is not None and new.spawn_ns is not None else restarted
    restart_ms = ns_to_ms(restarted - began) if chaos.action == "restart" else None
    return _Restart(began, gone, restart_ms)


def _recovery(
    setup: TrialSetup, restart: _Restart, load: list[LoadRecord], t0: int
) -> ChaosOutcome:
    """From the restart to the end of the first answer of a request sent after the old
    instance was gone; the requests sent since the restart that failed in between."""
    chaos = setup.chaos
    assert chaos is not None
    began_ms = ns_to_ms(restart.began_ns - t0)
    gone_ms = ns_to_ms(restart.gone_ns - t0)
    after = [r for r in load if r.phase == "cold" and r.request.start_ms >= began_ms]
    answered = [
        r.request.start_ms + (r.request.total_ms or 0.0)
        for r in after
        if r.request.status == "ok" and r.request.start_ms >= gone_ms
    ]
    first = min(answered) if answered else None
    failed = [
        r
        for r in after
        if r.request.status != "ok" and (first is None or r.request.start_ms < first)
    ]
    return ChaosOutcome(
        service=chaos.service,
        action=chaos.action,
        at_request=chaos.at_request,
        recovered=first is not None,
        restart_ms=restart.restart_ms,
        recovery_ms=round(first - began_ms, 4) if first is not None else None,
        failed_requests=len(failed),
        first_errors=tuple(r.request.error or r.request.status for r in failed[:3]),
        at_ms=began_ms,
        old_gone_ms=gone_ms,
    )
