"""`log_phases`: start-up phases of a server that reports none, read from the lines it
prints (as scenarios/real-llm.toml does for llama-cpp-python's server)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from helpers import run_options, toy_command

from coldstart_bench.run.session import RunOutcome, run_scenario
from coldstart_bench.scenario.reader import read_scenario

# The toy prints each line at the given ms after its start, then listens after 100 ms more.
SAYS = ("--say", "150:loading weights", "--say", "400:weights loaded", "--startup-delay-ms", "100")


def run_toy(
    tmp_path: Path, write_scenario: Callable[..., Path], phases: dict[str, str], repetitions: int
) -> RunOutcome:
    """Run the toy with ``log_phases`` (name → regex, in order)."""
    listed = ", ".join(f'{{ name = "{n}", until = "{p}" }}' for n, p in phases.items())
    path = write_scenario(f"""
        repetitions = {repetitions}
        [[services]]
        command = {toy_command(*SAYS)}
        ready = {{ kind = "http", path = "/health" }}
        log_phases = [{listed}]
        [requests]
        count = 1
        max_tokens = 2
    """)
    return run_scenario(read_scenario(path), run_options(tmp_path / "results"))


def test_each_phase_ends_when_its_line_appears_and_the_next_begins_there(
    tmp_path: Path, write_scenario
):
    phases = {"import": "^loading weights", "model_load": "^weights loaded$"}
    outcome = run_toy(tmp_path, write_scenario, phases, repetitions=2)

    assert [t.status for t in outcome.trials] == ["ok", "ok"]
    for trial in outcome.trials:
        phases = {p.phase: p for p in trial.phases}
        imported, loaded = phases["import"], phases["model_load"]
        spawn_ms = trial.services[0].spawn_ms
        assert imported.start_ms == spawn_ms and loaded.start_ms == imported.end_ms
        # the toy reports when it printed each line: no reader can have seen it earlier
        assert imported.end_ms >= phases["said-0"].end_ms
        assert loaded.end_ms >= phases["said-1"].end_ms
        assert loaded.duration_ms >= 0 and loaded.end_ms <= trial.ready_ms
        # the toy prints each line at a time after its import began (150 and 400 ms), or later
        assert phases["said-0"].duration_ms > 149.99 and phases["said-1"].duration_ms > 399.99
        assert not trial.notes


def test_a_line_that_never_appears_leaves_its_phase_out_with_a_note(tmp_path: Path, write_scenario):
    phases = {
        "import": "^loading weights",
        "compile": "^compiled",
        "model_load": "^weights loaded$",
    }
    outcome = run_toy(tmp_path, write_scenario, phases, repetitions=1)

    (trial,) = outcome.trials
    assert trial.status == "ok"
    phases = {p.phase: p for p in trial.phases}
    assert "compile" not in phases
    assert phases["model_load"].start_ms == phases["import"].end_ms  # the gap is not lost
    assert any("'compile' ('^compiled')" in note for note in trial.notes), trial.notes


def test_a_figure_the_server_prints_is_recorded_beside_the_measured_phase(
    tmp_path: Path, write_scenario
):
    path = write_scenario(f"""
        repetitions = 1
        [[services]]
        command = {toy_command("--say", "100:model initialised", "--say", "350:weights took 0.25 seconds", "--say", "400:engine ready in 40 ms")}
        ready = {{ kind = "http", path = "/health" }}
        log_phases = [
          {{ name = "init", until = "^model initialised" }},
          {{ name = "weights", until = "^weights took (?P<seconds>[0-9.]+) seconds" }},
          {{ name = "engine", until = "^engine ready in (?P<ms>[0-9.]+) ms" }},
        ]
        [requests]
        count = 1
        max_tokens = 2
    """)
    outcome = run_scenario(read_scenario(path), run_options(tmp_path / "results"))

    (trial,) = outcome.trials
    assert trial.status == "ok", trial.error
    phases = {p.phase: p for p in trial.phases}
    assert phases["init"].reported_ms is None
    assert phases["weights"].reported_ms == 250.0
    assert phases["engine"].reported_ms == 40.0
    # ours ends when its line was seen: never before the toy printed it
    assert phases["weights"].end_ms >= phases["said-1"].end_ms
