"""One trial, cold: prepare hooks → page-cache state → build the HTTP client → t0 → spawn
each service and wait for it to be ready → send the requests → tear everything down →
read the phases the services reported. Only the part from t0 to the last response is the
measured cold start; everything around it is recorded as the harness's own time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coldstart_bench.errors import ColdstartError
from coldstart_bench.plan.fleet import fleet_ports
from coldstart_bench.plan.order import TrialSpec
from coldstart_bench.plan.render import RenderContext, render_trial, wants_spans
from coldstart_bench.plan.specs import OtlpTarget, TlsFiles, TrialSetup
from coldstart_bench.probe.client import Probe
from coldstart_bench.probe.otlp import OtlpReceiver, realtime_offset_ns
from coldstart_bench.proc.commands import CommandFailed, run_logged
from coldstart_bench.proc.group import TrialProcesses
from coldstart_bench.proc.guardian import Guardian
from coldstart_bench.proc.ports import free_port
from coldstart_bench.proc.service import LaunchError
from coldstart_bench.results.environment import node_identity
from coldstart_bench.results.redact import redact_record, secret_values
from coldstart_bench.results.schema import (
    SCHEMA_VERSION,
    PageCacheState,
    ServiceRecord,
    TrialRecord,
    ns_to_ms,
)
from coldstart_bench.results.store import utc_now
from coldstart_bench.run import compile_cache, page_cache, trial_tmp
from coldstart_bench.run.collect import collect, span_phases_of
from coldstart_bench.run.fleet import measure_fleet
from coldstart_bench.run.loadtrial import measure_load
from coldstart_bench.run.machine import MachineWatch
from coldstart_bench.run.ray_fleet import RayReplicas
from coldstart_bench.run.requests import send_requests
from coldstart_bench.run.state import Deadline, TrialState
from coldstart_bench.scenario.reader import LoadedScenario


@dataclass(frozen=True)
class RunContext:
    """What every trial of a run shares."""

    loaded: LoadedScenario
    run_dir: Path
    run_id: str
    tls: TlsFiles | None = None
    guardian: Guardian | None = None  # told of every process a trial starts
    calibrate: bool = True  # measure the machine around each trial (run/machine.py)
    cpus: tuple[int, int] | None = None  # (usable, free) as the run started, if measured
    accounting: str = "auto"  # the services' CPU work: auto (cgroup, else /proc), proc, off


def trial_identity(trial: TrialSpec, run_id: str) -> dict[str, Any]:
    """The fields that say which trial a record is."""
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "trial": trial.index,
        "variant": trial.variant.id,
        "factors": dict(trial.variant.factors),
        "repetition": trial.repetition,
        "warmup": trial.warmup,
    }


def skipped_trial(trial: TrialSpec, run_id: str, reason: str) -> TrialRecord:
    """The record of a trial that was not run because its variant cannot run here."""
    return TrialRecord(
        **trial_identity(trial, run_id),
        status="skipped",
        started_at=utc_now(),
        t0_ns=time.perf_counter_ns(),
        error=reason,
    )


def failed_trial(trial: TrialSpec, run_id: str, reason: str) -> TrialRecord:
    """The record of a trial that could not be run at all (e.g. its executor's task died)."""
    return dataclasses.replace(skipped_trial(trial, run_id, reason), status="failed")


class _SetupFailed(Exception):
    pass


def run_trial(context: RunContext, trial: TrialSpec) -> TrialRecord:
    """Run one trial and return its record. Never raises for a failing target; raises only
    :class:`KeyboardInterrupt` (after tearing everything down)."""
    tmp = (
        trial_tmp.make(trial.index, context.guardian) if trial_tmp.wanted(context.loaded) else None
    )
    try:
        return _run_trial(context, trial, tmp)
    finally:
        if tmp is not None:  # interrupted: removed here instead
            trial_tmp.remove(tmp)


def _run_trial(context: RunContext, trial: TrialSpec, tmp: Path | None) -> TrialRecord:
    watch = MachineWatch() if context.calibrate else None
    if watch is not None:
        watch.before()
    began = time.perf_counter_ns()
    loaded, run_dir = context.loaded, context.run_dir
    trial_dir = run_dir / "logs" / f"trial-{trial.index:04d}"
    trial_dir.mkdir(parents=True, exist_ok=True)
    ports = {s.name: s.port or free_port() for s in loaded.scenario.services}
    ports = fleet_ports(loaded.scenario, trial.variant, ports, free_port)
    with contextlib.ExitStack() as stack:
        receiver = stack.enter_context(OtlpReceiver()) if wants_spans(loaded) else None
        return _run_rendered(context, trial, tmp, trial_dir, ports, receiver, watch, began)


def _run_rendered(
    context: RunContext,
    trial: TrialSpec,
    tmp: Path | None,
    trial_dir: Path,
    ports: dict[str, int],
    receiver: OtlpReceiver | None,
    watch: MachineWatch | None,
    began: int,
) -> TrialRecord:
    started_at = utc_now()
    loaded, run_dir = context.loaded, context.run_dir
    otlp = (
        OtlpTarget(receiver.endpoint, secrets.token_hex(16), secrets.token_hex(8))
        if receiver is not None
        else None
    )
    render_context = RenderContext(
        run_dir,
        trial_dir,
        loaded.path.parent.resolve(),
        sys.executable,
        ports,
        context.tls,
        trial_tmp=tmp,
        otlp=otlp,
    )
    if context.cpus is not None:
        usable, free = context.cpus
        render_context = dataclasses.replace(render_context, cpus=usable, free_cpus=free)
    setup = render_trial(loaded, trial, render_context)
    state = TrialState()
    try:
        state.prepare_ms = _run_prepare(setup, trial_dir, context.guardian)
        state.page_cache_ms, state.page_cache = _set_page_cache(setup)
        cache_at_spawn = _prepare_compile_cache(setup)
    except _SetupFailed as exc:
        state.fail("failed", str(exc))
        cache_at_spawn = None
    processes: TrialProcesses | RayReplicas = TrialProcesses(context.guardian, context.accounting)
    if state.status == "ok" and setup.fleet is not None and setup.fleet.placement == "ray":
        processes = _placed_on_ray(setup, context, state) or processes
    if state.status == "ok":
        _measure(setup, state, processes)
    if cache_at_spawn is not None:
        _record_compile_cache(setup, cache_at_spawn, state, trial.warmup)

    t0 = processes.t0_ns if processes.t0_ns is not None else time.perf_counter_ns()
    services, phases = collect(processes, run_dir, t0, state)
    if isinstance(processes, RayReplicas):  # collected on their nodes
        services += tuple(processes.records)
        phases += processes.phases
        state.notes += processes.notes
    if receiver is not None and otlp is not None:
        phases += span_phases_of(receiver, otlp, t0, setup, state)
    if tmp is not None and (note := trial_tmp.remove(tmp)):
        state.notes.append(note)
    record = TrialRecord(
        **trial_identity(trial, context.run_id),
        status=state.status,
        started_at=started_at,
        t0_ns=t0,
        error=state.error,
        spawn_ms=services[0].spawn_ms if services else None,
        ready_ms=_ready_ms(setup, services, state),
        cold_ttft_ms=_cold_ttft(state),
        prepare_ms=state.prepare_ms,
        page_cache_ms=state.page_cache_ms,
        teardown_ms=state.teardown_ms,
        wall_ms=ns_to_ms(time.perf_counter_ns() - began),
        services=services,
        requests=tuple(state.requests),
        load=tuple(state.load),
        phases=tuple(phases),
        notes=tuple(state.notes),
        node=node_identity(),
        load_settings=state.load_settings,
        page_cache=state.page_cache,
        compile_cache=state.compile_cache,
        chaos=state.chaos,
        escaped=state.escaped,
        machine=watch.after() if watch is not None else None,
        fleet=state.fleet,
        trace_id=otlp.trace_id if otlp is not None else None,
        trace_span_id=otlp.parent_span_id if otlp is not None else None,
        t0_unix_ns=t0 + realtime_offset_ns(),
    )
    return redact_record(record, _secrets(setup, loaded))


def _placed_on_ray(setup: TrialSetup, context: RunContext, state: TrialState) -> RayReplicas | None:
    """The fleet's replicas placed on a Ray cluster's nodes, an actor each (before t0);
    None where Ray cannot be reached (the trial failed, saying why)."""
    assert setup.fleet is not None
    try:
        replicas = RayReplicas(
            context.guardian, setup.fleet.ray_address, context.run_dir, context.accounting
        )
    except Exception as exc:  # Ray missing, or no cluster at the address
        state.fail("failed", str(exc) if isinstance(exc, ColdstartError) else f"Ray: {exc}")
        return None
    try:
        replicas.place(setup.services)
    except Exception as exc:  # Ray's own errors: no cluster there, a node gone
        said = str(exc) if isinstance(exc, LaunchError) else f"could not place the replicas: {exc}"
        state.fail(getattr(exc, "status", "failed"), f"Ray: {said}")
        replicas.stop_all()  # the actors placed so far go
    return replicas


def _measure(setup: TrialSetup, state: TrialState, processes: TrialProcesses | RayReplicas) -> None:
    """The cold start itself: t0, every service started and ready, the requests; then the
    teardown, whatever happened."""
    if setup.fleet is not None:
        measure_fleet(setup, setup.fleet, state, processes)
        return
    assert isinstance(processes, TrialProcesses)  # only a fleet is placed on Ray
    if setup.load is not None:
        measure_load(setup, setup.load, state, processes)
        return
    with Probe(setup.probe) as probe:
        probe.prime(list(setup.requests))
        try:
            TrialProcesses.check_ports(setup.services)
            t0 = processes.begin()
            deadline = Deadline.after(t0, setup.timeout_s)
            for service in setup.services:
                processes.start(service, deadline.at_ns)
            send_requests(probe, setup, setup.requests, t0, state, processes, deadline)
        except LaunchError as exc:
            state.fail(exc.status, str(exc))
        finally:
            teardown_began = time.perf_counter_ns()
            processes.stop_all()
            state.teardown_ms = ns_to_ms(time.perf_counter_ns() - teardown_began)


def _ready_ms(
    setup: TrialSetup, services: Sequence[ServiceRecord], state: TrialState
) -> float | None:
    """When the trial's service could first answer: the last service of the start-up (a
    chaos restart appends instances after it); for a fleet, when users could first reach
    it — its first replica ready, or through HAProxy, the balancer's first replica up."""
    if state.fleet is not None:
        fleet = state.fleet
        if fleet.balancer == "haproxy":
            return fleet.balancer_ready_ms
        known = [r for r in fleet.ready_ms if r is not None]
        return min(known) if known else None
    if setup.services and len(services) >= len(setup.services):
        return services[len(setup.services) - 1].ready_ms
    return None


def _cold_ttft(state: TrialState) -> float | None:
    """t0 → the first token: of the first request, or under load of the first answer."""
    if state.load:
        firsts = [
            r.request.start_ms + r.request.ttft_ms
            for r in state.load
            if r.phase == "cold" and r.request.status == "ok" and r.request.ttft_ms is not None
        ]
        return round(min(firsts), 4) if firsts else None
    first = state.requests[0] if state.requests else None
    if first is not None and first.status == "ok" and first.ttft_ms is not None:
        return round(first.start_ms + first.ttft_ms, 4)
    return None


def _secrets(setup: TrialSetup, loaded: LoadedScenario) -> set[str]:
    """Values a server may print back: error messages carry log lines, and a server that
    prints its API key must not put it into trials.jsonl."""
    requests = setup.load.templates if setup.load is not None else setup.requests
    return secret_values(
        *(spec.env for spec in setup.services),
        *(req.headers for req in requests),
        loaded.scenario.vars,
    )


def _run_prepare(setup: TrialSetup, trial_dir: Path, guardian: Guardian | None) -> float | None:
    if not setup.prepare:
        return None
    began = time.perf_counter_ns()
    for i, argv in enumerate(setup.prepare):
        try:
            run_logged(
                argv, trial_dir / "prepare.log", setup.prepare_timeout_s, f"prepare[{i}]", guardian
            )
        except CommandFailed as exc:
            raise _SetupFailed(str(exc)) from None
    return ns_to_ms(time.perf_counter_ns() - began)


def _prepare_compile_cache(setup: TrialSetup) -> compile_cache.CacheContents | None:
    if setup.compile_cache_mode is None or setup.compile_cache_dir is None:
        return None
    try:
        return compile_cache.prepare(setup.compile_cache_mode, Path(setup.compile_cache_dir))
    except OSError as exc:
        raise _SetupFailed(f"compile_cache: {exc}") from None


def _record_compile_cache(
    setup: TrialSetup, at_spawn: compile_cache.CacheContents, state: TrialState, warmup: bool
) -> None:
    assert setup.compile_cache_mode is not None and setup.compile_cache_dir is not None
    record = compile_cache.finish(setup.compile_cache_mode, Path(setup.compile_cache_dir), at_spawn)
    state.compile_cache = record
    note = compile_cache.empty_warm_cache_note(record)
    if note is not None and not warmup:
        state.notes.append(note)


def _set_page_cache(setup: TrialSetup) -> tuple[float | None, PageCacheState | None]:
    if not setup.page_cache_mode:
        return None, None
    began = time.perf_counter_ns()
    try:
        files = page_cache.expand(setup.page_cache_files)
        nbytes = (
            page_cache.evict(files) if setup.page_cache_mode == "cold" else page_cache.warm(files)
        )
    except (page_cache.PageCacheError, OSError) as exc:
        raise _SetupFailed(str(exc)) from None
    elapsed = ns_to_ms(time.perf_counter_ns() - began)
    resident = page_cache.resident_fraction(files)
    return elapsed, PageCacheState(
        mode=setup.page_cache_mode,
        files=len(files),
        bytes=nbytes,
        resident_before_spawn=None if resident is None else round(resident, 4),
    )
