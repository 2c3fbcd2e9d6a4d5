"""A fleet's trial: N replicas of the service spawned at t0 at once, each watched for its
readiness in a thread of its own (so that each ready time is its own, not the end of a
wait for another), the requests sent once the first is ready — through HAProxy, or
straight to that replica — and, before the teardown, the rest waited for (bounded by the
trial), so that every replica's start is measured."""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import itertools
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from coldstart_bench.plan.render import LOCAL_HOST
from coldstart_bench.plan.specs import FleetSpec, RequestSpec, ServiceSpec, TrialSetup
from coldstart_bench.probe.client import Probe
from coldstart_bench.probe.load import LoadRunner
from coldstart_bench.proc.group import TrialProcesses
from coldstart_bench.proc.service import LaunchError, ServiceProcess
from coldstart_bench.results.schema import FleetRecord, ns_to_ms
from coldstart_bench.run.balancer import (
    BalancerMissing,
    haproxy_config,
    haproxy_spec,
    logged_answers,
    wait_until_up,
)
from coldstart_bench.run.loadtrial import judge_load
from coldstart_bench.run.requests import send_requests
from coldstart_bench.run.state import Deadline, TrialState


class ReadyWatch:
    """Every replica's readiness watched at once, each in a thread of its own:
    :meth:`first` returns the first ready (None when every one failed), :meth:`join`
    waits for the rest. A replica started later (a staggered fleet) is spawned by its own
    thread when its time comes — or not at all once :meth:`cancel` was called."""

    def __init__(self, deadline_ns: int | None) -> None:
        self.expected = 0  # replicas watched or to be spawned: first() waits for them
        self.deadline_ns = deadline_ns
        self.failures: dict[str, str] = {}
        self._ready: list[ServiceProcess] = []
        self._done = 0
        self._changed = threading.Condition()
        self._cancelled = threading.Event()
        self._threads: list[threading.Thread] = []

    def watch(self, replica: ServiceProcess) -> None:
        self._thread(self._wait, replica.spec.name, replica)

    def spawn_later(self, processes: TrialProcesses, spec: ServiceSpec, at_ns: int) -> None:
        self._thread(self._spawn_then_wait, spec.name, processes, spec, at_ns)

    def cancel(self) -> None:
        """Replicas not spawned yet never are (the trial is ending)."""
        self._cancelled.set()

    def _thread(self, target: Callable[..., ServiceProcess | None], name: str, *args: Any) -> None:
        thread = threading.Thread(target=self._run, args=(target, name, *args), daemon=True)
        with self._changed:
            self.expected += 1
            self._threads.append(thread)
        thread.start()

    def _wait(self, replica: ServiceProcess) -> ServiceProcess:
        replica.wait_ready(self.deadline_ns)
        return replica

    def _spawn_then_wait(
        self, processes: TrialProcesses, spec: ServiceSpec, at_ns: int
    ) -> ServiceProcess | None:
        if self._cancelled.wait(max(at_ns - time.perf_counter_ns(), 0) / 1e9):
            raise LaunchError("failed", "not started: the trial ended before its turn")
        return self._wait(processes.start(spec, self.deadline_ns, wait=False))

    def _run(self, target: Callable[..., ServiceProcess | None], name: str, *args: Any) -> None:
        try:
            replica = target(*args)
        except LaunchError as exc:
            with self._changed:
                self.failures[name] = str(exc)
        except Exception as exc:  # a replica's watcher must never take the trial down
            with self._changed:
                self.failures[name] = f"{type(exc).__name__}: {exc}"
        else:
            if replica is not None:
                with self._changed:
                    # in the order they became ready, not the order their watchers woke
                    bisect.insort(self._ready, replica, key=_ready_ns)
        finally:
            with self._changed:
                self._done += 1
                self._changed.notify_all()

    def first(self) -> ServiceProcess | None:
        with self._changed:
            self._changed.wait_for(lambda: self._ready or self._done == self.expected)
            return self._ready[0] if self._ready else None

    def ready_now(self) -> list[ServiceProcess]:
        """The replicas ready so far, in the order they became ready (their ready times)."""
        with self._changed:
            return list(self._ready)

    def join(self) -> None:
        with self._changed:
            threads = list(self._threads)
        for thread in threads:
            thread.join()


def _ready_ns(replica: ServiceProcess) -> int:
    return replica.ready_ns if replica.ready_ns is not None else sys.maxsize


def start_replicas(
    setup: TrialSetup,
    fleet: FleetSpec,
    processes: TrialProcesses,
    t0: int,
    deadline: Deadline,
    watch: ReadyWatch,
) -> ReadyWatch:
    """Spawn the replicas — all at t0, or replica i at t0 + (i − 1) × stagger_ms, or only
    the first where the queue starts the rest (:class:`QueueScaler`) — and watch each for
    its readiness."""
    watch.deadline_ns = deadline.at_ns
    on_queue = fleet.scale_at_queue is not None
    for i, spec in enumerate(setup.services[:1] if on_queue else setup.services):
        if i and fleet.stagger_ms:
            watch.spawn_later(processes, spec, t0 + int(i * fleet.stagger_ms * 1e6))
        else:
            watch.watch(processes.start(spec, deadline.at_ns, wait=False))
    return watch


