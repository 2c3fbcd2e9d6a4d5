"""A run written before the package was split into stages (coldstart-bench at 0e8cffb,
kept in tests/data/run-0e8cffb) still loads, reports, compares and gates."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from helpers import TESTS
from typer.testing import CliRunner

from coldstart_bench import load_run
from coldstart_bench.cli.app import app
from coldstart_bench.results.schema import SCHEMA_VERSION

OLD_RUN = TESTS / "data" / "run-0e8cffb"


@pytest.fixture
def old_run(tmp_path: Path) -> Path:
    copy = tmp_path / "old-format-0e8cffb"
    shutil.copytree(OLD_RUN, copy)
    return copy


def test_the_old_run_loads_whole(old_run: Path):
    run = load_run(old_run)
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
    compared = CliRunner().invoke(app, ["compare", str(old_run), str(old_run), "--out", str(out)])
    assert compared.exit_code == 0, compared.output
    with open(out / "compare.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4 * 3 and {r["verdict"] for r in rows} == {"no change"}

    junit = tmp_path / "gate.xml"
    gated = CliRunner().invoke(
        app,
        ["gate", str(old_run), "--factor", "startup_ms", "--baseline-level", "0",
         "--metric", "ready_ms", "--max-regression", "20%", "--junit", str(junit)],
    )  # fmt: skip
    # 60 ms on a ~50 ms start is a regression the gate must see, from 4 trials a side.
    assert gated.exit_code == 1, gated.output
    assert 'failures="2"' in junit.read_text()
