"""Each engine is one folder of coldstart_bench/engines/: found by name, with its preset,
its preparation, and the scenarios and guide it names."""

from __future__ import annotations

from pathlib import Path

import pytest

from coldstart_bench.engines import COMMANDS, ENGINES, PRESETS
from coldstart_bench.scenario.reader import read_scenario

REPO = Path(__file__).resolve().parents[2]


def test_every_engine_folder_is_found_with_its_preset_and_preparation():
    assert {"vllm", "llama.cpp"} <= set(ENGINES)
    assert PRESETS["vllm"] is ENGINES["vllm"].preset
    assert COMMANDS["prepare-vllm"].module == "coldstart_bench.engines.vllm.prepare"


@pytest.mark.parametrize("engine", list(ENGINES.values()), ids=lambda e: e.name)
def test_an_engine_names_scenarios_that_use_its_preset_and_a_guide_that_exists(engine):
    assert (REPO / "docs" / engine.guide).is_file()
    assert engine.scenarios
    for name in engine.scenarios:
        path = REPO / "scenarios" / name
        read_scenario(path)  # valid
        if engine.preset is not None:
            assert f'log_phases = "{engine.preset.name}"' in path.read_text(), name
