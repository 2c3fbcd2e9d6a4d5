"""The process table from ``/proc``, so teardown can prove that nothing survived.

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
from pathlib import Path

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
    try:
        return ProcInfo(
            pid=pid,
            ppid=int(fields[1]),
            pgrp=int(fields[2]),
            session=int(fields[3]),
            state=fields[0],
            start_time=int(fields[19]),
            comm=raw[open_paren + 1 : close_paren],
        )
    except (IndexError, ValueError):  # not a process's stat line (a vanished one's remains)
        return None


def cpu_ticks(pid: int) -> tuple[int, int, int, int] | None:
    """A process's user and system time, and its reaped children's, in clock ticks
    (``utime stime cutime cstime`` of ``/proc/PID/stat``); None: no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode("utf-8", "replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = raw[raw.rfind(")") + 2 :].split()
    try:
        return int(fields[11]), int(fields[12]), int(fields[13]), int(fields[14])
    except (IndexError, ValueError):
        return None


def start_ticks(pid: int) -> int | None:
    """When a process started, in clock ticks since boot (None: no such process)."""
    info = read_proc(pid)
    return info.start_time if info is not None else None


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


def living_pids() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except FileNotFoundError:
        return []


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


def boot_id() -> str | None:
    """This boot's identity: a pid and start time mean the same process only within it."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None


def command_line(pid: int) -> bytes:
    """The process's argv as the kernel keeps it (NUL-separated; b"" when unreadable)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def mapped_files(pid: int) -> set[str]:
    """The files the process maps (its ``maps``), as paths; deleted ones left out."""
    found: set[str] = set()
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/maps").read_text(errors="replace").splitlines():
            parts = line.split(maxsplit=5)
            if len(parts) == 6 and parts[5].startswith("/") and not parts[5].endswith(_DELETED):
                found.add(parts[5])
    return found


def open_files(pid: int) -> set[str]:
    """The paths the process has open (its ``fd`` links); deleted ones left out."""
    found: set[str] = set()
    with contextlib.suppress(OSError):
        for fd in os.scandir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(fd.path)
                if target.startswith("/") and not target.endswith(_DELETED):
                    found.add(target)
    return found


_DELETED = " (deleted)"
