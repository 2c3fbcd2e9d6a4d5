"""Start services cold, detect readiness, and tear them down with nothing left behind.

Each service is started as the leader of a new session (so it and its children share a
process group we can signal), with stdout and stderr appended to a per-trial log file.
Readiness is polled every ``interval_ms`` (1 ms by default) so that the harness learns of
it within about a millisecond; a process that dies first is noticed on the next poll.
Teardown sends the stop signal to the whole group and to any descendant that left it,
waits the grace period, SIGKILLs what is left, reaps, and re-reads ``/proc`` to report
any survivor.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import os
import re
import select
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from coldstart_bench import proctree
from coldstart_bench.guardian import Guardian
from coldstart_bench.records import ServiceRecord, Status, ns_to_ms
from coldstart_bench.signals import shielded
from coldstart_bench.specs import ReadySpec, ServiceSpec

_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_LOG_TAIL_LINES = 15
_LOG_TAIL_BYTES = 4096
_KILL_WAIT_S = 2.0


class LaunchError(Exception):
    """A service could not be started or did not become ready."""

    def __init__(self, status: Status, message: str) -> None:
        self.status = status
        super().__init__(message)


def free_port(host: str = "127.0.0.1") -> int:
    """A port the kernel just handed out on ``host``; a fresh one per trial avoids TIME_WAIT."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def log_tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    """The last lines of a log file, for error messages."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - _LOG_TAIL_BYTES))
            data = f.read()
    except OSError:
        return ""
    text = data.decode("utf-8", "replace").rstrip()
    return "\n".join(text.splitlines()[-lines:])


def _boot_ticks() -> int:
    return int(time.clock_gettime(time.CLOCK_BOOTTIME) * _CLK_TCK)


# Readiness checks: each returns True once the service is ready ------------------------


def _tcp_check(spec: ReadySpec) -> Callable[[], bool]:
    address = (spec.host, spec.port)

    def check() -> bool:
        try:
            with socket.create_connection(address, timeout=1.0):
                return True
        except OSError:
            return False

    return check


def _http_check(spec: ReadySpec) -> Callable[[], bool]:
    context = None
    if spec.https:
        # Readiness only asks "does it answer?"; certificate checks are the probe's job.
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE

    def check() -> bool:
        if context is not None:
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                spec.host, spec.port, timeout=2.0, context=context
            )
        else:
            conn = http.client.HTTPConnection(spec.host, spec.port, timeout=2.0)
        try:
            conn.request("GET", spec.path, headers={"Connection": "close"})
            response = conn.getresponse()
            response.read()
            return response.status == spec.status
        except (OSError, http.client.HTTPException):
            return False
        finally:
            conn.close()

    return check


_LOG_CHUNK_BYTES = 1 << 20
LOG_LIMIT_BYTES = 8 << 20


class _LogCheck:
    """Reads the log file incrementally and looks for the pattern in what is new."""

    def __init__(self, path: Path, pattern: str) -> None:
        self._path = path
        self._regex = re.compile(pattern.encode("utf-8"), re.MULTILINE)
        self._offset = 0
        self._carry = b""

    def __call__(self) -> bool:
        # Chunk by chunk, so a service flooding its output costs bounded memory.
        try:
            with open(self._path, "rb") as f:
                f.seek(self._offset)
                while data := f.read(_LOG_CHUNK_BYTES):
                    self._offset += len(data)
                    window = self._carry + data
                    if self._regex.search(window):
                        return True
                    self._carry = window[-_LOG_TAIL_BYTES:]
        except OSError:
            return False
        return False


