"""Helpers for tests: the toy server's command line and process checks."""

from __future__ import annotations

import sys
from pathlib import Path

from coldstart_bench.proc import tree as proctree
from coldstart_bench.run.session import RunOptions

TESTS = Path(__file__).parent
TOY_SERVER = TESTS / "servers" / "toy_server.py"
REPO = TESTS.parent


def toy_command(*flags: str) -> str:
    """A TOML array running the toy server on the trial's port, with extra flags."""
    argv = ["{python}", str(TOY_SERVER), "--port", "{port}", *flags]
    return "[" + ", ".join(f'"{a}"' for a in argv) + "]"


def run_options(results: Path, **overrides: object) -> RunOptions:
    """Options for a test run into ``results``; run.json skips the torch/CUDA probe."""
    return RunOptions(results_dir=results, record_torch=False, **overrides)  # type: ignore[arg-type]


def pids_in(pidfile: Path) -> list[int]:
    if not pidfile.exists():
        return []
    return [int(line) for line in pidfile.read_text().split()]


def alive(pid: int) -> bool:
    info = proctree.read_proc(pid)
    return info is not None and info.alive


def coldstart_argv(*args: str) -> list[str]:
    """``coldstart ARGS`` as a fresh process would run it."""
    return [sys.executable, "-m", "coldstart_bench", *args]


def run_argv(scenario: Path, results: Path, run_id: str, *extra: str) -> list[str]:
    """``coldstart run`` of a scenario into ``results/run_id``, quietly."""
    return coldstart_argv(
        "run", str(scenario), "--results-dir", str(results), "--run-id", run_id, "-q", *extra
    )
