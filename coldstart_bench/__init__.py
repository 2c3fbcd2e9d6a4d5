"""coldstart-bench: benchmark and profile the cold start of model-serving stacks.

The public Python API mirrors the command line: load a scenario, run it, read a run
back. Heavy modules are imported on first use so that ``import coldstart_bench`` and
``coldstart --help`` stay fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "RunOptions",
    "RunOutcome",
    "ScenarioError",
    "__version__",
    "load_run",
    "load_scenario",
    "run_scenario",
]

_LAZY = {
    "RunOptions": "coldstart_bench.runner",
    "RunOutcome": "coldstart_bench.runner",
    "run_scenario": "coldstart_bench.runner",
    "load_scenario": "coldstart_bench.scenario",
    "ScenarioError": "coldstart_bench.errors",
    "load_run": "coldstart_bench.results",
}

if TYPE_CHECKING:  # pragma: no cover
    from coldstart_bench.errors import ScenarioError
    from coldstart_bench.results import load_run
    from coldstart_bench.runner import RunOptions, RunOutcome, run_scenario
    from coldstart_bench.scenario import load_scenario


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'coldstart_bench' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module_name), name)