class QueueScaler:
    """Replicas 2..N started as the requests outstanding ask for them: every
    :data:`EVERY_S` from t0, while more than ``per_replica`` × the replicas started are
    outstanding (arrived, not answered), one more is started — until every replica is, or
    :meth:`stop`. What was outstanding at each start is kept (:attr:`started_at`)."""

    EVERY_S = 0.005

    def __init__(
        self,
        watch: ReadyWatch,
        processes: TrialProcesses | Any,
        waiting: list[ServiceSpec],
        per_replica: int,
        outstanding: Callable[[], int],
    ) -> None:
        self.watch, self.processes = watch, processes
        self.waiting, self.per_replica, self.outstanding = list(waiting), per_replica, outstanding
        self.started_at: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="queue-scaler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        started = 1
        while self.waiting and not self._stop.wait(self.EVERY_S):
            queued = self.outstanding()
            while self.waiting and queued > self.per_replica * started:
                spec = self.waiting.pop(0)
                started += 1
                self.started_at[spec.name] = queued
                self.watch.spawn_later(self.processes, spec, time.perf_counter_ns())

    def stop(self) -> None:
        """No replica is started after this returns."""
        self._stop.set()
        self._thread.join()


class ClientRouter:
    """The client's own policy over the replicas ready when each request is sent (before any
    is: replica 1, as a client that knows no better): ``first-ready``, every request to the
    replica ready first; ``round-robin``, each to the next; ``least-outstanding``, each to
    the one with the fewest of our requests in flight, ties to the one ready first."""

    def __init__(
        self,
        policy: str,
        watch: ReadyWatch,
        replicas: Sequence[ServiceSpec],
        address_of: Callable[[str], str],
    ) -> None:
        self.policy, self.watch, self.address_of = policy, watch, address_of
        self.fallback = replicas[0]
        self.outstanding: Counter[str] = Counter()
        self._turn = itertools.count()
        self._lock = threading.Lock()

    def pick(self, request: RequestSpec) -> tuple[RequestSpec, str]:
        ready = [r.spec for r in self.watch.ready_now()] or [self.fallback]
        with self._lock:
            if self.policy == "round-robin":
                chosen = ready[next(self._turn) % len(ready)]
            elif self.policy == "least-outstanding":
                chosen = min(ready, key=lambda spec: self.outstanding[spec.name])
            else:
                chosen = ready[0]
            self.outstanding[chosen.name] += 1
        return retarget(request, chosen.port, self.address_of(chosen.name)), chosen.name

    def release(self, replica: str) -> None:
        with self._lock:
            self.outstanding[replica] -= 1


def retarget(request: RequestSpec, port: int, host: str | None = None) -> RequestSpec:
    """The request sent to a replica's port (on ``host``, where not the request's own)."""
    parts = urlsplit(request.url)
    host = host or parts.netloc.rsplit(":", 1)[0]
    return dataclasses.replace(request, url=urlunsplit(parts._replace(netloc=f"{host}:{port}")))


def _address_of(processes: Any) -> Callable[[str], str]:
    """Where each replica is reached: this machine, or its Ray node."""
    return getattr(processes, "address_of", lambda _name: LOCAL_HOST)


