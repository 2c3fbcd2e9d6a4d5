"""A watchdog process that kills every target of a run if ``coldstart`` itself is killed.

SIGINT and SIGTERM are handled by the harness (teardown, then exit). SIGKILL cannot be: the
harness just vanishes, and its targets would live on. So each run starts this small
process (``python -m coldstart_bench.proc.guardian``) with a pipe on its stdin. The harness writes
the pid and start time of every service it spawns; every 0.2 s the guardian also records
their current descendants, so processes that fork away (setsid, double fork) are known
even after they are reparented. When the pipe closes without a goodbye — the harness died —
the guardian SIGKILLs every known process that is still the same process (pid *and* start
time), plus their descendants and process-group members, then removes the shared memory
they held that nobody holds any more (:mod:`coldstart_bench.proc.shm`) and the trials'
temporary directories it was told of (``{trial_tmp}``: a server's build artifacts and IPC
files), then exits — never the harness's own process group or its ancestors, which belong
to whoever started ``coldstart``. A normal end of the run says goodbye first, and the
guardian leaves quietly.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

from coldstart_bench.host import processes
from coldstart_bench.host.processes import ProcInfo
from coldstart_bench.proc.kill import kill_family

GOODBYE = "exit"
SCAN_INTERVAL_S = 0.2
# The only directories the guardian removes: temporary ones the harness made for a trial.
TRIAL_TMP_PREFIX = "coldstart-trial-"
# ... and the cgroups made for a trial's services (host/accounting.py)
CGROUP_PREFIX = "coldstart-"
CGROUP_ROOT = "/sys/fs/cgroup/"
CGROUP_WAIT_S = 10.0
_REMOVE = "rmtree "
_DETACH = "--detached-from"


class Guardian:
    """The harness's side: start the watchdog, tell it about each spawned service."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._pipe: IO[bytes] | None = None

    def start(self, detached: bool = False) -> Guardian:
        """``detached``: the watchdog leaves our process tree (it forks once more and its
        parent exits), for a harness whose own end takes its children with it — a Ray actor,
        whose node kills the children of a worker that dies."""
        extra = [_DETACH, str(os.getpid())] if detached else []
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "coldstart_bench.proc.guardian", *extra],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C in the terminal must not take it down first
            close_fds=True,
        )
        self._pipe = self._proc.stdin
        if detached:  # gone from our tree before we may become a subreaper and adopt it back
            self._proc.wait(30)
        return self

    def ensure_started(self) -> Guardian:
        """Start the watchdog unless it runs already: before the first process of a run."""
        return self if self._proc is not None else self.start()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def watch(self, pid: int) -> None:
        info = processes.read_proc(pid)
        if info is not None:
            self._tell(f"{pid} {info.start_time}")

    def remove_if_killed(self, *directories: Path) -> None:
        """Remove these directories (a trial's temporary one, its name starting with
        :data:`TRIAL_TMP_PREFIX`; a service's cgroup, ``coldstart-…``) should the harness die
        before it does."""
        for directory in directories:
            self._tell(_REMOVE + str(directory))

    def _tell(self, line: str) -> None:
        if self._pipe is None:
            return
        with contextlib.suppress(BrokenPipeError, OSError):
            self._pipe.write(f"{line}\n".encode())
            self._pipe.flush()

    def close(self, kill_leftovers: bool = False) -> None:
        """The run ended normally: the guardian leaves without killing anything. With
        ``kill_leftovers`` (the run crashed, its teardown may have failed half-way), it is
        left without a goodbye, as if the harness had died: it kills whatever of the run is
        still alive before it goes."""
        if self._pipe is not None:
            with contextlib.suppress(BrokenPipeError, OSError):
                if not kill_leftovers:
                    self._pipe.write(f"{GOODBYE}\n".encode())
                self._pipe.flush()
            with contextlib.suppress(OSError):
                self._pipe.close()
            self._pipe = None
        if self._proc is not None:
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None

    def __enter__(self) -> Guardian:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# The watchdog's side -----------------------------------------------------------------------


def _same(pid: int, start_time: int, table: dict[int, ProcInfo]) -> bool:
    info = table.get(pid)
    return info is not None and info.alive and info.start_time == start_time


