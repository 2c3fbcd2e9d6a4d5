"""Where generated models and prepared server environments live between runs: one place
that the harness (``{cache_dir}``) and the engines' preparation commands (``coldstart
prepare-vllm``) agree on."""

from __future__ import annotations

import os
from pathlib import Path


def default_cache_dir() -> Path:
    """$COLDSTART_CACHE_DIR, else $XDG_CACHE_HOME/coldstart-bench, else
    ~/.cache/coldstart-bench."""
    explicit = os.environ.get("COLDSTART_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "coldstart-bench"