def cap_log(path: Path, limit: int = LOG_LIMIT_BYTES) -> int:
    """Shorten a log over ``limit`` bytes to its first and last ``limit // 2`` bytes with
    a note in between, in place, in bounded memory. Returns the bytes dropped."""
    try:
        size = path.stat().st_size
    except OSError:
        return 0
    if size <= limit:
        return 0
    half = limit // 2
    dropped = size - 2 * half
    note = (
        f"\n[... coldstart: {dropped:,} bytes of output dropped here; logs are capped at "
        f"{limit:,} bytes per service and trial ...]\n"
    ).encode()
    tmp = path.with_name(path.name + ".capped")
    with open(path, "rb") as src, open(tmp, "wb") as dst:
        dst.write(src.read(half))
        dst.write(note)
        src.seek(size - half)
        while chunk := src.read(_LOG_CHUNK_BYTES):
            dst.write(chunk)
    os.replace(tmp, path)
    return dropped


def describe_rule(spec: ReadySpec) -> str:
    if spec.kind == "http":
        scheme = "https" if spec.https else "http"
        return f"GET {scheme}://{spec.host}:{spec.port}{spec.path} → {spec.status}"
    if spec.kind == "log":
        return f"log line matching {spec.pattern!r}"
    if spec.kind == "exit":
        return f"exit with code {spec.exit_code}"
    return f"TCP connect to {spec.host}:{spec.port}"


# One service process -----------------------------------------------------------------


@dataclass
class StopReport:
    stopped_by: str | None = None
    exit_code: int | None = None
    teardown_ns: int = 0
    leftover_pids: list[int] = field(default_factory=list)
    survivors: list[int] = field(default_factory=list)


