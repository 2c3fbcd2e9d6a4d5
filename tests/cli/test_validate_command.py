"""`coldstart validate`: what a scenario expands to, as `coldstart run` would run it."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from coldstart_bench.cli.app import app


def test_validate_lists_the_expanded_variants(tmp_path: Path):
    path = tmp_path / "ok.toml"
    path.write_text(
        'name = "demo"\nrepetitions = 2\nwarmup_trials = 1\n'
        '[matrix]\npooling = ["on", "off"]\ntls = [true, false]\nexclude = [{ pooling = "off", tls = "on" }]\n'
        '[[services]]\ncommand = "server --port {port}"\n[requests]\ncount = 3\n'
    )
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "3 variant(s)" in result.output
    assert "3 variant(s) × (2 repetitions + 1 warm-up) = 9" in result.output


def test_validate_takes_var_like_run(tmp_path: Path, write_scenario):
    path = write_scenario("""
        [vars]
        model = "small"
        [[services]]
        command = ["server", "--model", "{model}"]
    """)
    result = CliRunner().invoke(app, ["validate", str(path), "--var", "model=large"])
    assert result.exit_code == 0, result.output
    typo = CliRunner().invoke(app, ["validate", str(path), "--var", "modle=large"])
    assert typo.exit_code == 2 and "did you mean 'model'" in " ".join(typo.output.split())


def test_validate_says_when_a_setup_program_is_not_installed(write_scenario):
    path = write_scenario("""
        setup = [["make-model-not-installed", "--out", "x"]]
        [[services]]
        command = ["true"]
        ready = { kind = "exit" }
    """)
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "'make-model-not-installed' is not installed" in " ".join(result.output.split())
