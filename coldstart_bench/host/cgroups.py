"""Control groups: which hierarchy the machine has (cgroup v2's unified one, or v1's
controllers each mounted apart) and the CPU quota this process runs under."""

from __future__ import annotations

import contextlib
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")


def version(root: Path = ROOT) -> int | None:
    """2 where the unified hierarchy is mounted with controllers, 1 where the v1
    controllers are (a hybrid machine with an empty v2 tree counts as 1), None: neither."""
    controllers = root / "cgroup.controllers"
    with contextlib.suppress(OSError):
        if controllers.read_text().split():
            return 2
    if (root / "cpu").exists() or (root / "cpuacct").exists() or (root / "memory").exists():
        return 1
    return 2 if controllers.exists() else None


def own_paths(proc_cgroup: Path = Path("/proc/self/cgroup")) -> dict[str, str]:
    """This process's cgroup in each hierarchy: controller → path ("" for the unified v2
    one), from ``/proc/self/cgroup``."""
    found: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in proc_cgroup.read_text().splitlines():
            _id, controllers, path = line.split(":", 2)
            for controller in controllers.split(",") if controllers else [""]:
                found[controller] = path
    return found


def cpu_quota(root: Path = ROOT, paths: dict[str, str] | None = None) -> float | None:
    """The CPU limit of this process's cgroup in CPUs: cgroup v2's ``cpu.max`` ("quota
    period", or "max"), else v1's ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` (-1: none)."""
    paths = own_paths() if paths is None else paths
    v2 = root / paths.get("", "/").lstrip("/")
    with contextlib.suppress(OSError, ValueError):
        quota, period = (v2 / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else round(int(quota) / int(period), 3)
    own = paths.get("cpu", "/").lstrip("/")
    for mount in (root / "cpu", root / "cpu,cpuacct"):
        with contextlib.suppress(OSError, ValueError):
            quota_us = int((mount / own / "cpu.cfs_quota_us").read_text())
            period_us = int((mount / own / "cpu.cfs_period_us").read_text())
            return None if quota_us <= 0 else round(quota_us / period_us, 3)
    return None
