"""The machine's memory."""

from __future__ import annotations


def total_bytes() -> int | None:
    import psutil

    try:
        return int(psutil.virtual_memory().total)
    except (OSError, RuntimeError):
        return None
