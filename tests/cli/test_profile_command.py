"""`coldstart profile`'s options (profiling itself: tests/profiling)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from coldstart_bench.cli.app import app


def test_the_cli_refuses_unknown_profilers(tmp_path: Path, write_scenario):
    path = write_scenario('[[services]]\ncommand = ["x"]\n')
    result = CliRunner().invoke(app, ["profile", str(path), "--profiler", "perf"])
    assert result.exit_code == 2 and "--profiler takes" in result.output
