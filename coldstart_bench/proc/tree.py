"""Process-tree facts read from ``/proc``, so teardown can prove that nothing survived.

A process is identified by ``(pid, start time)`` so that a recycled pid is never taken
for the process we meant.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass

_PR_SET_CHILD_SUBREAPER = 36
_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True, slots=True)
class ProcInfo:
    pid: int
    ppid: int
    pgrp: int
    session: int
    state: str
    start_time: int  # clock ticks since boot; with pid, a unique identity
    comm: str

    @property
    def alive(self) -> bool:
        return self.state not in ("Z", "X")


def read_proc(pid: int) -> ProcInfo | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode("utf-8", "replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # comm is in parentheses and may itself contain spaces or ')'.
    open_paren, close_paren = raw.find("("), raw.rfind(")")
    fields = raw[close_paren + 2 :].split()
    return ProcInfo(
        pid=pid,
        ppid=int(fields[1]),
        pgrp=int(fields[2]),
        session=int(fields[3]),
        state=fields[0],
        start_time=int(fields[19]),
        comm=raw[open_paren + 1 : close_paren],
    )


def scan() -> dict[int, ProcInfo]:
    """Every process visible in ``/proc`` right now."""
    table: dict[int, ProcInfo] = {}
    try:
        entries = os.listdir("/proc")
    except FileNotFoundError:  # not Linux: nothing to see
        return table
    for entry in entries:
        if entry.isdigit():
            info = read_proc(int(entry))
            if info is not None:
                table[info.pid] = info
    return table


def descendants(root: int, table: dict[int, ProcInfo]) -> set[int]:
    children: dict[int, list[int]] = {}
    for info in table.values():
        children.setdefault(info.ppid, []).append(info.pid)
    found: set[int] = set()
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def related(root: int, table: dict[int, ProcInfo]) -> dict[int, ProcInfo]:
    """The process tree of ``root``: its descendants plus every member of its process group
    or session (a service is started as the leader of a new session, so its pid is both)."""
    pids = descendants(root, table)
    pids |= {p.pid for p in table.values() if p.pgrp == root or p.session == root}
    pids.add(root)
    return {pid: table[pid] for pid in pids if pid in table}


def still_alive(known: Iterable[ProcInfo]) -> list[ProcInfo]:
    """Those of ``known`` that still exist as the same process and are not zombies."""
    alive = []
    for info in known:
        now = read_proc(info.pid)
        if now is not None and now.start_time == info.start_time and now.alive:
            alive.append(now)
    return alive


def become_subreaper() -> bool:
    """Make orphaned descendants re-parent to this process instead of init, so a child that
    double-forks out of its session is still found (and reaped) by teardown."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def reap(pids: Iterable[int]) -> None:
    """Collect the exit status of adopted processes so they do not linger as zombies."""
    for pid in pids:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def boot_ticks() -> int:
    """Now, in the clock ticks that ``/proc/PID/stat`` gives a start time in."""
    return int(time.clock_gettime(time.CLOCK_BOOTTIME) * _CLK_TCK)