def measure_fleet(
    setup: TrialSetup, fleet: FleetSpec, state: TrialState, processes: TrialProcesses | Any
) -> None:
    """The fleet's trial, with its [requests] one after another or its [load] (through
    HAProxy: arrivals before it has a replica up are held or retried, as [load] says).
    ``processes``: this machine's, or the replicas placed on a Ray cluster's nodes
    (:class:`~coldstart_bench.run.ray_fleet.RayReplicas`, which answers the same calls)."""
    balancer = TrialProcesses(processes.guardian)
    address_of = _address_of(processes)
    watch = ReadyWatch(None)
    router = (
        ClientRouter(fleet.balancer, watch, setup.services, address_of)
        if fleet.balancer != "haproxy"
        else None
    )
    runner = LoadRunner(setup.load, setup.probe, router) if setup.load is not None else None
    if runner is not None:
        assert setup.load is not None
        state.load_settings = setup.load.settings
        runner.prepare()  # thread, loop and client before t0
    first: ServiceProcess | None = None
    scaler: QueueScaler | None = None
    balancer_ready_ms: float | None = None
    with contextlib.ExitStack() as stack:
        probe = stack.enter_context(Probe(setup.probe)) if runner is None else None
        if probe is not None:
            probe.prime(list(setup.requests))
        try:
            if fleet.placement == "local":  # a Ray node's ports are its own
                TrialProcesses.check_ports(setup.services)
            if fleet.balancer == "haproxy":
                hosts = {s.name: address_of(s.name) for s in setup.services}
                fleet.config_path.write_text(haproxy_config(fleet, setup.services, hosts))
                balancer.start(haproxy_spec(fleet, fleet.config_path.parent))
            t0 = processes.begin()
            deadline = Deadline.after(t0, setup.timeout_s)
            if runner is not None:
                runner.begin(t0)
            start_replicas(setup, fleet, processes, t0, deadline, watch)
            if fleet.scale_at_queue is not None and runner is not None:
                rest = list(setup.services[1:])
                scaler = QueueScaler(
                    watch, processes, rest, fleet.scale_at_queue, runner.outstanding
                )
            first = watch.first()
            if first is None:
                said = "; ".join(f"{name}: {why}" for name, why in watch.failures.items())
                state.fail("failed", f"no replica became ready ({said})")
            elif fleet.balancer == "haproxy":
                # users reach the fleet when the balancer has a replica up: its health
                # checks lag the replica's own readiness
                limit = max(s.ready.timeout_s for s in setup.services)
                until = min(deadline.at_ns or sys.maxsize, t0 + int(limit * 1e9))
                if wait_until_up(fleet, until):
                    up = time.perf_counter_ns()
                    balancer_ready_ms = ns_to_ms(up - t0)
                    if runner is not None:
                        runner.ready(up)
                        state.load = runner.finish(deadline.left_s())
                        judge_load(setup, runner, state)
                    else:
                        assert probe is not None
                        send_requests(probe, setup, setup.requests, t0, state, processes, deadline)
                else:
                    state.fail("timeout", f"HAProxy had no replica up within {limit:g} s of t0")
            elif runner is not None:  # the client's own policy: users reach the fleet now
                runner.ready(first.ready_ns or time.perf_counter_ns())
                state.load = runner.finish(deadline.left_s())
                judge_load(setup, runner, state)
            else:
                assert probe is not None
                send_requests(probe, setup, setup.requests, t0, state, processes, deadline, router)
            if runner is not None and not state.load:  # the traffic never got going
                runner.abort(state.error or "the fleet never had a replica up")
                state.load = runner.finish(30.0)
            if scaler is not None:
                scaler.stop()
            watch.join()
            for name, why in watch.failures.items():
                if first is not None:
                    state.notes.append(f"replica {name} was never ready: {why}")
        except (LaunchError, BalancerMissing) as exc:
            watch.cancel()
            if runner is not None:
                runner.abort(str(exc))
                state.load = runner.finish(30.0)
            state.fail(getattr(exc, "status", "failed"), str(exc))
        finally:
            if scaler is not None:
                scaler.stop()
            watch.cancel()
            if runner is not None:
                runner.close()
            teardown_began = time.perf_counter_ns()
            processes.stop_all()
            balancer.stop_all()
            state.teardown_ms = ns_to_ms(time.perf_counter_ns() - teardown_began)
    started = scaler.started_at if scaler is not None else None
    state.fleet = _record(fleet, processes, balancer_ready_ms, started)


def _record(
    fleet: FleetSpec,
    processes: TrialProcesses | Any,
    balancer_ready_ms: float | None,
    started: dict[str, int] | None = None,
) -> FleetRecord:
    t0 = processes.t0_ns or 0
    replicas = getattr(processes, "remote", None) or processes.services
    ready = {
        s.spec.name: ns_to_ms(s.ready_ns - t0) if s.ready_ns is not None else None for s in replicas
    }
    known = {name: at for name, at in ready.items() if at is not None}
    found = [getattr(processes, "placed", {}).get(name) for name in fleet.replicas]
    placed = [p for p in found if p is not None] if fleet.placement == "ray" else []
    if len(placed) != len(fleet.replicas):  # a node for every replica, or none said
        placed = []
    answers = logged_answers(fleet.log_path) if fleet.balancer == "haproxy" else []
    return FleetRecord(
        replicas=fleet.replicas,
        balancer=fleet.balancer,
        ready_ms=tuple(ready.get(name) for name in fleet.replicas),
        first_ready=min(known, key=known.__getitem__) if known else None,
        balancer_ready_ms=balancer_ready_ms,
        balancer_log=f"logs/{fleet.log_path.parent.name}/{fleet.log_path.name}"
        if fleet.balancer == "haproxy"
        else None,
        balancer_answers=tuple(server for server, _status in answers),
        queue_at_start=()
        if started is None
        else tuple(0 if i == 0 else started.get(name) for i, name in enumerate(fleet.replicas)),
        nodes=tuple(f"{p.hostname} {p.node_id[:12]}" for p in placed),
        clock_offset_ms=tuple(p.offset_ns / 1e6 for p in placed),
        clock_error_ms=tuple(p.error_ns / 1e6 for p in placed),
    )
