"""The report claims only what its statistics support: no winner where nothing matters, a
factor named where it clearly does, findings that are true by construction set apart, and a
warning when a run is compared with itself."""

from __future__ import annotations

import random
from pathlib import Path

from helpers import run_options, scenario_text
from typer.testing import CliRunner

from coldstart_bench.cli.app import app
from coldstart_bench.plan.order import TrialSpec
from coldstart_bench.report.build import build_report
from coldstart_bench.run.fake import FakeExecutor
from coldstart_bench.run.session import run_scenario
from coldstart_bench.scenario.reader import parse_scenario

SCENARIO = scenario_text(
    name="claims",
    repetitions=8,
    seed=1,
    services=[{"command": ["true"]}],  # the fake executor starts nothing
    matrix={"warmup": ["none", "startup"], "size": ["s", "m"]},
)


def noisy(slow_level: str | None = None):  # type: ignore[no-untyped-def]
    """Cold TTFTs around 1,000 ms with ±8 % noise (seeded by trial), 60 % slower at
    ``size=slow_level``."""

    def cold_ttft(trial: TrialSpec) -> float:
        value = 1000.0 * random.Random(trial.index).uniform(0.92, 1.08)
        return value * (1.6 if trial.variant.factors["size"] == slow_level else 1.0)

    return cold_ttft


def report_of(tmp_path: Path, executor: FakeExecutor):  # type: ignore[no-untyped-def]
    loaded = parse_scenario(SCENARIO, path=tmp_path / "claims.toml")
    outcome = run_scenario(loaded, run_options(tmp_path, executor=executor))
    return build_report(outcome.run_dir, None, ["md"])


def test_when_no_factor_matters_the_headline_names_no_winner(tmp_path: Path):
    report = report_of(tmp_path, FakeExecutor(cold_ttft_ms=noisy()))
    assert "No clear difference in cold TTFT" in report.headline
    assert "spread" in report.headline
    for word in ("Fastest", "fastest", "slowest", "Slowest"):
        assert word not in report.headline
    assert not [e for e in report.analysis.effects if e.metric == "cold_ttft_ms" and e.finding]


def test_a_factor_that_clearly_matters_is_named_and_no_variant_is_crowned(tmp_path: Path):
    report = report_of(tmp_path, FakeExecutor(cold_ttft_ms=noisy(slow_level="m")))
    assert "size=m (vs s): cold TTFT" in report.headline
    assert "higher" in report.headline
    assert "warmup=startup (vs none): cold TTFT" not in report.headline  # only noise there
    assert "Fastest" not in report.headline


def test_an_effect_true_by_construction_is_not_a_finding(small_run: Path, tmp_path: Path):
    report = build_report(small_run, tmp_path / "rep", ["md"])
    [reuse] = [
        e
        for e in report.analysis.effects
        if e.factor == "pooling" and e.metric == "later_connect_ms"
    ]
    assert reuse.by_construction and not reuse.finding
    assert "by construction" in reuse.sentence()
    assert "later requests' connect" not in report.headline
    summary = (report.out_dir / "summary.md").read_text()
    assert "by construction, not a finding" in summary


def test_comparing_a_run_with_itself_warns(small_run: Path, tmp_path: Path):
    result = CliRunner().invoke(
        app, ["compare", str(small_run), str(small_run), "--out", str(tmp_path / "c")]
    )
    assert result.exit_code == 0, result.output
    assert "BASE and NEW are the same run" in result.output
    other = tmp_path / "copy"
    import shutil

    shutil.copytree(small_run, other)  # a copy is the same run too
    again = CliRunner().invoke(
        app, ["compare", str(small_run), str(other), "--out", str(tmp_path / "d")]
    )
    assert "BASE and NEW are the same run" in again.output
