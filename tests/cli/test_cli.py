"""The command line as a user meets it: help, version, and `python -m`."""

import subprocess
import sys

from helpers import REPO
from typer.testing import CliRunner

from coldstart_bench import __version__
from coldstart_bench.cli.app import app

runner = CliRunner()


def test_help_lists_the_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "validate" in result.output and "run" in result.output


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"coldstart-bench {__version__}"


def test_python_dash_m_works_like_the_script():
    done = subprocess.run(
        [sys.executable, "-m", "coldstart_bench", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0
    assert "Usage: coldstart" in done.stdout


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys; from coldstart_bench.cli.app import app\n"
        "try:\n    app(['--help'], prog_name='coldstart')\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('pandas', 'matplotlib', 'httpx', 'pydantic', 'torch', 'numpy') if m in sys.modules]\n"
        "print('HEAVY', heavy)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert "HEAVY []" in done.stdout, done.stdout + done.stderr


def test_bad_variant_filter_is_a_usage_error(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[[services]]\ncommand = ["x"]\n')
    result = runner.invoke(app, ["run", str(path), "--variant", "pooling"])
    assert result.exit_code == 2
    assert "--variant expects factor=level" in result.output


def test_a_narrow_terminal_gets_the_summary_in_two_tables_with_nothing_cut():
    from rich.console import Console

    from coldstart_bench.analysis.summary import VariantSummary
    from coldstart_bench.report.terminal import print_summary

    row = VariantSummary(
        variant="warmup=startup,pooling=off,cache=on",
        factors={"warmup": "startup", "pooling": "off", "cache": "on"},
        trials=10,
        ok=10,
        failed=0,
        skipped=0,
        ready_p50=1051.2,
        ready_p95=1117.0,
        cold_ttft_p50=1091.0,
        cold_ttft_p95=1154.3,
        first_connect_p50=0.13,
        first_tls_p50=None,
        first_ttfb_p50=14.6,
        first_ttft_p50=35.5,
        later_connect_p50=0.0,
        later_reused_share=1.0,
        later_ttft_p50=16.8,
        tls_seen=False,
    )
    narrow = Console(width=80, record=True)
    print_summary(narrow, [row], "run")
    text = narrow.export_text()
    assert "run: start-up" in text and "run: requests" in text
    assert "…" not in text and "startup" in text and "1,091" in text
    assert "TLS" not in text  # no variant used TLS
    wide = Console(width=200, record=True)
    print_summary(wide, [row], "run")
    assert "run: start-up" not in wide.export_text()


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
