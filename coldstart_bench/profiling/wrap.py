"""The scenario with its measured service wrapped for one profiler: py-spy and
pyinstrument started in front of the server's own command, or ``-X importtime`` set in its
environment. Each trial writes its own artifact (``profiles/NAME.{trial}.SUFFIX``)."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from coldstart_bench.results.schema import TrialRecord
from coldstart_bench.scenario.reader import LoadedScenario

PY_SPY_RATE = 250  # samples per second


def find_tool(name: str) -> str | None:
    """A profiler's executable: the one installed beside the running interpreter first (a
    venv that is not activated, a pipx install), then the one on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)


def _literal(path: Path) -> str:
    """A path as a scenario string: braces escaped so templating leaves it alone."""
    return str(path).replace("{", "{{").replace("}", "}}")


def _is_python(program: str) -> bool:
    name = os.path.basename(program)
    return program == "{python}" or re.fullmatch(r"python[0-9.]*", name) is not None


def pyinstrument_argv(argv: Sequence[str], session_file: str) -> list[str] | None:
    """The command run under pyinstrument, or None for a target that is not Python.
    ``session_file`` is a scenario string (it may hold ``{trial}``)."""
    if not argv or not _is_python(argv[0]) or len(argv) < 2:
        return None
    rest = list(argv[1:])
    if rest[0] != "-m" and not rest[0].endswith(".py"):
        return None
    head = [argv[0], "-m", "pyinstrument", "-r", "pyisession", "-o", session_file]
    return head + rest


def _per_trial(profiles: Path, stem: str, suffix: str) -> str:
    """A scenario string naming one artifact per trial: profiles/STEM.{trial}.SUFFIX."""
    return _literal(profiles / stem) + ".{trial}." + suffix


def trial_file(profiles: Path, stem: str, suffix: str, trial: TrialRecord) -> Path:
    return profiles / f"{stem}.{trial.trial}.{suffix}"


def profiled_scenario(
    loaded: LoadedScenario, profiler: str | None, profiles: Path, until: str
) -> LoadedScenario | str:
    """The scenario with its measured service wrapped for ``profiler``; a string says why
    it cannot be done."""
    scenario = loaded.scenario
    measured = scenario.measured_service
    service = measured.model_copy()
    if profiler == "py-spy":
        py_spy = find_tool("py-spy")
        if py_spy is None:
            return "py-spy is not installed (pip install py-spy)"
        service = service.model_copy(
            update={
                "command": [
                    py_spy,
                    "record",
                    "-f",
                    "raw",
                    "-o",
                    _per_trial(profiles, "py-spy", "raw.txt"),
                    "--rate",
                    str(PY_SPY_RATE),
                    "--subprocesses",
                    "--",
                    *service.command,
                ],
                "stop_signal": "SIGINT",  # py-spy writes its output on SIGINT
                "stop_grace_s": 30.0,
            }
        )
    elif profiler == "pyinstrument":
        argv = pyinstrument_argv(
            service.command, _per_trial(profiles, "pyinstrument", "pyisession")
        )
        if argv is None:
            return (
                f"pyinstrument profiles Python programs started as 'python -m MODULE' or "
                f"'python SCRIPT.py'; service {service.name!r} runs {service.command[0]!r}"
            )
        service = service.model_copy(
            update={"command": argv, "stop_signal": "SIGINT", "stop_grace_s": 30.0}
        )
    elif profiler == "importtime":
        service = service.model_copy(
            update={"env": {**service.env, "PYTHONPROFILEIMPORTTIME": "1"}}
        )
    services = [service if s.name == measured.name else s for s in scenario.services]
    requests = scenario.requests
    if requests is not None:
        if until == "ready":
            requests = requests.model_copy(update={"count": 0})
        else:
            updates: dict[str, object] = {"count": 1}
            if requests.kind != "http":
                updates["max_tokens"] = 1
            requests = requests.model_copy(update=updates)
    new = scenario.model_copy(
        update={"services": services, "requests": requests, "warmup_trials": 0}
    )
    return dataclasses.replace(loaded, scenario=new)
