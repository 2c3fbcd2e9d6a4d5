"""The service logs a run keeps: capped while the server runs and after each trial, so that
a flooding server cannot fill the disk, and their last lines read back for error messages
and reports."""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
from pathlib import Path

LOG_CHUNK_BYTES = 1 << 20
LOG_LIMIT_BYTES = 8 << 20
LOG_TAIL_LINES = 15
LOG_TAIL_BYTES = 4096


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last lines of a log file, for error messages."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - LOG_TAIL_BYTES))
            data = f.read()
    except OSError:
        return ""
    text = data.decode("utf-8", "replace").rstrip()
    return "\n".join(text.splitlines()[-lines:])


def _size_over(path: Path, limit: int) -> int | None:
    """The size of a log that is over ``limit`` bytes; None for one within it (or gone)."""
    try:
        size = path.stat().st_size
    except OSError:
        return None
    return size if size > limit else None


def cap_log(path: Path, limit: int = LOG_LIMIT_BYTES) -> int:
    """Shorten a log over ``limit`` bytes to its first and last ``limit // 2`` bytes with
    a note in between, in place, in bounded memory. Returns the bytes dropped."""
    size = _size_over(path, limit)
    if size is None:
        return 0
    half = limit // 2
    dropped = size - 2 * half
    note = (
        f"\n[... coldstart: {dropped:,} bytes of output dropped here; logs are capped at "
        f"{limit:,} bytes per service and trial ...]\n"
    ).encode()
    tmp = path.with_name(path.name + ".capped")
    try:
        with open(path, "rb") as src, open(tmp, "wb") as dst:
            dst.write(src.read(half))
            dst.write(note)
            src.seek(size - half)
            while chunk := src.read(LOG_CHUNK_BYTES):
                dst.write(chunk)
        os.replace(tmp, path)
    except BaseException:  # a full disk, most likely: the log stays as it was
        tmp.unlink(missing_ok=True)
        raise
    return dropped


_PUNCH_HOLE = 0x01 | 0x02  # FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE
_BLOCK = 1 << 16  # punched ranges are aligned to this (a multiple of any file system's block)
_libc: ctypes.CDLL | None = None


def punch_middle(path: Path, limit: int = LOG_LIMIT_BYTES, upto: int | None = None) -> int:
    """Free, in place and while the server still appends to it, the disk space of a log's
    middle beyond ``limit``: the first and last ``limit // 2`` bytes stay, the rest becomes
    a hole (it reads as zeros until :func:`cap_log` drops it); never past ``upto``, what
    the log's readers have read. No copy, so it works on a full disk. Returns the bytes
    freed now; 0 where the file system cannot punch holes."""
    global _libc
    size = _size_over(path, limit)
    if size is None:
        return 0
    half = limit // 2
    start = -(-half // _BLOCK) * _BLOCK
    end = (min(size - half, size if upto is None else upto)) // _BLOCK * _BLOCK
    if end <= start:
        return 0
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        _libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    try:
        fd = os.open(path, os.O_WRONLY)
    except OSError:
        return 0
    try:
        if _libc.fallocate(fd, _PUNCH_HOLE, start, end - start) != 0:
            code = ctypes.get_errno()
            if code in (errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
                return 0
            raise OSError(code, os.strerror(code), str(path))
    finally:
        os.close(fd)
    return end - start
