"""The one way the harness kills processes — a service's leftovers at teardown, what
escaped a trial (the sweep), and everything of a run whose harness died (the guardian):
SIGKILL what is found, ask again (a dying process may have forked), and multiprocessing's
resource trackers last, so that nothing the killed processes held outlives them either."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Collection, Mapping

from coldstart_bench.host import processes
from coldstart_bench.host.processes import ProcInfo
from coldstart_bench.proc import shm

Finder = Callable[[], Mapping[int, ProcInfo]]


def kill_family(find: Finder, wait_s: float, pause_s: float = 0.002) -> dict[int, ProcInfo]:
    """SIGKILL every living process ``find`` returns, asking it again after each round,
    until it returns none or ``wait_s`` has passed. Resource trackers are spared until
    their clients are gone: then a tracker unlinks the semaphores and shared memory still
    registered with it and exits; it is killed only if it has not within
    :data:`shm.TRACKER_WAIT_S`. What the killed processes mapped or held open in
    ``/dev/shm`` is noted before they die and removed once nobody holds it (see
    :mod:`coldstart_bench.proc.shm`). Returns every process it killed."""
    killed: dict[int, ProcInfo] = {}
    trackers: dict[int, ProcInfo] = {}
    held: set[str] = set()
    deadline = time.monotonic() + wait_s
    while True:
        targets = {pid: info for pid, info in find().items() if info.alive}
        for pid, info in targets.items():
            if pid not in trackers and pid not in killed and shm.is_resource_tracker(pid):
                trackers[pid] = info
        doomed = [info for pid, info in targets.items() if pid not in trackers]
        if not doomed:
            break
        held |= shm.held_by(info.pid for info in doomed if info.pid not in killed)
        for info in doomed:
            killed.setdefault(info.pid, info)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(info.pid, signal.SIGKILL)
        if time.monotonic() > deadline:
            break
        time.sleep(pause_s)
    if trackers:
        _last(trackers, killed)
    shm.remove_orphans(held)
    return killed


def _last(trackers: dict[int, ProcInfo], killed: dict[int, ProcInfo]) -> None:
    """The trackers' turn: the time to clean up after their clients, then SIGKILL."""
    deadline = time.monotonic() + shm.TRACKER_WAIT_S
    while processes.still_alive(trackers.values()) and time.monotonic() < deadline:
        time.sleep(0.01)
    for info in processes.still_alive(trackers.values()):
        killed.setdefault(info.pid, info)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(info.pid, signal.SIGKILL)


def group_and(group: int, known: list[ProcInfo]) -> Finder:
    """A finder for a service's teardown: its process group's members and the ``known``
    processes (escaped ones outside the group), while each is the same process."""

    def find() -> dict[int, ProcInfo]:
        found = {p.pid: p for p in processes.still_alive(known)}
        for info in processes.scan().values():
            if info.pgrp == group and info.alive:
                found.setdefault(info.pid, info)
        return found

    return find


def service_tree(
    pid: int, spawn_ticks: int, other_main_pids: Collection[int]
) -> dict[int, ProcInfo]:
    """A service's processes: its tree (descendants, process group, session), plus orphans
    re-parented to us (we are a subreaper) that started after it — those escaped by
    double-forking — but the main processes of the trial's other services."""
    table = processes.scan()
    tree = processes.related(pid, table)
    me = os.getpid()
    for info in table.values():
        if (
            info.ppid == me
            and info.pid != pid
            and info.pid not in other_main_pids
            and info.start_time >= spawn_ticks - 1
        ):
            tree[info.pid] = info
            for d in processes.descendants(info.pid, table):
                tree[d] = table[d]
    return tree
