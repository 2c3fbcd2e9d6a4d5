"""`coldstart run --sequential`: the run stops once its group-sequential test has decided,
and `coldstart gate` on it replays the same looks to the same verdict at the same round."""

from __future__ import annotations

import json
import random
from pathlib import Path

from helpers import run_options, scenario_text
from typer.testing import CliRunner

from coldstart_bench import read_run
from coldstart_bench.cli.app import app
from coldstart_bench.gate.evaluate import settings_from_table
from coldstart_bench.gate.sequential import SequentialDesign, SequentialStop, design_of, judge
from coldstart_bench.plan.order import TrialSpec
from coldstart_bench.run.fake import FakeExecutor
from coldstart_bench.run.session import run_scenario
from coldstart_bench.scenario.reader import parse_scenario

GATE = {"factor": "build", "baseline_level": "base", "metrics": ["cold_ttft_ms"]}


def ab(tmp_path: Path, slowdown: float, rounds: int = 20, failure=None):  # type: ignore[no-untyped-def]
    """A sequential A/B run on the fake executor: cold TTFTs around 1,000 ms with ±3 %
    noise (seeded by trial), the candidate ``slowdown`` slower; ``failure(trial)`` the
    reason a trial fails (None: it does not)."""
    text = scenario_text(
        repetitions=rounds,
        seed=3,
        services=[{"command": ["true"]}],
        matrix={"build": ["base", "candidate"]},
        extra='[gate]\nfactor = "build"\nbaseline_level = "base"\nmetrics = ["cold_ttft_ms"]\n',
    )
    loaded = parse_scenario(text, path=tmp_path / "ab.toml")

    def cold_ttft(trial: TrialSpec) -> float:
        value = 1000.0 * random.Random(trial.index).uniform(0.97, 1.03)
        return value * (1 + slowdown if trial.variant.factors["build"] == "candidate" else 1)

    design = SequentialDesign("build", "base", rounds)
    stop = SequentialStop(design, settings_from_table(GATE, {}), GATE)
    executor = FakeExecutor(cold_ttft_ms=cold_ttft, failure=failure or (lambda _t: None))
    return run_scenario(loaded, run_options(tmp_path, executor=executor, stop_rule=stop))


def test_a_clear_regression_stops_the_run_early_and_the_gate_agrees(tmp_path: Path):
    outcome = ab(tmp_path, slowdown=0.25)
    assert outcome.stopped_early is not None and "fail, decided" in outcome.stopped_early
    measured = [t for t in outcome.trials if not t.warmup]
    assert len(measured) < 40  # fewer than the 20 rounds it was allowed
    run = read_run(outcome.run_dir)
    meta = json.loads((outcome.run_dir / "run.json").read_text())
    assert meta["stop_rule"]["kind"] == "sequential-ab" and meta["stopped_early"]
    design = design_of(run)
    assert design is not None and design.last_round == 20
    verdict = judge(run, design, settings_from_table(GATE, {}))
    assert verdict.decided and verdict.round == len(measured) // 2
    result = CliRunner().invoke(app, ["gate", str(outcome.run_dir)])
    assert result.exit_code == 1, result.output
    assert f"fail, decided at round {verdict.round} of at most 20" in result.output


def test_no_difference_stops_for_no_regression(tmp_path: Path):
    outcome = ab(tmp_path, slowdown=0.0)
    assert outcome.stopped_early is not None
    result = CliRunner().invoke(app, ["gate", str(outcome.run_dir)])
    assert result.exit_code == 0, result.output
    assert "pass, decided at round" in result.output


def test_a_sequential_run_is_judged_with_the_settings_that_stopped_it(tmp_path: Path):
    outcome = ab(tmp_path, slowdown=0.25)
    changed = CliRunner().invoke(app, ["gate", str(outcome.run_dir), "--max-regression", "50%"])
    assert changed.exit_code == 2 and "judged with the [gate] settings" in changed.output


def test_sequential_needs_a_gate_factor_and_runs_here(tmp_path: Path, write_scenario):
    path = write_scenario('[[services]]\ncommand = ["true"]\n')
    result = CliRunner().invoke(
        app, ["run", str(path), "--sequential", "--results-dir", str(tmp_path / "r")]
    )
    assert result.exit_code == 2 and "[gate] factor" in result.output


def test_a_candidate_that_never_starts_ends_the_sequential_run_with_a_fail(tmp_path: Path):
    def crashes(trial: TrialSpec) -> str | None:
        return "exited with code 3" if trial.variant.factors["build"] == "candidate" else None

    outcome = ab(tmp_path, slowdown=0.0, failure=crashes)
    assert outcome.stopped_early is not None and "fail, decided" in outcome.stopped_early
    assert len([t for t in outcome.trials if not t.warmup]) < 40
    result = CliRunner().invoke(app, ["gate", str(outcome.run_dir)])
    assert result.exit_code == 1, result.output
    assert "fails more often" in result.output and "exited with code 3" in result.output


def _edit_run_json(run_dir: Path, change) -> None:  # type: ignore[no-untyped-def]
    path = run_dir / "run.json"
    meta = json.loads(path.read_text())
    change(meta)
    path.write_text(json.dumps(meta))


def test_a_sequential_run_takes_no_factor_of_the_command_line(tmp_path: Path):
    outcome = ab(tmp_path, slowdown=0.25)
    result = CliRunner().invoke(app, ["gate", str(outcome.run_dir), "--factor", "build"])
    assert result.exit_code == 2, result.output
    assert "--factor, --baseline-level" in " ".join(result.output.split())


def test_a_run_that_stopped_early_without_its_stop_rule_is_not_judged_as_fixed(tmp_path: Path):
    outcome = ab(tmp_path, slowdown=0.25)
    _edit_run_json(outcome.run_dir, lambda m: m.pop("stop_rule"))
    result = CliRunner().invoke(app, ["gate", str(outcome.run_dir)])
    assert result.exit_code == 2, result.output
    assert "stopped early" in result.output and "stop_rule" in result.output


def test_a_hand_edited_stop_rule_is_one_line_of_error(tmp_path: Path):
    outcome = ab(tmp_path, slowdown=0.25)
    edits = (("last_round", "twenty"), ("factor", 3), ("min_rounds", -1),
             ("per_trial_machine", "yes"))  # fmt: skip
    for field, value in edits:
        _edit_run_json(outcome.run_dir, lambda m, f=field, v=value: m["stop_rule"].update({f: v}))
        result = CliRunner().invoke(app, ["gate", str(outcome.run_dir)])
        assert result.exit_code == 2, result.output
        assert f"stop_rule.{field}" in result.output
        assert "Traceback" not in result.output
        _edit_run_json(
            outcome.run_dir,
            lambda m: m.update(
                stop_rule={**m["stop_rule"], "last_round": 20, "factor": "build", "min_rounds": 5}
            ),
        )


def test_a_sequential_gate_factor_with_one_level_is_refused_before_any_trial(
    tmp_path: Path, write_scenario
):
    path = write_scenario(scenario_text(
        repetitions=20,
        services=[{"command": ["true"]}],
        matrix={"build": ["base"]},
        extra='[gate]\nfactor = "build"\nbaseline_level = "base"\n',
    ))  # fmt: skip
    result = CliRunner().invoke(
        app, ["run", str(path), "--sequential", "--results-dir", str(tmp_path / "r")]
    )
    assert result.exit_code == 2, result.output
    assert "at least one other level" in " ".join(result.output.split())
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())
