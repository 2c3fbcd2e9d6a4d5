"""GPUs as the NVIDIA driver lists them (no CUDA library loaded to ask)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

_NVIDIA = Path("/proc/driver/nvidia/gpus")


def nvidia_gpus(root: Path = _NVIDIA) -> tuple[str, ...]:
    """Each GPU's model name, in the driver's order (none without the driver)."""
    gpus: list[str] = []
    if not root.is_dir():
        return ()
    for entry in sorted(os.listdir(root)):
        with contextlib.suppress(OSError):
            text = (root / entry / "information").read_text(encoding="utf-8")
            gpus += [
                line.split(":", 1)[1].strip()
                for line in text.splitlines()
                if line.startswith("Model:")
            ]
    return tuple(gpus)
