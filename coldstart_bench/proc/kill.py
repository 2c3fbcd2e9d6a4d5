"""The last resort of a teardown: SIGKILL what is left of a service, so that nothing it
held outlives it either."""

from __future__ import annotations

import contextlib
import os
import signal
import time

from coldstart_bench.proc import shm
from coldstart_bench.proc import tree as proctree


def kill_leftovers(group: int, leftovers: list[proctree.ProcInfo], wait_s: float) -> None:
    """SIGKILL ``leftovers`` and process group ``group``, multiprocessing's resource
    trackers last: given their clients' end, they unlink the semaphores and shared memory
    still registered with them; what the killed processes mapped or held open is removed
    once nobody holds it (see :mod:`coldstart_bench.proc.shm`). Waits up to ``wait_s`` for
    them to die (plus the trackers' time to clean up)."""
    held = shm.held_by(p.pid for p in leftovers)
    trackers = [p for p in leftovers if shm.is_resource_tracker(p.pid)]
    for info in leftovers:
        if info not in trackers:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(info.pid, signal.SIGKILL)
    deadline = time.perf_counter_ns() + int(wait_s * 1e9)
    if trackers:
        deadline += int(shm.TRACKER_WAIT_S * 1e9)
    while proctree.still_alive(leftovers) and time.perf_counter_ns() < deadline:
        time.sleep(0.002)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)
    for info in proctree.still_alive(trackers):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(info.pid, signal.SIGKILL)
    kill_deadline = time.perf_counter_ns() + int(wait_s * 1e9)
    while proctree.still_alive(leftovers) and time.perf_counter_ns() < kill_deadline:
        time.sleep(0.002)
    shm.remove_orphans(held)
