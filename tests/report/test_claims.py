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
    assert "by construction, not a finding" not in summary  # not listed as if it mattered
    assert "more comparison(s) found no clear change or one true by construction" in summary


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


def test_a_plain_http_run_says_response_where_a_streamed_one_says_first_token(
    tmp_path: Path, write_scenario
):
    from helpers import run_options, toy_scenario

    from coldstart_bench.run.session import run_scenario

    path = write_scenario(
        toy_scenario(repetitions=3, matrix={"pooling": ["on", "off"]}, requests={"kind": "http"})
    )
    outcome = run_scenario(path, run_options(tmp_path / "r"))
    report = build_report(outcome.run_dir, tmp_path / "rep", ["md"])
    assert "Cold time to the first response" in report.headline or (
        "cold time to the first response" in report.headline
    )
    assert "TTFT" not in report.headline and "first token" not in report.headline
    assert all("cold TTFT" not in e.sentence() for e in report.analysis.effects)


def test_client_side_factors_are_not_compared_on_the_servers_phases():
    from coldstart_bench.analysis.run_analysis import client_only_factors
    from coldstart_bench.results.run_file import RunMetadata
    from coldstart_bench.results.store import RunData

    def run_with(command: list[str]) -> RunData:
        meta = RunMetadata(
            kind="coldstart-bench.run",
            scenario={"as_run": {"services": [{"command": command, "env": {}}]}},
        )
        return RunData(Path("."), meta, [])

    assert client_only_factors(run_with(["serve"])) == {"pooling", "before_ready", "idle_s"}
    # a server told the level itself can start differently: then its phases are compared
    assert "pooling" not in client_only_factors(run_with(["serve", "--pool", "{pooling}"]))


def test_an_interval_of_one_trial_is_a_dash():
    from types import SimpleNamespace

    from coldstart_bench.report.tables import _interval

    assert _interval(SimpleNamespace(n=1, ci_low=13556.0, ci_high=13556.0)) == "—"
    assert _interval(SimpleNamespace(n=4, ci_low=10.0, ci_high=12.5)) == "10.0 – 12.5"
