"""The CPUs: how many this process may use (affinity within a cgroup quota), how busy they
are (system-wide CPU times, psutil), their clock and model."""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from coldstart_bench.host import cgroups


def affinity_cpus() -> int:
    """CPUs in this process's affinity mask (every CPU where the platform has no mask)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity), within the cgroup's CPU quota."""
    cpus = affinity_cpus()
    quota = cgroups.cpu_quota()
    return max(1, min(cpus, round(quota))) if quota else cpus


@dataclass(frozen=True)
class CpuTimes:
    """All CPUs' time since boot, in seconds: the total, idle (incl. iowait) and stolen."""

    total: float
    idle: float
    steal: float


def cpu_times() -> CpuTimes | None:
    """All CPUs' times now (None where the platform cannot say)."""
    import psutil

    try:
        t = psutil.cpu_times()
    except (OSError, RuntimeError):
        return None
    # guest time is inside user and nice already
    total = sum(getattr(t, f, 0.0) for f in _COUNTED)
    idle = t.idle + getattr(t, "iowait", 0.0)
    return CpuTimes(total, idle, getattr(t, "steal", 0.0))


_COUNTED = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


def shares(start: CpuTimes | None, end: CpuTimes | None) -> tuple[float, float] | None:
    """(busy, stolen) share of all CPUs' time between two readings (None: unreadable)."""
    if start is None or end is None or end.total <= start.total:
        return None
    spent = end.total - start.total
    return 1 - (end.idle - start.idle) / spent, (end.steal - start.steal) / spent


def busy_share(sample_s: float) -> float | None:
    """The share of all CPUs' time not idle over the next ``sample_s`` (None: unreadable)."""
    start = cpu_times()
    time.sleep(sample_s)
    measured = shares(start, cpu_times())
    return None if measured is None else round(measured[0], 3)


def cpu_mhz(cpuinfo: Path = Path("/proc/cpuinfo")) -> float | None:
    """The mean clock of the CPUs now, as the kernel reports it."""
    with contextlib.suppress(OSError, ValueError):
        clocks = [
            float(line.split(":", 1)[1])
            for line in cpuinfo.read_text(errors="replace").splitlines()
            if line.lower().startswith("cpu mhz")
        ]
        return round(statistics.fmean(clocks), 1) if clocks else None
    return None


def cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def load_average() -> tuple[float, float, float] | None:
    return os.getloadavg() if hasattr(os, "getloadavg") else None
