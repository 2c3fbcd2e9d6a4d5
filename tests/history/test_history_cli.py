"""``coldstart history changes`` and ``plot`` on a history with a planted step: the step
named by its commit, as a line and as JSON, and marked in the picture and the page (whose
every string is escaped)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from coldstart_bench.cli.app import app
from coldstart_bench.history.entry import RunEntry, TrialValue
from coldstart_bench.history.store import HistoryStore

pytest.importorskip("ruptures")
SCENARIO = "<script>alert(1)</script>"


@pytest.fixture
def stepped(tmp_path: Path) -> Path:
    """Ten runs of three trials, cold TTFT 800 ms, 1,100 ms from c06 on; calibrations flat."""
    path = tmp_path / "h.sqlite"
    rng = np.random.default_rng(3)
    with HistoryStore(path) as store:
        for i in range(1, 11):
            level = 1100.0 if i >= 6 else 800.0
            entry = RunEntry(f"k{i}", f"run{i}", SCENARIO, f"c{i:02d}", "main",
                             f"2026-12-07T10:{i:02d}:00", "complete", 3)  # fmt: skip
            values = [
                TrialValue("v", t, metric, level * scale * rng.lognormal(0, 0.03), 60.0)
                for t in range(3)
                for metric, scale in (("cold_ttft_ms", 1.0), ("ready_ms", 0.95))
            ]
            store.add(entry, values)
    return path


def test_changes_name_the_commit_the_step_started_with(stepped: Path):
    lines = CliRunner().invoke(app, ["history", "changes", "--history", str(stepped)])
    assert lines.exit_code == 0 and lines.output.count(" at c06 ") == 2, lines.output
    as_json = CliRunner().invoke(
        app, ["history", "changes", "--history", str(stepped), "--json", "--metric", "ready_ms"]
    )
    (change,) = [json.loads(line) for line in as_json.output.splitlines()]
    assert (change["commit"], change["metric"]) == ("c06", "ready_ms")
    assert change["low"] < change["ratio"] < change["high"] and change["ratio"] > 1.3


def test_the_plot_marks_the_step_and_the_page_escapes_everything(stepped: Path, tmp_path: Path):
    out = tmp_path / "plots"
    done = CliRunner().invoke(
        app, ["history", "plot", "--history", str(stepped), "--out", str(out)]
    )
    assert done.exit_code == 0, done.output
    (page,) = out.glob("history-*.html")
    (picture,) = out.glob("history-*.png")
    text = page.read_text()
    assert picture.read_bytes().startswith(b"\x89PNG")
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert text.count("<td>c06</td>") == 2 and "data:image/png;base64," in text


def test_export_writes_otavas_csv_layout_and_its_config(stepped: Path, tmp_path: Path):
    out = tmp_path / "csv"
    done = CliRunner().invoke(
        app, ["history", "export", "--history", str(stepped), "--out", str(out)]
    )
    assert done.exit_code == 0, done.output
    (table,) = out.glob("*.csv")
    rows = table.read_text().splitlines()
    assert rows[0] == "time,commit,branch,run_id,cold_ttft_ms,ready_ms"
    assert len(rows) == 11 and rows[6].split(",")[1] == "c06"
    config = (out / "otava.yaml").read_text()
    assert "type: csv" in config and f"file: {table.resolve()}" in config
    assert "column: cold_ttft_ms" in config and "attributes: [commit, branch, run_id]" in config
