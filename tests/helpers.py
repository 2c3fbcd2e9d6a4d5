"""Helpers for tests: scenario files, the toy server's command line, process checks."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

from coldstart_bench.host import processes
from coldstart_bench.results.schema import SCHEMA_VERSION, TrialRecord
from coldstart_bench.run.session import RunOptions

TESTS = Path(__file__).parent
TOY_SERVER = TESTS / "servers" / "toy_server.py"
REPO = TESTS.parent

# The ``toy`` fixture: start a toy server with these flags, get its port.
Server = Callable[..., int]


def toy_command(*flags: str) -> str:
    """A TOML array running the toy server on the trial's port, with extra flags."""
    argv = ["{python}", str(TOY_SERVER), "--port", "{port}", *flags]
    return "[" + ", ".join(f'"{a}"' for a in argv) + "]"


def run_options(results: Path, **overrides: object) -> RunOptions:
    """Options for a test run into ``results``: run.json skips the torch/CUDA probe, trials
    skip the machine calibration (tests of it ask for it)."""
    settings: dict[str, object] = {"record_torch": False, "calibrate": False, **overrides}
    return RunOptions(results_dir=results, **settings)  # type: ignore[arg-type]


def pids_in(pidfile: Path) -> list[int]:
    if not pidfile.exists():
        return []
    return [int(line) for line in pidfile.read_text().split()]


def alive(pid: int) -> bool:
    info = processes.read_proc(pid)
    return info is not None and info.alive


def coldstart_argv(*args: str) -> list[str]:
    """``coldstart ARGS`` as a fresh process would run it."""
    return [sys.executable, "-m", "coldstart_bench", *args]


def run_argv(scenario: Path, results: Path, run_id: str, *extra: str) -> list[str]:
    """``coldstart run`` of a scenario into ``results/run_id``, quietly."""
    return coldstart_argv(
        "run", str(scenario), "--results-dir", str(results), "--run-id", run_id, "-q", *extra
    )


def toml_value(value: object) -> str:
    """A Python value as TOML: strings quoted, lists, inline tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML for {value!r}")


def scenario_text(
    *,
    services: list[dict[str, object]],
    matrix: dict[str, list[object]] | None = None,
    requests: dict[str, object] | None = None,
    extra: str = "",
    **top: object,
) -> str:
    """A scenario file: top-level keys, ``[matrix]``, each ``[[services]]``, ``[requests]``,
    then any ``extra`` TOML tables as written."""
    lines = [f"{k} = {toml_value(v)}" for k, v in top.items()]
    if matrix:
        lines += ["[matrix]", *(f"{k} = {toml_value(v)}" for k, v in matrix.items())]
    for service in services:
        lines += ["[[services]]", *(f"{k} = {toml_value(v)}" for k, v in service.items())]
    if requests is not None:
        lines += ["[requests]", *(f"{k} = {toml_value(v)}" for k, v in requests.items())]
    return "\n".join(lines) + "\n" + textwrap.dedent(extra)


def toy_scenario(*flags: str, ready: dict[str, object] | None = None, **keys: object) -> str:
    """A scenario of one toy server (started with ``flags``); ``keys`` as
    :func:`scenario_text` takes them."""
    service: dict[str, object] = {
        "command": ["{python}", str(TOY_SERVER), "--port", "{port}", *flags]
    }
    if ready is not None:
        service["ready"] = ready
    return scenario_text(services=[service], **keys)  # type: ignore[arg-type]


def record(index: int, **fields: object) -> TrialRecord:
    """A minimal ok trial record, number ``index`` of run "r"; ``fields`` set the rest."""
    identity: dict[str, object] = {
        "schema_version": SCHEMA_VERSION, "run_id": "r", "trial": index, "variant": "default",
        "factors": {}, "repetition": index, "warmup": False, "status": "ok",
        "started_at": "2026-01-01T00:00:00+00:00", "t0_ns": 1,
    }  # fmt: skip
    return TrialRecord(**{**identity, **fields})  # type: ignore[arg-type]