class Spared:
    """What is never the run's to kill: the harness, its ancestors (a shell, pytest, a CI
    job) and its own process group. A helper the harness runs in its own group (the torch
    probe) is still killed by pid, but its group is the caller's, not the run's."""

    def __init__(self, harness: int, table: dict[int, ProcInfo]) -> None:
        self.pids = {os.getpid()}
        self.groups: set[int] = set()
        pid = harness
        while pid > 1 and pid in table and pid not in self.pids:
            self.pids.add(pid)
            pid = table[pid].ppid
        if harness in table:
            self.groups.add(table[harness].pgrp)


def _family(
    known: dict[int, int], table: dict[int, ProcInfo], spared: Spared
) -> dict[int, ProcInfo]:
    """The known processes still alive, their descendants and their process groups, less
    what is ``spared``."""
    alive = {pid for pid, start in known.items() if _same(pid, start, table)}
    family = set(alive)
    for pid in alive:
        family |= processes.descendants(pid, table)
    groups = {table[p].pgrp for p in family if p in table} - spared.groups
    family |= {p for p, info in table.items() if info.pgrp in groups and info.alive}
    family -= spared.pids
    return {p: table[p] for p in family if p in table and table[p].alive}


def _kill_all(known: dict[int, int], spared: Spared) -> None:
    """Kill the run's family by the one policy (:func:`.kill.kill_family`), learning of
    the processes it forks as it dies."""

    def find() -> dict[int, ProcInfo]:
        found = _family(known, processes.scan(), spared)
        known.update({pid: info.start_time for pid, info in found.items()})
        return found

    kill_family(find, wait_s=1.0, pause_s=0.02)


def _remove_trial_dirs(directories: set[str]) -> None:
    for directory in directories:
        path = Path(directory)
        if not path.is_absolute():
            continue
        if path.name.startswith(TRIAL_TMP_PREFIX):
            shutil.rmtree(path, ignore_errors=True)
        elif path.name.startswith(CGROUP_PREFIX) and str(path).startswith(CGROUP_ROOT):
            # a cgroup: rmdir, once its killed processes are gone (busy until then: until
            # reaped, by init or a subreaper, which took 2 s here for a Ray actor's replicas)
            deadline = time.monotonic() + CGROUP_WAIT_S
            while path.exists() and time.monotonic() < deadline:
                with contextlib.suppress(OSError):
                    path.rmdir()
                time.sleep(0.02)


def _adopted(harness: int, since: int, table: dict[int, ProcInfo]) -> dict[int, int]:
    """The harness's children that started since ``since`` (ticks), but this guardian."""
    me = os.getpid()
    return {
        p.pid: p.start_time
        for p in table.values()
        if p.ppid == harness and p.pid != me and p.start_time >= since and p.alive
    }


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the harness decides, not the terminal
    args = sys.argv[1:] if argv is None else argv
    harness = os.getppid()
    if args[:1] == [_DETACH]:
        harness = int(args[1])
        if os.fork():  # the parent goes; the child, adopted, keeps the pipe
            os._exit(0)
    me = processes.read_proc(os.getpid())
    since = me.start_time if me is not None else 0
    spared = Spared(harness, processes.scan())
    known: dict[int, int] = {}
    directories: set[str] = set()
    stdin = sys.stdin.buffer
    buffer = b""
    while True:
        ready, _, _ = select.select([stdin], [], [], SCAN_INTERVAL_S)
        if ready:
            chunk = os.read(stdin.fileno(), 65536)
            if not chunk:  # the harness is gone without saying goodbye
                _kill_all(known, spared)
                _remove_trial_dirs(directories)
                return 0
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                text = line.decode(errors="replace").strip()
                if text == GOODBYE:
                    return 0
                if text.startswith(_REMOVE):
                    directories.add(text.removeprefix(_REMOVE))
                    continue
                with contextlib.suppress(ValueError):
                    pid, start = (int(v) for v in text.split())
                    known[pid] = start
        # remember who belongs to the run while the tree is still intact
        table = processes.scan()
        known.update(_adopted(harness, since, table))
        if known:
            known.update({p: i.start_time for p, i in _family(known, table, spared).items()})


if __name__ == "__main__":
    raise SystemExit(main())
