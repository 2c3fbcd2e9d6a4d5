"""Run-level commands: ``setup`` runs once per distinct command, ``requires`` turns variants
that cannot run here into skipped trials, and a failing setup stops the run."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from helpers import run_options, toy_command

from coldstart_bench.run.session import RunOptions, run_scenario
from coldstart_bench.run.setup import SetupError


def options(tmp_path: Path) -> RunOptions:
    return run_options(tmp_path / "results", run_id="r")


def test_setup_runs_once_per_distinct_command_before_any_trial(tmp_path: Path, write_scenario):
    marks = tmp_path / "marks.txt"
    path = write_scenario(f"""
        repetitions = 2
        setup = [["sh", "-c", "echo setup-{{size}} >> {marks}"]]
        prepare = [["sh", "-c", "echo trial >> {marks}"]]
        [matrix]
        size = ["a", "b"]
        pooling = ["on", "off"]
        [[services]]
        command = {toy_command()}
        [requests]
        kind = "http"
    """)
    outcome = run_scenario(path, options(tmp_path))
    assert outcome.exit_code == 0
    lines = marks.read_text().split()
    assert lines[:2] == ["setup-a", "setup-b"]  # each level's command once, in plan order
    assert lines[2:] == ["trial"] * 8
    assert "setup-a" in (outcome.run_dir / "logs" / "setup.log").read_text()


def test_unmet_requirements_skip_their_variants_and_run_the_rest(tmp_path: Path, write_scenario):
    path = write_scenario(f"""
        repetitions = 2
        [matrix]
        device = ["cpu", "gpu"]
        [[requires]]
        match = {{ device = "gpu" }}
        command = ["sh", "-c", "echo no accelerator on this box; exit 1"]
        reason = "needs a GPU"
        [[requires]]
        program = "sh"
        [[services]]
        command = {toy_command()}
        [requests]
        kind = "http"
    """)
    outcome = run_scenario(path, options(tmp_path))
    assert outcome.exit_code == 0  # skipped is not failed
    by_status = {(t.variant, t.status) for t in outcome.trials}
    assert by_status == {("device=cpu", "ok"), ("device=gpu", "skipped")}
    skipped = [t for t in outcome.trials if t.status == "skipped"]
    assert skipped[0].error == "needs a GPU: no accelerator on this box"
    meta = json.loads((outcome.run_dir / "run.json").read_text())
    assert meta["skipped_variants"] == {"device=gpu": "needs a GPU: no accelerator on this box"}


def test_a_missing_program_requirement_skips_instead_of_failing(tmp_path: Path, write_scenario):
    path = write_scenario("""
        repetitions = 1
        [[requires]]
        program = "redis-server-that-is-not-installed"
        [[services]]
        command = ["redis-server-that-is-not-installed", "--port", "{port}"]
    """)
    outcome = run_scenario(path, options(tmp_path))
    assert [t.status for t in outcome.trials] == ["skipped"]
    assert "is not installed" in (outcome.trials[0].error or "")


def test_a_failing_setup_stops_the_run_and_says_why(tmp_path: Path, write_scenario):
    path = write_scenario(f"""
        setup = [["sh", "-c", "echo cannot build the model >&2; exit 3"]]
        [[services]]
        command = {toy_command()}
    """)
    with pytest.raises(SetupError, match="exited with code 3") as caught:
        run_scenario(path, options(tmp_path))
    assert "cannot build the model" in str(caught.value)
    assert caught.value.exit_code == 3  # the run could not be completed (not: trials failed)
    meta = json.loads((tmp_path / "results" / "r" / "run.json").read_text())
    assert meta["status"] == "setup-failed"


def test_a_setup_or_prepare_that_hangs_ends_at_its_timeout(tmp_path: Path, write_scenario):
    hang = '["sh", "-c", "sleep 60"]'
    setup_hangs = write_scenario(f"""
        setup = [{hang}]
        setup_timeout_s = 1
        [[services]]
        command = {toy_command()}
    """)
    began = time.monotonic()
    with pytest.raises(SetupError, match=r"setup\[0\]: still running after 1 s"):
        run_scenario(setup_hangs, options(tmp_path / "a"))
    assert time.monotonic() - began < 10

    prepare_hangs = write_scenario(f"""
        repetitions = 1
        prepare = [{hang}]
        prepare_timeout_s = 1
        [[services]]
        command = {toy_command()}
    """)
    [trial] = run_scenario(prepare_hangs, options(tmp_path / "b")).trials
    assert trial.status == "failed" and "prepare[0]: still running after 1 s" in (trial.error or "")
