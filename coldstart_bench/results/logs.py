"""Reading the service logs a run keeps: their last lines, for error messages and reports."""

from __future__ import annotations

import os
from pathlib import Path

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
