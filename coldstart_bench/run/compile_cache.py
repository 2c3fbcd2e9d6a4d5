"""The ``compile_cache`` factor's directory around one trial.

``cold``: the trial's own directory, empty at spawn and removed after the teardown (a
compile cache is tens to hundreds of MB per trial, and no later trial may read it).
``warm``: one directory for the whole run, which a warm-up trial or a ``setup`` command
fills. Either way the trial records what the directory held at spawn and what the server
added, so a reader can see that a "warm" trial really found a filled cache.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from coldstart_bench.results.schema import CompileCacheState


@dataclass(frozen=True)
class CacheContents:
    files: int
    bytes: int


def contents(directory: Path) -> CacheContents:
    files = nbytes = 0
    for path in directory.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink():
                files += 1
                nbytes += path.stat().st_size
        except OSError:  # the server may be rewriting it
            continue
    return CacheContents(files, nbytes)


def prepare(mode: Literal["cold", "warm"], directory: Path) -> CacheContents:
    """Make the directory exist (empty where cold) and say what it holds before the spawn."""
    if mode == "cold" and directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)
    return contents(directory)


def finish(
    mode: Literal["cold", "warm"], directory: Path, before: CacheContents
) -> CompileCacheState:
    """The record of the cache for this trial; a cold directory is removed."""
    after = contents(directory) if directory.is_dir() else CacheContents(0, 0)
    if mode == "cold":
        shutil.rmtree(directory, ignore_errors=True)
    return CompileCacheState(
        mode=mode,
        dir=str(directory),
        files_at_spawn=before.files,
        bytes_at_spawn=before.bytes,
        files_added=max(after.files - before.files, 0),
        bytes_added=max(after.bytes - before.bytes, 0),
    )


def empty_warm_cache_note(record: CompileCacheState) -> str | None:
    if record.mode == "warm" and record.files_at_spawn == 0:
        return (
            "compile_cache = warm, but its directory was empty at spawn: nothing had filled "
            "it yet (warmup_trials = 1, or a setup command, fills it before the measured trials)"
        )
    return None
