"""coldstart-bench: benchmark and profile the cold start of model-serving stacks.

The public Python API mirrors the command line: load a scenario, run it, read a run
back. Heavy modules are imported on first use so that ``import coldstart_bench`` and
``coldstart --help`` stay fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from coldstart_bench._version import __version__

__all__ = [
    "ColdstartError",
    "Executor",
    "LoadedScenario",
    "LocalExecutor",
    "RayExecutor",
    "ResultsNotWritable",
    "RunData",
    "RunDirError",
    "RunObserver",
    "RunOptions",
    "RunOutcome",
    "ScenarioError",
    "SetupError",
    "TrialRecord",
    "__version__",
    "read_run",
    "read_scenario",
    "run_scenario",
]

# name → the module that defines it: what each entry function returns and raises is
# exported beside it.
_LAZY = {
    "ColdstartError": "coldstart_bench.errors",
    "Executor": "coldstart_bench.run.executors",
    "LoadedScenario": "coldstart_bench.scenario.reader",
    "LocalExecutor": "coldstart_bench.run.executors",
    "RayExecutor": "coldstart_bench.run.ray",
    "ResultsNotWritable": "coldstart_bench.errors",
    "RunData": "coldstart_bench.results.store",
    "RunDirError": "coldstart_bench.errors",
    "RunObserver": "coldstart_bench.run.session",
    "RunOptions": "coldstart_bench.run.session",
    "RunOutcome": "coldstart_bench.run.session",
    "ScenarioError": "coldstart_bench.errors",
    "SetupError": "coldstart_bench.run.setup",
    "TrialRecord": "coldstart_bench.results.schema",
    "read_run": "coldstart_bench.results.store",
    "read_scenario": "coldstart_bench.scenario.reader",
    "run_scenario": "coldstart_bench.run.session",
}

if TYPE_CHECKING:  # pragma: no cover
    from coldstart_bench.errors import (
        ColdstartError,
        ResultsNotWritable,
        RunDirError,
        ScenarioError,
    )
    from coldstart_bench.results.schema import TrialRecord
    from coldstart_bench.results.store import RunData, read_run
    from coldstart_bench.run.executors import Executor, LocalExecutor
    from coldstart_bench.run.ray import RayExecutor
    from coldstart_bench.run.session import RunObserver, RunOptions, RunOutcome, run_scenario
    from coldstart_bench.run.setup import SetupError
    from coldstart_bench.scenario.reader import LoadedScenario, read_scenario


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'coldstart_bench' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module_name), name)
