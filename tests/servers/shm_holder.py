"""A server stand-in that leaves POSIX shared memory the way vLLM's processes do: one
segment it keeps mapped, one it has closed but left registered with multiprocessing's
resource tracker (only the tracker remembers it), and a spawned child, so the tracker runs.
It writes the segments' /dev/shm paths to its first argument and then waits to be stopped;
``--ignore-sigterm`` makes the harness SIGKILL it; ``--raw`` adds a third segment opened and
mapped directly (as torch's C code makes its psm_ files), which no tracker knows."""

from __future__ import annotations

import mmap
import multiprocessing
import os
import signal
import sys
import time
from multiprocessing import shared_memory


def idle() -> None:
    time.sleep(3600)


def main(argv: list[str]) -> int:
    if "--ignore-sigterm" in argv:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    child = multiprocessing.get_context("spawn").Process(target=idle, daemon=True)
    child.start()
    held = shared_memory.SharedMemory(create=True, size=4096)
    remembered = shared_memory.SharedMemory(create=True, size=4096)
    remembered.close()  # unmapped, not unlinked: the tracker unlinks it at the end
    paths = [f"/dev/shm/{held.name}", f"/dev/shm/{remembered.name}"]
    if "--raw" in argv:
        raw = f"/dev/shm/coldstart-test-raw-{os.getpid()}"
        fd = os.open(raw, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
        os.ftruncate(fd, 4096)
        kept = mmap.mmap(fd, 4096)  # noqa: F841 - mapped while the process lives
        paths.append(raw)
    with open(argv[0], "w", encoding="utf-8") as f:
        f.write("".join(p + "\n" for p in paths))
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