class ServiceProcess:
    """A service of one trial: spawn, wait for readiness, stop."""

    def __init__(self, spec: ServiceSpec, t0_ns: int) -> None:
        self.spec = spec
        self.t0_ns = t0_ns
        self.proc: subprocess.Popen[bytes] | None = None
        self.spawn_ns: int | None = None
        self.ready_ns: int | None = None
        self.status: Status = "ok"
        self.error: str | None = None
        self.stop_report: StopReport | None = None
        self._pidfd: int | None = None
        self._spawn_ticks = 0

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    # start -----------------------------------------------------------------------

    def spawn(self) -> None:
        spec = self.spec
        if spec.cwd is not None and not os.path.isdir(spec.cwd):
            self._fail(
                "failed", f"service {spec.name!r}: working directory {spec.cwd!r} does not exist"
            )
        spec.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._spawn_ticks = _boot_ticks()
        with open(spec.log_path, "ab") as log:
            try:
                self.proc = subprocess.Popen(
                    list(spec.argv),
                    cwd=spec.cwd,
                    env=spec.env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    close_fds=True,
                )
            except FileNotFoundError:
                self._fail(
                    "failed",
                    f"service {spec.name!r}: cannot start {spec.argv[0]!r}: program not found "
                    "(is it installed and on PATH?)",
                )
            except PermissionError:
                self._fail(
                    "failed",
                    f"service {spec.name!r}: cannot start {spec.argv[0]!r}: permission denied",
                )
            except OSError as exc:
                self._fail(
                    "failed",
                    f"service {spec.name!r}: cannot start {spec.argv[0]!r}: {exc.strerror or exc}",
                )
        self.spawn_ns = time.perf_counter_ns()
        with contextlib.suppress(OSError, AttributeError):
            self._pidfd = os.pidfd_open(self.proc.pid)

    def wait_ready(self) -> None:
        assert self.proc is not None and self.spawn_ns is not None
        rule = self.spec.ready
        deadline = self.spawn_ns + int(rule.timeout_s * 1e9)
        if rule.kind == "exit":
            self._wait_exit(deadline)
            return
        if rule.kind == "tcp":
            check = _tcp_check(rule)
        elif rule.kind == "http":
            check = _http_check(rule)
        else:
            check = _LogCheck(self.spec.log_path, rule.pattern or "")
        interval = rule.interval_ms / 1000.0
        while True:
            code = self.proc.poll()
            if code is not None:
                self._fail(
                    "failed",
                    f"service {self.spec.name!r} exited with code {_describe_code(code)} "
                    f"before it was ready ({describe_rule(rule)})" + self._tail_suffix(),
                )
            if check():
                self.ready_ns = time.perf_counter_ns()
                return
            if time.perf_counter_ns() >= deadline:
                self._fail(
                    "timeout",
                    f"service {self.spec.name!r} was not ready within {rule.timeout_s:g} s "
                    f"({describe_rule(rule)})" + self._tail_suffix(),
                )
            time.sleep(interval)

    def _wait_exit(self, deadline: int) -> None:
        assert self.proc is not None
        rule = self.spec.ready
        if not self._wait_for_main_exit(deadline):
            self._fail(
                "timeout",
                f"service {self.spec.name!r} did not exit within {rule.timeout_s:g} s"
                + self._tail_suffix(),
            )
        self.ready_ns = time.perf_counter_ns()
        code = self.proc.wait()
        if code != rule.exit_code:
            self._fail(
                "failed",
                f"service {self.spec.name!r} exited with code {_describe_code(code)}, expected "
                f"{rule.exit_code}" + self._tail_suffix(),
            )

    def _wait_for_main_exit(self, deadline_ns: int) -> bool:
        """Block until the main process exits (True) or the deadline passes (False)."""
        assert self.proc is not None
        if self._pidfd is not None:
            poller = select.poll()
            poller.register(self._pidfd, select.POLLIN)
            while True:
                remaining_ms = (deadline_ns - time.perf_counter_ns()) / 1e6
                if remaining_ms <= 0:
                    return self.proc.poll() is not None
                if poller.poll(max(1.0, remaining_ms)):
                    return True
        while self.proc.poll() is None:
            if time.perf_counter_ns() >= deadline_ns:
                return False
            time.sleep(0.001)
        return True

    def _tail_suffix(self) -> str:
        tail = log_tail(self.spec.log_path)
        if not tail:
            return "; its log is empty"
        return f"; last log lines:\n{tail}"

    def _fail(self, status: Status, message: str) -> None:
        self.status = status
        self.error = message
        raise LaunchError(status, message)

    # stop ------------------------------------------------------------------------

    def stop(self, other_main_pids: Collection[int] = ()) -> StopReport:
        """Stop signal to the group and escaped descendants, SIGKILL after the grace period,
        reap, and report anything still alive. Signals are held off until it is done.
        Stopping twice returns the first report."""
        if self.stop_report is not None:
            return self.stop_report
        with shielded():
            report = self._stop(other_main_pids)
        self.stop_report = report
        return report

    def _stop(self, other_main_pids: Collection[int]) -> StopReport:
        report = StopReport()
        if self.proc is None:
            return report
        started = time.perf_counter_ns()
        pid = self.proc.pid
        tree = self._tree(pid, other_main_pids)
        main_alive = self.proc.poll() is None
        report.stopped_by = self.spec_signal_name if main_alive else "exited"
        sig = self.spec.stop_signal
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        for info in tree.values():
            if info.pgrp != pid and info.alive:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(info.pid, sig)
        deadline = time.perf_counter_ns() + int(self.spec.stop_grace_s * 1e9)
        if main_alive:
            self._wait_for_main_exit(deadline)
        # Children may outlive the main process; give them the rest of the grace period.
        tree.update(self._tree(pid, other_main_pids))
        others = [p for p in tree.values() if p.pid != pid]
        while proctree.still_alive(others) and time.perf_counter_ns() < deadline:
            time.sleep(0.005)
        leftovers = proctree.still_alive(tree.values())
        if leftovers:
            report.leftover_pids = sorted(p.pid for p in leftovers)
            if any(p.pid == pid for p in leftovers):
                report.stopped_by = "SIGKILL"
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
            for info in leftovers:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(info.pid, signal.SIGKILL)
            kill_deadline = time.perf_counter_ns() + int(_KILL_WAIT_S * 1e9)
            while proctree.still_alive(leftovers) and time.perf_counter_ns() < kill_deadline:
                time.sleep(0.002)
        try:
            report.exit_code = self.proc.wait(timeout=_KILL_WAIT_S)
        except subprocess.TimeoutExpired:
            report.exit_code = None
        proctree.reap(p.pid for p in tree.values() if p.pid != pid)
        report.survivors = sorted(p.pid for p in proctree.still_alive(tree.values()))
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        report.teardown_ns = time.perf_counter_ns() - started
        return report

    @property
    def spec_signal_name(self) -> str:
        return signal.Signals(self.spec.stop_signal).name

    def _tree(self, pid: int, other_main_pids: Collection[int]) -> dict[int, proctree.ProcInfo]:
        """The service's processes, plus orphans re-parented to us (we are a subreaper) that
        were started after this service: those escaped by double-forking."""
        table = proctree.scan()
        tree = proctree.related(pid, table)
        me = os.getpid()
        for info in table.values():
            if (
                info.ppid == me
                and info.pid != pid
                and info.pid not in other_main_pids
                and info.start_time >= self._spawn_ticks - 1
            ):
                tree[info.pid] = info
                for d in proctree.descendants(info.pid, table):
                    tree[d] = table[d]
        return tree

    # record ----------------------------------------------------------------------

    def record(self, run_dir: Path) -> ServiceRecord:
        report = self.stop_report or StopReport()
        try:
            log = str(self.spec.log_path.relative_to(run_dir))
        except ValueError:
            log = str(self.spec.log_path)
        return ServiceRecord(
            name=self.spec.name,
            status=self.status,
            pid=self.pid,
            port=self.spec.port,
            spawn_ms=self._since_t0(self.spawn_ns),
            ready_ms=self._since_t0(self.ready_ns),
            exit_code=report.exit_code,
            stopped_by=report.stopped_by,
            teardown_ms=ns_to_ms(report.teardown_ns) if self.stop_report else None,
            leftover_pids=tuple(report.leftover_pids),
            survivors=tuple(report.survivors),
            log=log,
            error=self.error,
        )

    def _since_t0(self, ns: int | None) -> float | None:
        return None if ns is None else ns_to_ms(ns - self.t0_ns)


