"""A run written before the package was split into stages (coldstart-bench at 0e8cffb,
kept in tests/data/run-0e8cffb) still loads, reports, compares and gates."""

from __future__ import annotations

import csv
import gzip
import json
import os
import shutil
from pathlib import Path

import pytest
from helpers import TESTS
from typer.testing import CliRunner

from coldstart_bench import read_run
from coldstart_bench.cli.app import app
from coldstart_bench.results.schema import SCHEMA_VERSION, TrialRecord

OLD_RUN = TESTS / "data" / "run-0e8cffb"


@pytest.fixture
def old_run(tmp_path: Path) -> Path:
    copy = tmp_path / OLD_RUN.name
    shutil.copytree(OLD_RUN, copy)
    return copy


def test_the_old_run_loads_whole(old_run: Path):
    run = read_run(old_run)
    assert run.problems == []
    assert len(run.trials) == 20 and len(run.measured) == 16
    assert {t.schema_version for t in run.trials} == {SCHEMA_VERSION}
    assert all(t.status == "ok" and len(t.requests) == 4 for t in run.measured)


def test_the_old_run_reports(old_run: Path):
    result = CliRunner().invoke(app, ["report", str(old_run)])
    assert result.exit_code == 0, result.output
    report = old_run / "report"
    for name in ("report.html", "summary.md", "summary.csv", "trials.csv", "waterfall.png"):
        assert (report / name).stat().st_size > 0, name
    with open(report / "summary.csv", encoding="utf-8") as f:
        variants = {row["variant"] for row in csv.DictReader(f)}
    assert variants == {
        "pooling=on,startup_ms=0",
        "pooling=on,startup_ms=60",
        "pooling=off,startup_ms=0",
        "pooling=off,startup_ms=60",
    }
    # The scenario's 60 ms start-up delay is there, and clearly so.
    assert "startup_ms=60 (vs 0): time to ready" in (report / "summary.md").read_text()


def test_the_old_run_compares_and_gates(old_run: Path, tmp_path: Path):
    out = tmp_path / "compare"
    metrics = ["--metric", "cold_ttft_ms", "--metric", "ready_ms", "--metric", "first_ttft_ms"]
    compared = CliRunner().invoke(
        app, ["compare", str(old_run), str(old_run), *metrics, "--out", str(out)]
    )
    assert compared.exit_code == 0, compared.output
    with open(out / "compare.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    # 4 trials a side over 12 comparisons: no outcome could reach significance.
    assert len(rows) == 4 * 3 and {r["verdict"] for r in rows} == {"can't tell"}

    junit = tmp_path / "gate.xml"
    gated = CliRunner().invoke(
        app,
        ["gate", str(old_run), "--factor", "startup_ms", "--baseline-level", "0",
         "--metric", "ready_ms", "--max-regression", "20%", "--junit", str(junit)],
    )  # fmt: skip
    # 60 ms on a ~50 ms start is a regression the gate must see, from 4 trials a side.
    assert gated.exit_code == 1, gated.output
    assert 'failures="2"' in junit.read_text()


EXPECTED = TESTS / "data" / "run-0e8cffb-expected"
# COLDSTART_REGENERATE=1 python -m pytest tests/results/test_old_runs.py writes the expected
# files from the code as it is, for a change that means to change them (a new metric):
# review the diff of tests/data/ before committing it.
REGENERATE = os.environ.get("COLDSTART_REGENERATE") == "1"


def _same(written: str, expected: Path) -> None:
    if REGENERATE:
        expected.write_text(written)
    assert written == expected.read_text(), expected.name


@pytest.mark.parametrize(
    "name",
    ["summary.csv", "effects.csv", "phase_effects.csv", "requests_by_index.csv", "trials.csv",
     "summary.md"],
)  # fmt: skip
def test_the_old_run_reports_the_same_numbers_as_when_it_was_recorded(old_run: Path, name: str):
    """Every figure of the report files, as the code of 2026-11-30 wrote them for this run
    (before the analysis became one entry point): a refactoring that moves a number fails here."""
    result = CliRunner().invoke(app, ["report", str(old_run), "--format", "md,csv"])
    assert result.exit_code == 0, result.output
    _same((old_run / "report" / name).read_text(), EXPECTED / name)


def test_the_old_run_prints_the_same_summary(old_run: Path):
    result = CliRunner().invoke(app, ["report", str(old_run), "--format", "md"])
    assert result.exit_code == 0, result.output
    _same(result.stdout, EXPECTED / "terminal.txt")


def test_a_version_1_line_reads_into_the_typed_fields_of_version_2():
    line = json.loads((OLD_RUN / "trials.jsonl").read_text().splitlines()[0])
    line["extra"] = {
        "node": {"hostname": "n1", "cpu_model": "x", "gpus": ["H100"]},
        "load": {"pattern": "poisson", "start": "spawn", "before_ready": "hold",
                 "slo_ttft_ms": 500.0, "slo_total_ms": None, "steady_margin": 0.2,
                 "steady_window": 10, "goodput_window_s": 10.0},
        "chaos": {"service": "s", "action": "restart", "at_request": 1, "restart_ms": 5.0,
                  "recovered": True, "recovery_ms": 9.0, "failed_requests": 2,
                  "first_errors": ["refused"]},
        "escaped": [{"pid": 12, "comm": "sleep"}],
        "gpu_name": "kept",
    }  # fmt: skip
    record = TrialRecord.from_dict(line)
    assert record.schema_version == SCHEMA_VERSION
    assert record.node is not None and record.node.gpus == ("H100",)
    assert record.load_settings is not None and record.load_settings.slo_ttft_ms == 500.0
    assert record.load_settings.rate is None  # not recorded by version 1
    assert record.chaos is not None and record.chaos.first_errors == ("refused",)
    assert record.escaped[0].comm == "sleep"
    assert record.extra == {"gpu_name": "kept"}
    assert TrialRecord.from_dict(record.to_dict()) == record  # and round-trips as version 2


LOAD_RUNS = TESTS / "data" / "load-runs"
LOAD_EXPECTED = TESTS / "data" / "load-runs-expected"


@pytest.mark.parametrize("run", ["burst", "scale-from-zero"])
def test_recorded_load_runs_report_the_same_figures_as_when_recorded(tmp_path: Path, run: str):
    """A burst (drawn ranked) and a load until after ready (drawn as a timeline), recorded
    on 2026-12-07 and reported by the code of that day (before the metrics became one
    registry): every report file and the terminal summary, byte for byte."""
    run_dir = tmp_path / run
    run_dir.mkdir()
    shutil.copy(LOAD_RUNS / run / "run.json", run_dir / "run.json")
    (run_dir / "trials.jsonl").write_bytes(
        gzip.decompress((LOAD_RUNS / run / "trials.jsonl.gz").read_bytes())
    )
    result = CliRunner().invoke(app, ["report", str(run_dir), "--format", "md,csv"])
    assert result.exit_code == 0, result.output
    expected = LOAD_EXPECTED / run
    _same(result.stdout, expected / "terminal.txt")
    written = sorted(p.name for p in (run_dir / "report").iterdir())
    if not REGENERATE:
        assert written == sorted(p.name for p in expected.iterdir() if p.name != "terminal.txt")
    for name in written:
        _same((run_dir / "report" / name).read_text(), expected / name)
