"""Put files in or out of the OS page cache before a spawn, and check that it worked.

``cold`` asks the kernel to drop the files' clean pages (``posix_fadvise(DONTNEED)``,
no root needed); ``warm`` reads them through once. ``resident_fraction`` asks the kernel
(``mincore``) how much of a file is cached, so a trial records the state it really had.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import mmap
import os
from collections.abc import Iterable
from pathlib import Path

_READ_CHUNK = 8 << 20


class PageCacheError(Exception):
    pass


def expand(patterns: Iterable[str]) -> list[Path]:
    """Files named by paths or glob patterns; a pattern that matches nothing is an error."""
    files: list[Path] = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern, recursive=True))
        if not matches:
            raise PageCacheError(f"page_cache: no file matches {pattern!r}")
        for match in matches:
            path = Path(match)
            if path.is_dir():
                files.extend(p for p in sorted(path.rglob("*")) if p.is_file())
            else:
                files.append(path)
    return files


def evict(files: Iterable[Path]) -> int:
    total = 0
    for path in files:
        fd = os.open(path, os.O_RDONLY)
        try:
            # Dirty pages cannot be dropped; write them back first.
            with contextlib.suppress(OSError):
                os.fdatasync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            total += os.fstat(fd).st_size
        finally:
            os.close(fd)
    return total


def warm(files: Iterable[Path]) -> int:
    total = 0
    buffer = bytearray(_READ_CHUNK)
    for path in files:
        with open(path, "rb", buffering=0) as f:
            while n := f.readinto(buffer):
                total += n
    return total


def resident_fraction(files: Iterable[Path]) -> float | None:
    """Share of the files' pages that are in the page cache (0..1), or None if unknown."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_long,
    ]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_ubyte)]
    page = mmap.PAGESIZE
    resident = pages = 0
    for path in files:
        size = os.path.getsize(path)
        if size == 0:
            continue
        count = (size + page - 1) // page
        fd = os.open(path, os.O_RDONLY)
        try:
            addr = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
            if addr in (None, ctypes.c_void_p(-1).value):
                return None
            try:
                vec = (ctypes.c_ubyte * count)()
                if libc.mincore(addr, size, vec) != 0:
                    return None
                resident += sum(b & 1 for b in vec)
                pages += count
            finally:
                libc.munmap(addr, size)
        finally:
            os.close(fd)
    return resident / pages if pages else None
