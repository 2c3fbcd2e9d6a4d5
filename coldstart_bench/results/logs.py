"""The service logs a run keeps: capped after each trial, so that a flooding server cannot
fill the disk, and their last lines read back for error messages and reports."""

from __future__ import annotations

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


def cap_log(path: Path, limit: int = LOG_LIMIT_BYTES) -> int:
    """Shorten a log over ``limit`` bytes to its first and last ``limit // 2`` bytes with
    a note in between, in place, in bounded memory. Returns the bytes dropped."""
    try:
        size = path.stat().st_size
    except OSError:
        return 0
    if size <= limit:
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
