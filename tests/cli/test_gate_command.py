"""`coldstart gate`, `compare` and `baseline` end to end on real runs of the toy server
(and one of the reference server with a planted regression)."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from helpers import run_options, toy_command, toy_scenario
from typer.testing import CliRunner

from coldstart_bench.cli.app import app
from coldstart_bench.run.session import run_scenario


def run(
    tmp_path: Path,
    write_scenario,
    text: str,
    run_id: str,
    name: str = "s.toml",
    failing: bool = False,
    **options,
) -> Path:
    path = write_scenario(text, name=name)
    outcome = run_scenario(path, run_options(tmp_path / "results", run_id=run_id, **options))
    assert outcome.exit_code == (1 if failing else 0)  # 1: some trials failed
    return outcome.run_dir


def ab_scenario(candidate_delay_ms: int, reps: int = 8) -> str:
    return f"""
        repetitions = {reps}
        [matrix]
        build = ["base", "candidate"]
        [[services]]
        command = {toy_command()}
        [[services.when]]
        match = {{ build = "candidate" }}
        args = ["--startup-delay-ms", "{candidate_delay_ms}"]
        [requests]
        kind = "http"
        [gate]
        factor = "build"
        baseline_level = "base"
    """


def gate(*args: str) -> object:
    return CliRunner().invoke(app, ["gate", *args])


def test_an_ab_run_with_identical_levels_passes(tmp_path: Path, write_scenario):
    run_dir = run(tmp_path, write_scenario, ab_scenario(0, reps=10), "aa")
    # The factor and baseline level come from the scenario's [gate] table. What the gate
    # guarantees for identical builds is no false regression beyond its significance level;
    # at 99.9 % a false one is a 1-in-1,000 event, so this test cannot flake. Whether it can
    # also say "pass" depends on the machine's noise: inconclusive (4) is an honest answer.
    result = gate(str(run_dir), "--confidence", "0.999", "--max-regression", "25%")
    assert result.exit_code in (0, 4), result.output
    assert "gate: pass" in result.output or "only a slowdown of" in result.output


def test_a_planted_slowdown_fails_with_junit_and_summary(tmp_path: Path, write_scenario):
    run_dir = run(tmp_path, write_scenario, ab_scenario(80), "planted")
    junit, summary = tmp_path / "gate.xml", tmp_path / "summary.md"
    result = gate(str(run_dir), "--junit", str(junit), "--summary", str(summary))
    assert result.exit_code == 1, result.output
    assert "regression" in result.output
    suite = ET.parse(junit).getroot()
    # cold TTFT and the CPU work to the first token, a case each; the planted sleep fails
    # the first. The second is not asserted: a sleep adds no CPU work, yet one fresh-clone
    # run found the candidate's CPU time significantly higher (8 trials a side: noise, or
    # a process that wakes from a sleep with cold caches).
    assert suite.get("tests") == "2" and int(suite.get("failures") or 0) >= 1
    case = suite.find("testcase")
    assert case is not None and case.get("name") == "cold_ttft_ms"
    assert case.find("failure") is not None
    assert "build=candidate vs base" in (case.get("classname") or "")
    text = summary.read_text()
    assert "cold-start gate: fail" in text and "| regression |" in text


def test_two_runs_of_the_same_configuration_are_judged_alike_by_gate_junit_and_compare(
    tmp_path: Path, write_scenario
):
    text = toy_scenario(repetitions=8, matrix={"pooling": ["on", "off"]}, requests={"count": 2})
    first = run(tmp_path, write_scenario, text, "first", calibrate=True)
    second = run(tmp_path, write_scenario, text, "second", calibrate=True)
    results = str(tmp_path / "results")
    saved = CliRunner().invoke(
        app, ["baseline", "save", str(first), "--name", "main", "--results-dir", results]
    )
    assert saved.exit_code == 0, saved.output
    listed = CliRunner().invoke(app, ["baseline", "list", "--results-dir", results])
    assert "main:" in listed.output
    # Two runs minutes apart drift more than interleaved levels: a wider bar, as for any
    # cross-run gate on a shared machine (see the README's CI recipe).
    result = gate(
        str(second),
        "--baseline",
        "main",
        "--results-dir",
        results,
        "--metric",
        "cold_ttft_ms",
        "--metric",
        "later_ttft_ms",
        "--max-regression",
        "50%",
        "--junit",
        str(tmp_path / "gate.xml"),
        "--summary",
        str(tmp_path / "gate.md"),
    )
    # The same configuration, but minutes apart: the rank test sees the trials, not the
    # runner's state between the runs, so a sub-millisecond figure can move past the bar
    # (on a fresh CI clone later_ttft_ms went 0.7 -> 1.2 ms while the calibration moved 5 %).
    # What the gate guarantees: a failure only for a row that is a regression, said the
    # same way by the terminal, JUnit and compare.
    regressions = result.output.count("│ regression")
    assert result.exit_code in ((1,) if regressions else (0, 4)), result.output
    suite = ET.parse(tmp_path / "gate.xml").getroot()
    assert suite.get("tests") == "4"  # 2 variants × 2 metrics
    assert suite.get("failures") == str(regressions)
    compared = CliRunner().invoke(
        app,
        ["compare", "main", str(second), "--results-dir", results, "--metric", "cold_ttft_ms",
         "--metric", "later_ttft_ms", "--max-regression", "50%", "--out", str(tmp_path / "cmp")],
    )  # fmt: skip
    assert compared.exit_code == 0, compared.output  # compare reports; it never fails
    # One statistic: with the same settings (the tolerance decides whether the machines were
    # the same), compare shows the gate's adjusted p-values and intervals, row by row.
    with open(tmp_path / "cmp" / "compare.csv", encoding="utf-8") as f:
        rows = {(r["variant"], r["metric"]): r for r in csv.DictReader(f)}
    gate_rows = [
        [c.strip() for c in line.strip("|").split("|")]
        for line in (tmp_path / "gate.md").read_text().splitlines()
        if (line.startswith("| ") and "cold_ttft_ms" in line) or "later_ttft_ms" in line
    ]
    gate_rows = [r for r in gate_rows if len(r) == 10]
    assert len(rows) == len(gate_rows) == 4
    for verdict, variant, metric, *_rest, interval, p_adj, _detects, _n in gate_rows:
        row = rows[(variant, metric)]
        assert f"{float(row['p_slower_adjusted']):.3g}" == p_adj
        low, high = (float(row["ci_low"]) - 1) * 100, (float(row["ci_high"]) - 1) * 100
        assert interval == f"[{low:+.1f}, {high:+.1f}] %"
        slower = (row["verdict"] == "slower") == (verdict in ("regression", "warning"))
        assert slower or verdict == "not judged"
    removed = CliRunner().invoke(app, ["baseline", "rm", "main", "--results-dir", results])
    assert removed.exit_code == 0


def test_bad_input_exits_2_and_too_few_trials_4_with_the_reason(tmp_path: Path, write_scenario):
    run_dir = run(tmp_path, write_scenario, ab_scenario(0, reps=2), "few")
    few = gate(str(run_dir))
    assert few.exit_code == 4  # inconclusive, never a pass
    assert "needs at least 4 per side" in few.output  # two comparisons: cold TTFT and its CPU work
    missing = gate(str(run_dir), "--baseline", "nope", "--results-dir", str(tmp_path))
    assert missing.exit_code == 2 and "neither a run directory nor a baseline" in missing.output
    bad_metric = gate(str(run_dir), "--metric", "coldttft")
    assert bad_metric.exit_code == 2 and "unknown metric" in bad_metric.output
    over = gate(str(run_dir), "--budget", "cold_ttft_ms=0.001", "--max-regression", "90%")
    assert over.exit_code == 1  # over budget, whatever the comparison could tell


@pytest.mark.slow
def test_the_reference_server_with_a_planted_delay_fails_the_gate(tmp_path: Path, write_scenario):
    """A planted start-up delay in the reference server, gated end to end.

    Cold starts of the reference server vary by ~10 % here and twice that on a loaded CI
    machine (a 250 ms delay, ~17 %, once passed there at 6 trials a side: p = 0.066). With
    1,000 ms (~65 % of a ~1.5 s cold start) the gate's power at 8 a side stays above 99 %
    even at that doubled noise (gate_accuracy's recorded noise, scaled); the +20 % row of
    `benchmarks/gate_accuracy.py` is where the gate's sensitivity is measured.
    """
    pytest.importorskip("torch")
    model = tmp_path / "model"
    from coldstart_bench.target.weights import write_model

    write_model(model, "tiny", ["safetensors"])
    text = f"""
        repetitions = 8
        warmup_trials = 1
        [matrix]
        build = ["base", "candidate"]
        [[services]]
        command = ["{sys.executable}", "-m", "coldstart_bench.target", "serve",
                   "--model", "{model}", "--port", "{{port}}"]
        ready = {{ kind = "http", path = "/health" }}
        [[services.when]]
        match = {{ build = "candidate" }}
        args = ["--startup-delay-ms", "1000"]
        [requests]
        count = 1
    """
    run_dir = run(tmp_path, write_scenario, text, "ref")
    result = gate(str(run_dir), "--factor", "build", "--baseline-level", "base")
    assert result.exit_code == 1, result.output


def crashing_candidate(crashes: str, reps: int = 10) -> str:
    """A/B where the candidate's cold start crashes in the given repetitions."""
    return ab_scenario(0, reps=reps).replace(
        'args = ["--startup-delay-ms", "0"]',
        f'args = ["--crash-in-repetitions", "{crashes}", "--repetition", "{{repetition}}"]',
    )


def test_a_candidate_that_fails_more_often_than_its_baseline_is_a_regression(
    tmp_path: Path, write_scenario
):
    # 6 of 10 candidate starts crash, none of the baseline's: the 4 that started are as fast
    # as the baseline, and judged on timing alone they would pass
    run_dir = run(
        tmp_path, write_scenario, crashing_candidate("0,1,3,5,7,9"), "crashy", failing=True
    )
    junit = tmp_path / "gate.xml"
    result = gate(str(run_dir), "--junit", str(junit), "--max-regression", "50%")
    assert result.exit_code == 1, result.output
    assert "fails more often: 6 of 10 trials failed, the baseline 0 of 10" in result.output
    assert "planted crash before ready" in result.output  # the first failure, in its words
    cases = ET.parse(junit).getroot()
    assert int(cases.get("failures")) >= 1
    assert any(c.get("name") == "failed trials" and c.find("failure") is not None for c in cases)


def test_a_candidate_that_fails_at_all_never_passes(tmp_path: Path, write_scenario):
    # 1 of 10: not shown to fail more often than a baseline of 0 of 10, but not a pass
    run_dir = run(tmp_path, write_scenario, crashing_candidate("4"), "once", failing=True)
    result = gate(str(run_dir), "--max-regression", "50%")
    assert result.exit_code == 4, result.output
    assert "1 of 10 trials failed, the baseline 0 of 10: not clearly more often" in result.output


def test_a_candidate_whose_every_start_fails_is_a_regression_not_bad_input(
    tmp_path: Path, write_scenario
):
    every = ",".join(str(r) for r in range(6))
    run_dir = run(tmp_path, write_scenario, crashing_candidate(every, reps=6), "dead", failing=True)
    result = gate(str(run_dir))
    assert result.exit_code == 1, result.output
    assert "6 of 6 trials failed" in result.output
