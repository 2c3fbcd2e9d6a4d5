"""The CPUs this process may run on. A module of its own, importing nothing, because both
the plan (the ``{cpus}`` a template shows outside a run) and the run (what it measures of
its machine) need it, and neither may import the other's stage."""

from __future__ import annotations

import os


def affinity_cpus() -> int:
    """CPUs in this process's affinity mask (every CPU where the platform has no mask)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
