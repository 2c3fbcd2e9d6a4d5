"""The services of one trial as a group: started in order, stopped in reverse order, each
known to the run's guardian."""

from __future__ import annotations

import dataclasses
import itertools
import os
import signal
import threading
import time
from collections.abc import Iterable

from coldstart_bench.host import processes
from coldstart_bench.host.processes import ProcInfo
from coldstart_bench.plan.specs import ServiceSpec
from coldstart_bench.proc.account import TreeAccount
from coldstart_bench.proc.guardian import Guardian
from coldstart_bench.proc.kill import kill_family
from coldstart_bench.proc.logwatch import LogWatch
from coldstart_bench.proc.ports import port_in_use
from coldstart_bench.proc.service import LaunchError, ServiceProcess
from coldstart_bench.proc.signals import shielded

_SWEEP_LIMIT_S = 2.0
_SERIAL = itertools.count()  # names each service's cgroup uniquely within the run


class TrialProcesses:
    """The services of one trial, started in order and always stopped in reverse order."""

    def __init__(self, guardian: Guardian | None = None, accounting: str = "off") -> None:
        self.t0_ns: int | None = None
        self.accounting = accounting  # auto, proc or off: see proc/account.py
        self.services: list[ServiceProcess] = []
        self.guardian = guardian
        self.escaped: list[ProcInfo] = []  # killed by the sweep after teardown
        self.logs = LogWatch()
        self._t0_ticks: int | None = None
        # a fleet may spawn a replica from a thread of its own: never once the stop began
        self._spawning = threading.Lock()
        self._stopping = False
        processes.become_subreaper()

    def begin(self) -> int:
        """Mark t0, the origin of the trial's timeline: call just before the first spawn."""
        self._t0_ticks = processes.boot_ticks()
        self.t0_ns = time.perf_counter_ns()
        return self.t0_ns

    @staticmethod
    def check_ports(specs: Iterable[ServiceSpec]) -> None:
        """Refuse to start where something already answers on a service's port: readiness
        would be measured against the wrong server. Call before t0; it is not part of the
        cold start."""
        for spec in specs:
            if spec.ready.kind in ("tcp", "http", "first-token") and port_in_use(
                spec.ready.host, spec.port
            ):
                raise LaunchError(
                    "failed",
                    f"service {spec.name!r}: port {spec.port} on {spec.ready.host} is already "
                    "in use by another process, so readiness would be measured against the "
                    "wrong server",
                )

    def start(
        self, spec: ServiceSpec, deadline_ns: int | None = None, wait: bool = True
    ) -> ServiceProcess:
        """Spawn a service and wait until its readiness rule holds (or, if sooner, until
        ``deadline_ns``, the trial's own bound); ``wait=False``: the caller waits (a fleet
        waits for its replicas at once)."""
        if self.t0_ns is None:
            self.begin()
        assert self.t0_ns is not None
        with self._spawning:
            if self._stopping:
                raise LaunchError("failed", f"service {spec.name!r}: the trial ended first")
            account = TreeAccount(f"{next(_SERIAL)}-{spec.name}", self.accounting)
            if account.group is not None and self.guardian is not None:
                self.guardian.remove_if_killed(*account.group.dirs)
            service = ServiceProcess(spec, self.t0_ns, account)
            self.services.append(service)
            # A Ctrl-C inside Popen would lose the pid of a child that already runs, and
            # with it the teardown: hold signals until the process is known (and watched).
            with shielded():
                service.spawn()
                if self.guardian is not None and service.pid is not None:
                    self.guardian.watch(service.pid)
        self.logs.watch(spec.log_path, service.log_read_offset)
        if wait:
            service.wait_ready(deadline_ns)
        return service

    def restart(self, name: str, kill: bool = False) -> ServiceProcess | None:
        """Stop a running service (SIGKILL with ``kill``) and, unless killing, start it
        again with the same spec and wait for it to be ready. Both instances stay in
        :attr:`services`, so teardown and the records cover them."""
        current = next((s for s in reversed(self.services) if s.spec.name == name), None)
        if current is None:
            raise LaunchError("failed", f"chaos: no running service named {name!r}")
        main_pids = self._own_children() - {current.pid}
        if kill:
            spec = dataclasses.replace(current.spec, stop_signal=signal.SIGKILL, stop_grace_s=0.0)
            current.spec = spec
            current.stop(main_pids)
            return None
        current.stop(main_pids)
        restarts = sum(s.spec.name == name for s in self.services)
        return self.start(current.spec.restarted(restarts))

    def first_token(self) -> None:
        """The first token arrived: every service's CPU time so far."""
        for service in self.services:
            service.account.first_token()

    def stop_all(self) -> None:
        """Stop every service, newest first, then sweep up what escaped them: the trial is
        not over while a process of it remains."""
        with self._spawning:  # a spawn in flight finishes first; none starts after
            self._stopping = True
        main_pids = self._own_children()
        for service in reversed(self.services):
            service.stop(main_pids - {service.pid})
        self.escaped += self.sweep()
        # after the sweep: an escapee counted in a service's cgroup holds it until killed
        for service in self.services:
            service.account.close()
        self.logs.close()

    def sweep(self, limit_s: float = _SWEEP_LIMIT_S) -> list[ProcInfo]:
        """SIGKILL, until a scan of ``/proc`` finds none, every process that started since
        t0 and is now a child of ours (we are the subreaper, so whatever escaped a service
        — a double fork, a child forked by its SIGTERM handler — ends up here) or a
        descendant of one. Returns them: none, for a well-behaved target."""
        if self._t0_ticks is None:
            return []
        me = os.getpid()
        spared = self._own_children() - {s.pid for s in self.services}  # the guardian
        since = self._t0_ticks - 1

        def escaped() -> dict[int, ProcInfo]:
            table = processes.scan()
            roots = [
                p.pid
                for p in table.values()
                if p.ppid == me and p.pid not in spared and p.start_time >= since
            ]
            processes.reap(p for p in roots if not table[p].alive)  # zombies of ours
            family = {p for p in roots if table[p].alive}
            for root in list(family):
                family |= {d for d in processes.descendants(root, table) if table[d].alive}
            return {pid: table[pid] for pid in family}

        return list(kill_family(escaped, limit_s).values())

    def _own_children(self) -> set[int]:
        """Processes this harness started itself: the services' main processes and the
        guardian. A service's teardown takes children of ours that started after it for
        escaped descendants (re-parented to us, the subreaper); these never are, and the
        guardian, started a moment before the first spawn, would otherwise be signalled."""
        pids = {s.pid for s in self.services if s.pid is not None}
        if self.guardian is not None and self.guardian.pid is not None:
            pids.add(self.guardian.pid)
        return pids

    def __enter__(self) -> TrialProcesses:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop_all()