def _describe_code(code: int) -> str:
    if code < 0:
        try:
            return f"{code} ({signal.Signals(-code).name})"
        except ValueError:
            return str(code)
    return str(code)


class TrialProcesses:
    """The services of one trial, started in order and always stopped in reverse order."""

    def __init__(self, guardian: Guardian | None = None) -> None:
        self.t0_ns: int | None = None
        self.services: list[ServiceProcess] = []
        self.guardian = guardian
        proctree.become_subreaper()

    def begin(self) -> int:
        """Mark t0, the origin of the trial's timeline: call just before the first spawn."""
        self.t0_ns = time.perf_counter_ns()
        return self.t0_ns

    @staticmethod
    def check_ports(specs: Iterable[ServiceSpec]) -> None:
        """Refuse to start where something already answers on a service's port: readiness
        would be measured against the wrong server. Call before t0; it is not part of the
        cold start."""
        for spec in specs:
            if spec.ready.kind in ("tcp", "http") and port_in_use(spec.ready.host, spec.port):
                raise LaunchError(
                    "failed",
                    f"service {spec.name!r}: port {spec.port} on {spec.ready.host} is already "
                    "in use by another process, so readiness would be measured against the "
                    "wrong server",
                )

    def start(self, spec: ServiceSpec) -> ServiceProcess:
        if self.t0_ns is None:
            self.begin()
        assert self.t0_ns is not None
        service = ServiceProcess(spec, self.t0_ns)
        self.services.append(service)
        # A Ctrl-C inside Popen would lose the pid of a child that already runs, and with
        # it the teardown: hold signals until the process is known (and watched).
        with shielded():
            service.spawn()
            if self.guardian is not None and service.pid is not None:
                self.guardian.watch(service.pid)
        service.wait_ready()
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

    def stop_all(self) -> None:
        main_pids = self._own_children()
        for service in reversed(self.services):
            service.stop(main_pids - {service.pid})

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
