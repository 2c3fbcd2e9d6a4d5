"""Named baselines: a run's ``run.json`` and ``trials.jsonl`` kept under
``results/baselines/NAME`` for later gates; and what every command that reads a run takes
for one (``RUN``): a run directory, or a saved baseline's name."""

from __future__ import annotations

import shutil
from pathlib import Path

from coldstart_bench.errors import ColdstartError, RunDirError
from coldstart_bench.results.store import RunData, read_run, safe_name

BASELINES_DIR = "baselines"


def baselines_root(results_dir: Path) -> Path:
    return results_dir / BASELINES_DIR


def save_baseline(run_dir: Path, name: str, results_dir: Path) -> Path:
    """Keep a run's ``run.json`` and ``trials.jsonl`` (and its summary) under a name."""
    run = read_run(run_dir)
    target = baselines_root(results_dir) / safe_name(name, fallback="")
    if not safe_name(name, fallback=""):
        raise RunDirError(f"baseline name {name!r} has no usable characters")
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for item in ("run.json", "trials.jsonl", "report/summary.md"):
        source = run.run_dir / item
        if source.exists():
            (tmp / item).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, tmp / item)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return target


def list_baselines(results_dir: Path) -> list[tuple[str, RunData]]:
    root = baselines_root(results_dir)
    found = []
    for path in sorted(root.iterdir()) if root.is_dir() else []:
        if path.is_dir() and not path.name.startswith("."):
            try:
                found.append((path.name, read_run(path)))
            except ColdstartError:
                continue
    return found


def remove_baseline(name: str, results_dir: Path) -> None:
    path = baselines_root(results_dir) / safe_name(name, fallback="-")
    if not path.is_dir():
        raise RunDirError(f"no baseline named {name!r} in {baselines_root(results_dir)}")
    shutil.rmtree(path)


def baseline_exists(ref: str | Path, results_dir: Path) -> bool:
    """Whether ``ref`` names a run directory or a saved baseline (:func:`resolve_run`)."""
    named = baselines_root(results_dir) / safe_name(str(ref), fallback="-")
    return Path(ref).is_dir() or named.is_dir()


def resolve_run(ref: str | Path, results_dir: Path) -> RunData:
    """A run directory, or the name of a saved baseline."""
    return read_run(resolve_run_dir(ref, results_dir))


def resolve_run_dir(ref: str | Path, results_dir: Path) -> Path:
    """The directory of a run directory's path, or of a saved baseline's name."""
    path = Path(ref)
    if path.is_dir():
        return path
    named = baselines_root(results_dir) / safe_name(str(ref), fallback="-")
    if named.is_dir():
        return named
    raise RunDirError(
        f"{ref}: neither a run directory nor a baseline saved in {baselines_root(results_dir)} "
        "(save one with `coldstart baseline save RUN --name NAME`)"
    )
