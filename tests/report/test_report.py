"""`coldstart report` on a real run: every file is written and readable, user strings are
escaped, and a run cut short still gets its report."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pandas as pd
from report_fixtures import HOSTILE
from typer.testing import CliRunner

from coldstart_bench.cli.app import app
from coldstart_bench.report.build import build_report


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_the_report_command_writes_every_format(small_run: Path, tmp_path: Path):
    out = tmp_path / "rep"
    result = CliRunner().invoke(app, ["report", str(small_run), "--out", str(out)])
    assert result.exit_code == 0, result.output
    names = {p.name for p in out.iterdir()}
    assert {"report.html", "summary.md", "summary.csv", "trials.csv", "effects.csv"} <= names
    assert {"waterfall.png", "distribution.png", "requests.png", "connect.png"} <= names
    for png in out.glob("*.png"):
        width, height = png_size(png)
        assert width >= 600 and height >= 250
    # pooling on/off have 3 ok trials each: its effects are computed and written, whether
    # or not the noise of this machine lets any of them be clear
    effects = pd.read_csv(out / "effects.csv")
    assert set(effects["factor"]) == {"pooling"} and len(effects) >= 4
    assert "### What each toggle buys" in (out / "summary.md").read_text()
    # the toy server reports its import and listen phases, but pooling acts on the client
    # alone: no phase of the server's start-up is compared across it (noise, at best)
    assert not (out / "phase_effects.csv").exists()
    assert (out / "phases.csv").exists()


def test_trials_csv_is_one_row_per_request_and_loads_as_is(small_run: Path, tmp_path: Path):
    report = build_report(small_run, tmp_path / "rep", ["csv"])
    flat = pd.read_csv(report.out_dir / "trials.csv")
    ok = flat[flat["status"] == "ok"]
    assert len(ok) == 2 * 3 * 3  # two healthy variants × 3 trials × 3 requests
    assert set(ok["req_number"]) == {1, 2, 3}
    failed = flat[flat["status"] == "failed"]
    assert len(failed) == 3 and failed["req_number"].isna().all()
    pooled = ok[(ok["factor_pooling"] == "on") & (ok["req_number"] > 1)]
    assert pooled["req_reused"].all()
    summary = pd.read_csv(report.out_dir / "summary.csv")
    assert {"variant", "metric", "n", "median", "ci_low", "ci_high", "mad"} <= set(summary)


def test_summary_md_is_a_github_table_with_escaped_names(small_run: Path, tmp_path: Path):
    report = build_report(small_run, tmp_path / "rep", ["md"])
    text = (report.out_dir / "summary.md").read_text()
    assert "| pooling | mode | ok/n |" in text
    assert HOSTILE not in text and "&lt;script&gt;" in text
    assert "did not succeed" in text


def test_html_escapes_everything_from_scenarios_servers_and_logs(small_run: Path, tmp_path: Path):
    report = build_report(small_run, tmp_path / "rep", ["html"])
    html = (report.out_dir / "report.html").read_text()
    assert "<script" not in html.lower()  # the report has no scripts, and lets none in
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "planted crash before ready" in html  # the failure's reason and log tail
    assert html.count("data:image/png;base64,") >= 4
    assert "http://" not in html.replace("http://127.0.0.1", "")  # nothing fetched from outside


def test_an_interrupted_run_with_a_torn_last_line_still_reports(small_run: Path, tmp_path: Path):
    cut = tmp_path / "cut"
    shutil.copytree(small_run, cut)
    lines = (cut / "trials.jsonl").read_text().splitlines(keepends=True)
    (cut / "trials.jsonl").write_text("".join(lines[:4]) + lines[4][: len(lines[4]) // 2])
    result = CliRunner().invoke(app, ["report", str(cut)])
    assert result.exit_code == 0, result.output
    assert "line 5" in result.output  # the torn line is reported, not fatal
    html = (cut / "report" / "report.html").read_text()
    assert "unreadable line" in html
