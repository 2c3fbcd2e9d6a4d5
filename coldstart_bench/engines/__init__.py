"""Real engines (vLLM, llama.cpp...), each one folder of this package: its ``__init__``
holds one :class:`~.base.Engine` named ``ENGINE`` — its log-phase preset, the command that
prepares it (a module of the folder), the scenarios under ``scenarios/`` that measure it
and its guide under ``docs/`` — found here by name, so a new engine is its folder, its
scenario and its guide.

Engines import nothing of the harness but :mod:`coldstart_bench.host` (the harness reads
them: a scenario's ``log_phases = "vllm"``, the ``prepare-*`` commands), and a preparation
runs in a process of its own (``python -m coldstart_bench.engines COMMAND``).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping

from coldstart_bench.engines.base import Engine, LogPhasePreset, Preparation, PresetPhase

__all__ = [
    "COMMANDS",
    "ENGINES",
    "PRESETS",
    "Engine",
    "LogPhasePreset",
    "Preparation",
    "PresetPhase",
]


def _discover() -> dict[str, Engine]:
    found: dict[str, Engine] = {}
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module.ispkg:
            engine = importlib.import_module(f"{__name__}.{module.name}").ENGINE
            found[engine.name] = engine
    return found


ENGINES: Mapping[str, Engine] = _discover()
# log_phases presets by name, in the engines' order.
PRESETS: Mapping[str, LogPhasePreset] = {
    e.preset.name: e.preset for e in ENGINES.values() if e.preset is not None
}
# The preparation commands (``coldstart prepare-vllm``) by name.
COMMANDS: Mapping[str, Preparation] = {
    e.preparation.command: e.preparation for e in ENGINES.values() if e.preparation is not None
}
