"""The CPU work and memory of one service's whole process tree, for one trial.

Where it can, a service runs in a control group of its own, made for the trial and removed
after it: every process it starts is counted from its first instruction, escapees included
(a double-forked daemon leaves the session, not the cgroup). cgroup v2 gives CPU time
(``cpu.stat``: user and system, µs) and, where the memory controller is delegated, the
peak memory (``memory.peak``); cgroup v1 gives CPU time from ``cpuacct`` (``usage_user``,
``usage_sys``, ns) and the peak from ``memory`` (``max_usage_in_bytes``). Both peaks count
what the kernel charges the group: anonymous memory *and* the page cache its reads brought
in. Where no cgroup can be made (no permission, a container without delegation), the
process table gives the same figure at 10 ms resolution: user + system time of the living
tree plus what its reaped children had used — less exact (a child reaped by someone else is
lost), and said so (``source``).

A process joins its cgroup by a two-line shell that writes its own pid into the group and
then ``exec``s the command: the pid, and so what the harness watches, stays the same.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from coldstart_bench.host import cgroups, processes

_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
PREFIX = "coldstart-"
# `exec`: the shell becomes the command; it only writes its pid where it is told first.
_JOIN = 'for f in "$@"; do [ "$f" = -- ] && break; echo $$ > "$f" || exit 126; done; '


@dataclass(frozen=True)
class CpuSample:
    """CPU time a tree used so far, in ms, and where the figure came from."""

    user_ms: float
    system_ms: float
    source: str  # "cgroup-v2", "cgroup-v1" or "proc"

    @property
    def total_ms(self) -> float:
        return self.user_ms + self.system_ms


class Group:
    """A cgroup made for one service of one trial (see the module's docstring)."""

    def __init__(self, source: str, cpu: Path, memory: Path | None) -> None:
        self.source = source
        self.cpu_dir = cpu
        self.memory_dir = memory

    @property
    def dirs(self) -> list[Path]:
        return [d for d in (self.cpu_dir, self.memory_dir) if d is not None]

    def wrap(self, argv: list[str]) -> list[str]:
        """``argv`` run inside the group from its first instruction."""
        procs = [str(d / "cgroup.procs") for d in dict.fromkeys(self.dirs)]
        script = f'{_JOIN}shift {len(procs) + 1}; exec "$@"'
        return ["/bin/sh", "-c", script, "sh", *procs, "--", *argv]

    def cpu(self) -> CpuSample | None:
        try:
            if self.source == "cgroup-v2":
                stat = dict(
                    line.split() for line in (self.cpu_dir / "cpu.stat").read_text().splitlines()
                )
                return CpuSample(
                    int(stat["user_usec"]) / 1000, int(stat["system_usec"]) / 1000, self.source
                )
            # usage is exact (ns); its user/system split is counted in scheduler ticks
            total = int((self.cpu_dir / "cpuacct.usage").read_text())
            user = min(int((self.cpu_dir / "cpuacct.usage_user").read_text()), total)
            return CpuSample(user / 1e6, (total - user) / 1e6, self.source)
        except (OSError, KeyError, ValueError):
            return None

    def memory_peak_bytes(self) -> int | None:
        if self.memory_dir is None:
            return None
        name = "memory.peak" if self.source == "cgroup-v2" else "memory.max_usage_in_bytes"
        with contextlib.suppress(OSError, ValueError):
            return int((self.memory_dir / name).read_text().split()[0])
        return None

    def members(self) -> list[int]:
        with contextlib.suppress(OSError, ValueError):
            return [int(p) for p in (self.cpu_dir / "cgroup.procs").read_text().split()]
        return []

    def remove(self, wait_s: float = 1.0) -> bool:
        """Remove the group once its processes are gone (a cgroup holds on while a dying
        process is still counted); False if it could not be removed."""
        deadline = time.monotonic() + wait_s
        for directory in self.dirs:
            while True:
                try:
                    directory.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        return False
                    time.sleep(0.01)
        return True


def make_group(name: str, root: Path = cgroups.ROOT) -> Group | None:
    """A new cgroup named ``coldstart-<harness pid>-<name>`` under this process's own, in
    v2 or in v1's cpuacct (and memory) hierarchies; None where none can be made here."""
    leaf = f"{PREFIX}{os.getpid()}-{name}"
    own = cgroups.own_paths()
    version = cgroups.version(root)
    with contextlib.suppress(OSError):
        if version == 2:
            directory = root / own.get("", "/").lstrip("/") / leaf
            directory.mkdir()
            has_memory = (directory / "memory.peak").exists()
            return Group("cgroup-v2", directory, directory if has_memory else None)
        if version == 1 and (root / "cpuacct").is_dir():
            cpu = root / "cpuacct" / own.get("cpuacct", "/").lstrip("/") / leaf
            cpu.mkdir()
            if not (cpu / "cpuacct.usage_user").exists():
                cpu.rmdir()
                return None
            memory = None
            with contextlib.suppress(OSError):
                memory = root / "memory" / own.get("memory", "/").lstrip("/") / leaf
                memory.mkdir()
            return Group("cgroup-v1", cpu, memory if memory and memory.is_dir() else None)
    return None


def made_groups(root: Path = cgroups.ROOT) -> dict[Path, int]:
    """Every group a harness made beside this one's (``coldstart-<pid>-…``), with the pid
    of the harness that made it."""
    own = cgroups.own_paths()
    parents = [
        root / own.get("", "/").lstrip("/"),
        root / "cpuacct" / own.get("cpuacct", "/").lstrip("/"),
        root / "memory" / own.get("memory", "/").lstrip("/"),
    ]
    found: dict[Path, int] = {}
    for parent in dict.fromkeys(parents):
        with contextlib.suppress(OSError):
            for child in parent.glob(f"{PREFIX}*"):
                pid = child.name.removeprefix(PREFIX).split("-", 1)[0]
                if pid.isdigit() and child.is_dir():
                    found[child] = int(pid)
    return found


def remove_stale(root: Path = cgroups.ROOT) -> list[Path]:
    """Empty groups that a harness no longer alive left (killed before it could remove
    them): removed. Returns them."""
    removed = []
    for group, pid in made_groups(root).items():
        if processes.read_proc(pid) is None:
            with contextlib.suppress(OSError):
                group.rmdir()
                removed.append(group)
    return removed


def proc_cpu(pids: Iterable[int]) -> CpuSample:
    """The process table's figure for a tree: each living process's user + system time
    plus its reaped children's, in clock ticks."""
    user = system = 0
    for pid in pids:
        ticks = processes.cpu_ticks(pid)
        if ticks is not None:
            user += ticks[0] + ticks[2]
            system += ticks[1] + ticks[3]
    return CpuSample(user * 1000 / _CLK_TCK, system * 1000 / _CLK_TCK, "proc")


def peak_rss_bytes(pid: int) -> int | None:
    """The process's own peak resident memory (VmHWM), while it lives."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return None


def storage_read_bytes(pid: int) -> int | None:
    """What the process (and the children it reaped) read from storage: its page-cache
    misses (``read_bytes`` of /proc/PID/io), while it lives."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/io").read_text().splitlines():
            if line.startswith("read_bytes:"):
                return int(line.split()[1])
    return None


def support(root: Path = cgroups.ROOT) -> str:
    """What this machine gives the accounting, in one line (said once, as a run starts)."""
    group = make_group("probe")
    if group is not None:
        how = f"a {group.source} group per service" + (
            "" if group.memory_dir is not None else " (CPU time; no memory controller)"
        )
        group.remove()
    else:
        how = "the process table (no cgroup can be made here: 10 ms ticks)"
    counters = Path("/sys/bus/event_source/devices/cpu").exists()
    instructions = (
        "" if counters else "; instructions retired: not supported here (no hardware counters)"
    )
    return f"CPU work and memory of each service: {how}{instructions}"
