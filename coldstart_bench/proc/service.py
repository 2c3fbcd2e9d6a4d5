"""One service of a trial: start it cold, wait for its readiness rule, and tear it down
with nothing left behind.

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
import os
import select
import signal
import subprocess
import time
from collections.abc import Callable, Collection
from pathlib import Path

from coldstart_bench.host import processes
from coldstart_bench.plan.specs import ReadySpec, ServiceSpec
from coldstart_bench.proc import shm
from coldstart_bench.proc.account import TreeAccount
from coldstart_bench.proc.kill import group_and, kill_family, service_tree
from coldstart_bench.proc.readiness import (
    MATCH_TIMEOUT_S,
    HttpCheck,
    InBackground,
    LogCheck,
    LogMarks,
    RequestRejected,
    describe_rule,
    first_token_check,
    http_check,
    tcp_check,
)
from coldstart_bench.proc.signals import describe_exit, shielded
from coldstart_bench.proc.stopped import StopReport
from coldstart_bench.results.logs import log_tail
from coldstart_bench.results.schema import ServiceRecord, Status, ns_to_ms

_KILL_WAIT_S = 2.0
# How long a process born after the stop signal (see _stop) may take to go on its own.
_LATE_GRACE_S = 0.5
_DAEMON_HINT = (
    ". Exiting 0 before ready looks like a daemon: it forked, and its first process left; "
    "the harness measures and stops the process it started, so run the server in the "
    "foreground (its --foreground / --no-daemon / 'daemon off' option, or exec it)"
)


class LaunchError(Exception):
    """A service could not be started or did not become ready."""

    def __init__(self, status: Status, message: str) -> None:
        self.status = status
        super().__init__(message)


class ServiceProcess:
    """A service of one trial: spawn, wait for readiness, stop."""

    def __init__(self, spec: ServiceSpec, t0_ns: int, account: TreeAccount | None = None) -> None:
        self.spec = spec
        self.t0_ns = t0_ns
        self.account = account or TreeAccount(spec.name, "off")
        self.proc: subprocess.Popen[bytes] | None = None
        self.spawn_ns: int | None = None
        self.ready_ns: int | None = None
        self.log_marks_ns: dict[str, int] = {}  # phase → when its line appeared in the log
        self.log_reported_ms: dict[str, float] = {}  # phase → the duration its line printed
        self.log_timed_out: set[str] = set()  # phases whose pattern ran out of time on the log
        self._log_readers: list[LogCheck | LogMarks] = []
        self.status: Status = "ok"
        self.error: str | None = None
        self.stop_report: StopReport | None = None
        self._pidfd: int | None = None
        self._spawn_ticks = 0
        self._log_offset = 0

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
        with contextlib.suppress(OSError):
            self._log_offset = spec.log_path.stat().st_size
        self._spawn_ticks = processes.boot_ticks()
        with open(spec.log_path, "ab") as log:
            try:
                self.proc = subprocess.Popen(
                    self.account.command(list(spec.argv), spec.env, spec.cwd),
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
        self.account.started(self.proc.pid)
        with contextlib.suppress(OSError, AttributeError):
            self._pidfd = os.pidfd_open(self.proc.pid)

    def wait_ready(self, deadline_ns: int | None = None) -> None:
        assert self.proc is not None and self.spawn_ns is not None
        rule = self.spec.ready
        deadline = self.spawn_ns + int(rule.timeout_s * 1e9)
        cut = deadline_ns is not None and deadline_ns < deadline  # the trial's bound first
        if cut and deadline_ns is not None:
            deadline = deadline_ns
        if rule.kind == "exit":
            self._wait_exit(deadline)
            return
        interval = rule.interval_ms / 1000.0
        check: Callable[[float], bool]
        if rule.kind == "tcp":
            check = tcp_check(rule)
        elif rule.kind == "http":
            check = http_check(rule)
        elif rule.kind == "first-token":
            check = InBackground(first_token_check(rule), interval)
        else:
            check = LogCheck(self.spec.log_path, rule.pattern or "", self._log_offset)
            self._log_readers.append(check)
        marks = self._log_marks()
        if marks is not None:
            self._log_readers.append(marks)
        try:
            self._poll_ready(check, marks, rule, deadline, cut, interval)
        finally:
            self._log_readers.clear()

    def log_read_offset(self) -> int | None:
        """How far this service's log has been read by its readiness rule and its log
        phases while they wait (a log's cap must not drop what they have yet to read);
        None when nothing reads it."""
        readers = list(self._log_readers)
        return min(r.read_offset for r in readers) if readers else None

    def _poll_ready(
        self,
        check: Callable[[float], bool],
        marks: LogMarks | None,
        rule: ReadySpec,
        deadline: int,
        cut: bool,
        interval: float,
    ) -> None:
        while True:
            if marks is not None:
                marks(time.perf_counter_ns())
            code = self.proc.poll()
            if code is not None:
                self._fail(
                    "failed",
                    f"service {self.spec.name!r} exited with code {describe_exit(code)} "
                    f"before it was ready ({describe_rule(rule)})"
                    + (_DAEMON_HINT if code == 0 else "")
                    + self._tail_suffix(),
                )
            try:
                ready = check((deadline - time.perf_counter_ns()) / 1e9)
            except RequestRejected as exc:
                self._fail(
                    "failed",
                    f"service {self.spec.name!r}: its readiness request was refused ({exc}); "
                    "check ready.body (the model's name?)",
                )
            if ready:
                self.ready_ns = time.perf_counter_ns()
                if isinstance(check, InBackground) and check.ready_ns is not None:
                    self.ready_ns = check.ready_ns
                if marks is not None:  # lines written during the last check
                    marks(self.ready_ns)
                self.account.ready()
                return
            if time.perf_counter_ns() >= deadline:
                within = "the trial's trial_timeout_s" if cut else f"{rule.timeout_s:g} s"
                slow = (
                    f"; the pattern ran out of time ({MATCH_TIMEOUT_S:g} s) on the log: does it "
                    "backtrack (nested repeats such as (a+)+)?"
                    if isinstance(check, LogCheck) and check.timed_out
                    else ""
                )
                if isinstance(check, HttpCheck) and check.last_status is not None:
                    slow = f"; it last answered HTTP {check.last_status}"
                    if check.last_status == 404:
                        slow += " (is ready.path right?)"
                self._fail(
                    "timeout",
                    f"service {self.spec.name!r} was not ready within {within} "
                    f"({describe_rule(rule)}){slow}" + self._tail_suffix(),
                )
            time.sleep(check.interval(interval) if isinstance(check, HttpCheck) else interval)

    def _log_marks(self) -> LogMarks | None:
        """The reader of the start-up phases marked in the service's output, if it has any;
        what it sees is kept in :attr:`log_marks_ns`."""
        if not self.spec.log_phases:
            return None
        marks = LogMarks(self.spec.log_path, dict(self.spec.log_phases), self._log_offset)
        self.log_marks_ns = marks.seen_ns
        self.log_reported_ms = marks.reported_ms
        self.log_timed_out = marks.timed_out
        return marks

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
        self.account.ready()
        code = self.proc.wait()
        if code != rule.exit_code:
            self._fail(
                "failed",
                f"service {self.spec.name!r} exited with code {describe_exit(code)}, expected "
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
        # what it has mapped or open in /dev/shm, noted while it lives: whatever nobody holds
        # once it is gone, however it went, would meet the next trial (FileExistsError)
        held = shm.held_by(tree)
        self.account.stopping()
        main_alive = self.proc.poll() is None
        report.stopped_by = self.spec_signal_name if main_alive else "exited"
        sig = self.spec.stop_signal
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        for info in tree.values():
            if info.pgrp != pid and info.alive:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(info.pid, sig)
        # A stopped process (SIGSTOP, a debugger) cannot act on the stop signal until it is
        # continued: waiting the grace out would change nothing, so no grace for it.
        main = tree.get(pid)
        frozen = main_alive and main is not None and main.state in ("T", "t")
        grace_s = 0.0 if frozen else self.spec.stop_grace_s
        deadline = time.perf_counter_ns() + int(grace_s * 1e9)
        if main_alive and not frozen:
            self._wait_for_main_exit(deadline)
        # Children may outlive the main process; give them the rest of the grace period.
        # Those that appeared since the signal (forked by a stop handler) have not had it.
        later = {k: v for k, v in self._tree(pid, other_main_pids).items() if k not in tree}
        for info in later.values():
            if info.alive:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(info.pid, sig)
        others = [p for p in tree.values() if p.pid != pid]
        tree.update(later)
        # The grace is the service's, for what it ran when the signal went out; a process
        # born after it (a stop handler's child, a daemon it double-forked) gets a moment,
        # not the whole grace: one that ignores the signal would hold teardown that long.
        late_deadline = min(deadline, time.perf_counter_ns() + int(_LATE_GRACE_S * 1e9))
        while (processes.still_alive(others) and time.perf_counter_ns() < deadline) or (
            processes.still_alive(later.values()) and time.perf_counter_ns() < late_deadline
        ):
            time.sleep(0.005)
        leftovers = processes.still_alive(tree.values())
        if leftovers:
            report.leftover_pids = sorted(p.pid for p in leftovers)
            if any(p.pid == pid for p in leftovers):
                report.stopped_by = "SIGKILL (it was stopped)" if frozen else "SIGKILL"
            kill_family(group_and(pid, leftovers), _KILL_WAIT_S)
        try:
            report.exit_code = self.proc.wait(timeout=_KILL_WAIT_S)
        except subprocess.TimeoutExpired:
            report.exit_code = None
        processes.reap(p.pid for p in tree.values() if p.pid != pid)
        report.survivors = sorted(p.pid for p in processes.still_alive(tree.values()))
        report.shm_removed = shm.remove_orphans(held)
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        report.teardown_ns = time.perf_counter_ns() - started
        return report

    @property
    def spec_signal_name(self) -> str:
        return signal.Signals(self.spec.stop_signal).name

    def _tree(self, pid: int, other_main_pids: Collection[int]) -> dict[int, processes.ProcInfo]:
        return service_tree(pid, self._spawn_ticks, other_main_pids)

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
            cpu=self.account.work(),
        )

    def _since_t0(self, ns: int | None) -> float | None:
        return None if ns is None else ns_to_ms(ns - self.t0_ns)
