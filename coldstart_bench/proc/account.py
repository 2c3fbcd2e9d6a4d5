"""What a service's start-up costs in CPU work and memory, for its record: the CPU time of
its whole process tree at ready, at the first token and when it is stopped, and its peak
memory — from a cgroup of its own where one can be made (:mod:`coldstart_bench.host.
accounting`), else from the process table."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field

from coldstart_bench.host import accounting, processes
from coldstart_bench.host.accounting import CpuSample, Group
from coldstart_bench.results.schema import CpuWork

_MIB = 1024 * 1024


@dataclass
class TreeAccount:
    """One service's account for one trial. ``mode``: ``auto`` (a cgroup where one can be
    made, else the process table), ``proc`` (the process table), ``off``."""

    name: str
    mode: str = "auto"
    group: Group | None = None
    pid: int | None = None
    at_ready: CpuSample | None = None
    at_first_token: CpuSample | None = None
    at_stop: CpuSample | None = None
    peak_rss_bytes: int | None = None
    memory_peak_bytes: int | None = None
    read_at_ready: int | None = None  # its main process's page-cache misses until ready
    notes: list[str] = field(default_factory=list)
    closed: bool = False

    def __post_init__(self) -> None:
        if self.mode == "auto":
            self.group = accounting.make_group(self.name)

    @property
    def source(self) -> str | None:
        if self.mode == "off":
            return None
        return self.group.source if self.group is not None else "proc"

    def command(self, argv: list[str], env: Mapping[str, str] | None, cwd: str | None) -> list[str]:
        """``argv`` as spawned: inside the cgroup from its first instruction where there is
        one. Raises :class:`FileNotFoundError` as spawning would where the program is not
        found (the shell that joins the group would only say so in the log)."""
        if self.group is None:
            return argv
        program = argv[0]
        path = (env or os.environ).get("PATH", os.defpath)
        if os.sep in program:
            target = os.path.join(cwd or ".", program)
            if not os.path.exists(target):
                raise FileNotFoundError(program)
            if not os.access(target, os.X_OK):
                raise PermissionError(program)
        elif shutil.which(program, path=path) is None:
            raise FileNotFoundError(program)
        return self.group.wrap(argv)

    def started(self, pid: int) -> None:
        self.pid = pid

    def sample(self) -> CpuSample | None:
        """The tree's CPU time so far."""
        if self.mode == "off" or self.pid is None:
            return None
        if self.group is not None:
            return self.group.cpu()
        tree = processes.related(self.pid, processes.scan())
        return accounting.proc_cpu(tree)

    def ready(self) -> None:
        self.at_ready = self.sample()
        if self.mode != "off" and self.pid is not None:
            self.read_at_ready = accounting.storage_read_bytes(self.pid)

    def first_token(self) -> None:
        self.at_first_token = self.sample()

    def stopping(self) -> None:
        """Just before the stop signal: the whole tree's CPU time and memory peaks."""
        self.at_stop = self.sample()
        if self.mode == "off" or self.pid is None:
            return
        self.peak_rss_bytes = accounting.peak_rss_bytes(self.pid)
        if self.group is not None:
            self.memory_peak_bytes = self.group.memory_peak_bytes()

    def close(self) -> None:
        """After the trial's teardown and sweep: the cgroup removed (its processes are gone
        by then; one that is not is left to the guardian, and noted)."""
        if self.group is None or self.closed:
            return
        self.closed = True
        if not self.group.remove():
            self.notes.append(
                f"service {self.name!r}: its cgroup {self.group.cpu_dir} could not be removed "
                "(a process of it still alive)"
            )

    def work(self) -> CpuWork | None:
        """The record of it (None: not measured)."""
        source = self.source
        if source is None or self.pid is None:
            return None

        def ms(sample: CpuSample | None) -> float | None:
            return None if sample is None else round(sample.total_ms, 3)

        def mib(size: int | None) -> float | None:
            return None if size is None else round(size / _MIB, 2)

        return CpuWork(
            source=source,
            ready_ms=ms(self.at_ready),
            user_ready_ms=None if self.at_ready is None else round(self.at_ready.user_ms, 3),
            first_token_ms=ms(self.at_first_token),
            total_ms=ms(self.at_stop),
            peak_rss_mib=mib(self.peak_rss_bytes),
            memory_peak_mib=mib(self.memory_peak_bytes),
            read_mib_ready=mib(self.read_at_ready),
        )
