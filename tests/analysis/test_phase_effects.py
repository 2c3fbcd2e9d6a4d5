"""Factor effects on start-up phases: a toggle that moves one phase is found there, even
when the whole cold start is too noisy to show it."""

from __future__ import annotations

import dataclasses

import pytest
from test_analysis import trial

from coldstart_bench.analysis.effects import declared_levels, factor_effects
from coldstart_bench.analysis.frames import trials_frame
from coldstart_bench.analysis.phase_effects import (
    phase_durations,
    phase_effects,
    trials_with_phases,
)
from coldstart_bench.results.schema import PhaseRecord, ServiceRecord, TrialRecord


def phases(load_ms: float, import_ms: float, service: str = "llm") -> tuple[PhaseRecord, ...]:
    return (
        PhaseRecord(service, "import", 0.0, import_ms),
        PhaseRecord(service, "model_load", import_ms, import_ms + load_ms),
    )


def page_cache_run() -> list[TrialRecord]:
    """Warm page cache: model_load 80 vs 120 ms; the import phase and the cold TTFT swing
    by ±100 ms either way, hiding the 40 ms."""
    trials = []
    imports = [400, 600, 450, 550, 500, 420, 580]
    for i, imp in enumerate(imports):
        for level, load in (("cold", 120 + i), ("warm", 80 + i)):
            noise = imports[(i + 3) % len(imports)] if level == "warm" else imp
            cold_ttft = noise + load + 200
            trials.append(
                trial(len(trials), {"page_cache": level}, cold_ttft, phases=phases(load, noise))
            )
    return trials


def test_a_toggle_that_moves_one_phase_is_clear_on_that_phase_only():
    trials = page_cache_run()

    effects = {e.metric: e for e in phase_effects(trials_with_phases(trials))}

    load = effects["phase:model_load"]
    assert (load.factor, load.baseline, load.treatment) == ("page_cache", "cold", "warm")
    assert load.finding and load.ratio == pytest.approx(83 / 123, rel=0.02)
    assert load.sentence().startswith("page_cache=warm (vs cold): the model_load phase 33 % lower")
    assert not effects["phase:import"].clear
    whole = {e.metric: e for e in factor_effects(trials_frame(trials))}
    assert not whole["cold_ttft_ms"].clear  # the same 40 ms, lost in the import noise


def services(*names: str) -> tuple[ServiceRecord, ...]:
    return tuple(ServiceRecord(name=n, status="ok") for n in names)


def test_phases_of_two_services_are_told_apart_and_a_restart_is_left_out():
    one = trial(0, {"cache": "off"}, 900, phases=phases(100, 500) + phases(10, 50, "gateway"))
    one = dataclasses.replace(one, services=services("llm", "gateway"))
    restarted = phases(300, 700, "llm (restart 1)")
    two = trial(1, {"cache": "off"}, 900, phases=phases(90, 480) + restarted)
    two = dataclasses.replace(two, services=services("llm"))

    frame = phase_durations([one, two]).set_index("trial")

    assert frame.loc[0, "phase:llm/model_load"] == 100
    assert frame.loc[0, "phase:gateway/model_load"] == 10
    assert frame.loc[1, "phase:llm/model_load"] == 90  # not the restarted instance's 300
    assert "phase:llm (restart 1)/model_load" not in frame


def test_a_run_without_phases_has_no_phase_effects():
    trials = [trial(i, {"warmup": ("none", "startup")[i % 2]}, 1000 + i) for i in range(8)]
    assert phase_effects(trials_with_phases(trials), declared_levels([])) == []


def test_the_intervals_hold_together_for_all_phase_comparisons():
    # 2 phases × 1 treatment level = 2 comparisons: each interval at 1 − 0.05 / 2
    effects = phase_effects(trials_with_phases(page_cache_run()))

    assert len(effects) == 2
    assert all(e.confidence == pytest.approx(0.975) for e in effects)
    assert all("[97.5 % CI " in e.sentence() for e in effects)
    # the same comparison read alone, at 95 %, is narrower
    alone = factor_effects(phase_durations(page_cache_run()), metrics=["phase:model_load"])
    [together] = [e for e in effects if e.metric == "phase:model_load"]
    assert alone[0].ci_high - alone[0].ci_low < together.ci_high - together.ci_low
