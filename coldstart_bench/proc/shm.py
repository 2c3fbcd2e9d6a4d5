"""POSIX shared memory a SIGKILLed server leaves in ``/dev/shm``.

Python's multiprocessing semaphores (``sem.mp-*``) and torch's shared memory (``psm_*``)
are named files that only their owners unlink: on a graceful stop, the process or
multiprocessing's resource tracker does; a SIGKILL of the whole group takes the tracker
along, and the files stay until the machine reboots (vLLM's processes leave three per
start, ~420 MB). So whoever SIGKILLs a trial's processes spares their resource trackers:
once their clients are gone, a tracker unlinks every name still registered with it (some
are held by no process, only remembered by the tracker) and exits; it is killed only if it
has not within :data:`TRACKER_WAIT_S`. What the processes map or hold open (torch's
``psm_*``) is noted just before the kill and removed afterwards if no living process still
holds it — never a file the trial did not hold.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable

from coldstart_bench.host import processes

SHM = "/dev/shm/"
TRACKER_WAIT_S = 2.0
_TRACKER = b"from multiprocessing.resource_tracker import main"


def is_resource_tracker(pid: int) -> bool:
    """Python multiprocessing's resource tracker (``python -c 'from
    multiprocessing.resource_tracker import main; main(fd)'``)."""
    return _TRACKER in processes.command_line(pid)


def held_by(pids: Iterable[int]) -> set[str]:
    """The ``/dev/shm`` files these processes map or have open."""
    held: set[str] = set()
    for pid in pids:
        for path in processes.mapped_files(pid) | processes.open_files(pid):
            if path.startswith(SHM):
                held.add(path)
    return held


def remove_orphans(paths: Iterable[str]) -> list[str]:
    """Unlink those of ``paths`` that no living process holds; returns what was removed."""
    candidates = {p for p in paths if os.path.dirname(p) + "/" == SHM and os.path.exists(p)}
    if not candidates:
        return []
    candidates -= held_by(processes.living_pids())
    removed = []
    for path in sorted(candidates):
        with contextlib.suppress(OSError):
            os.unlink(path)
            removed.append(path)
    return removed
