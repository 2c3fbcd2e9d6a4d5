"""After a trial's teardown: what it gathers from its services — their records, the
phases they reported (file, log, OpenTelemetry spans), and notes on what outlived them."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from coldstart_bench.plan.specs import OtlpTarget, TrialSetup
from coldstart_bench.probe.otlp import OtlpReceiver
from coldstart_bench.proc.group import TrialProcesses
from coldstart_bench.results.logs import cap_log
from coldstart_bench.results.schema import (
    EscapedProcess,
    PhaseRecord,
    ServiceRecord,
    instance_name,
)
from coldstart_bench.run.phases import read_log_phases, read_phases
from coldstart_bench.run.spans import span_phases
from coldstart_bench.run.state import TrialState


def collect(
    processes: TrialProcesses, run_dir: Path, t0: int, state: TrialState
) -> tuple[tuple[ServiceRecord, ...], list[PhaseRecord]]:
    """After teardown: cap the logs, read every instance's phases, note survivors."""
    for service in processes.services:
        dropped = cap_log(service.spec.log_path)
        if dropped:
            state.notes.append(
                f"service {service.spec.name!r}: output log capped, {dropped:,} bytes dropped "
                "from its middle"
            )
    services = tuple(p.record(run_dir) for p in processes.services)
    instances: Counter[str] = Counter()
    phases: list[PhaseRecord] = []
    for process in processes.services:  # a chaos restart adds a second instance
        name = instance_name(process.spec.name, instances[process.spec.name])
        instances[process.spec.name] += 1
        phases += read_phases(process.spec, t0, state.notes, name)
        phases += read_log_phases(
            process.spec,
            process.spawn_ns,
            process.log_marks_ns,
            t0,
            state.notes,
            name,
            process.log_reported_ms,
            process.log_timed_out,
        )
    for svc in services:
        if svc.survivors:
            state.notes.append(
                f"service {svc.name!r}: processes {list(svc.survivors)} survived teardown"
            )
    for process in processes.services:
        state.notes.extend(process.account.notes)
    if processes.escaped:
        state.escaped = tuple(EscapedProcess(p.pid, p.comm) for p in processes.escaped)
        state.notes.append(
            f"{len(processes.escaped)} process(es) outlived their service's teardown and were "
            f"killed before the trial ended: "
            + ", ".join(f"{p.comm} ({p.pid})" for p in processes.escaped[:10])
        )
    return services, phases


def span_phases_of(
    receiver: OtlpReceiver, otlp: OtlpTarget, t0: int, setup: TrialSetup, state: TrialState
) -> list[PhaseRecord]:
    """The spans the services exported, as phases; what the receiver refused, as notes.
    The services are stopped by now, and an SDK exports what it holds as it exits."""
    receiver.close()
    state.notes.extend(receiver.notes())
    names = [s.name for s in setup.services if s.spans] or [s.name for s in setup.services]
    return span_phases(
        receiver.received(), otlp.trace_id, receiver.offset_ns, t0, names, state.notes
    )
