"""`coldstart run` and `coldstart report` as a user types them: the printed summary,
the report at the end, and one clear error for bad options."""

from __future__ import annotations

import subprocess
from pathlib import Path

from helpers import record, run_argv, toy_scenario
from typer.testing import CliRunner

from coldstart_bench.cli.app import app
from coldstart_bench.results.store import read_trials


def test_the_cli_prints_the_summary_table(tmp_path: Path, write_scenario):
    path = write_scenario(
        toy_scenario(repetitions=2, matrix={"pooling": ["on", "off"]}, requests={"count": 2})
    )
    result = CliRunner().invoke(
        app,
        ["run", str(path), "--results-dir", str(tmp_path / "r"), "-q", "--variant", "pooling=off"],
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    header = [line for line in lines if "┃" in line][-1]
    [row] = [line for line in lines if "│" in line]
    assert "pooling" in header and "ok/n" in header
    assert row.split("│")[1].strip() == "off" and "2/2" in row  # only the pooling=off variant
    assert "cold TTFT" in result.output
    [run_dir] = (tmp_path / "r").iterdir()
    assert len(read_trials(run_dir / "trials.jsonl")[0]) == 2
    assert (run_dir / "report" / "report.html").exists()  # written at the end of the run
    assert "report:" in result.output


def test_without_the_report_the_summary_is_still_printed(tmp_path: Path, write_scenario):
    path = write_scenario(toy_scenario(repetitions=1, requests={"count": 1}))
    result = CliRunner().invoke(
        app, ["run", str(path), "--results-dir", str(tmp_path / "r"), "-q", "--no-report"]
    )
    assert result.exit_code == 0, result.output
    assert "cold TTFT" in result.output and "1/1" in result.output
    [run_dir] = (tmp_path / "r").iterdir()
    assert not (run_dir / "report").exists() and "report:" not in result.output


def test_bad_variant_filter_is_a_usage_error(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[[services]]\ncommand = ["x"]\n')
    result = CliRunner().invoke(app, ["run", str(path), "--variant", "pooling"])
    assert result.exit_code == 2
    assert "--variant expects factor=level" in result.output


def test_run_var_overrides_only_declared_vars(tmp_path, write_scenario):
    path = write_scenario("""
        [vars]
        delay_ms = "0"
        [[services]]
        command = ["server-that-is-not-installed", "--delay", "{delay_ms}"]
    """)
    result = CliRunner().invoke(app, ["run", str(path), "--var", "delay_m=5"])
    assert result.exit_code == 2
    assert "did you mean 'delay_ms'" in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_a_bad_format_or_directory_is_a_clear_error(tmp_path: Path):
    bad = CliRunner().invoke(app, ["report", str(tmp_path), "--format", "pdf"])
    assert bad.exit_code == 2
    missing = CliRunner().invoke(app, ["report", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "neither a run directory nor a baseline" in missing.output


def test_a_results_dir_that_cannot_hold_a_run_is_one_line_and_exit_3(
    tmp_path: Path, write_scenario
):
    path = write_scenario(toy_scenario(repetitions=1))
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    for results_dir, why in ((a_file, "is not a directory"), (dangling, "does not exist")):
        result = CliRunner().invoke(app, ["run", str(path), "--results-dir", str(results_dir)])
        assert result.exit_code == 3, result.output
        assert why in result.output and "Traceback" not in result.output
        assert not isinstance(result.exception, OSError)


def test_a_report_that_cannot_be_written_is_one_line_and_exit_3(tmp_path: Path, write_scenario):
    path = write_scenario(toy_scenario(repetitions=1))
    done = CliRunner().invoke(
        app, ["run", str(path), "--results-dir", str(tmp_path / "r"), "--run-id", "a", "-q"]
    )
    assert done.exit_code == 0, done.output
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    result = CliRunner().invoke(
        app, ["report", str(tmp_path / "r" / "a"), "--out", str(a_file / "x")]
    )
    assert result.exit_code == 3, result.output
    assert "cannot write the report" in result.output
    assert not isinstance(result.exception, OSError)


def test_paths_are_printed_whole_in_a_ci_log(tmp_path: Path, write_scenario):
    # no terminal: a path cut at 80 columns could not be pasted back
    path = write_scenario(toy_scenario(repetitions=1))
    deep = tmp_path / ("a-long-folder-name-" * 6) / "results"
    done = subprocess.run(
        run_argv(path, deep, "r", "--no-report"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"results: {deep / 'r'}" in done.stderr.splitlines()


def test_without_a_terminal_progress_is_a_plain_line_per_trial_and_a_heartbeat(tmp_path: Path):
    import io
    import time

    from rich.console import Console

    from coldstart_bench.cli.progress import PlainProgress
    from coldstart_bench.plan.order import TrialSpec
    from coldstart_bench.scenario.matrix import Variant

    out = io.StringIO()
    progress = PlainProgress(Console(file=out, width=200))
    progress.HEARTBEAT_S = 0.5
    trial = TrialSpec(index=0, variant=Variant(0, {"a": "x"}), repetition=0, warmup=False)
    with progress:
        progress.run_started(tmp_path, [trial])
        progress.trial_started(trial)
        time.sleep(2.2)  # a long trial: the log hears from it
        progress.trial_finished(trial, record(0, variant="a=x", cold_ttft_ms=1234.5))
    lines = out.getvalue().splitlines()
    assert any("trial 1/1 [a=x] running" in line and "so far" in line for line in lines), lines
    assert any(line.startswith("[1/1 ·") and "cold TTFT 1,234 ms" in line for line in lines)
