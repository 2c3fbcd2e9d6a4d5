"""Runs spread over machines: node identity on records, stratification by node, and the
Ray executor on a local one-node cluster (skipped where Ray is not installed)."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest
from helpers import toy_command, toy_scenario
from typer.testing import CliRunner

from coldstart_bench import read_run
from coldstart_bench.analysis.digest import stratify_by_node
from coldstart_bench.analysis.frames import trials_frame
from coldstart_bench.analysis.summary import summarise
from coldstart_bench.cli.app import app
from coldstart_bench.results.schema import NodeIdentity, TrialRecord


def run_on_ray(path: Path, tmp_path: Path, run_id: str):  # type: ignore[no-untyped-def]
    args = [
        "run",
        str(path),
        "--executor",
        "ray",
        "--results-dir",
        str(tmp_path / "r"),
        "--run-id",
        run_id,
        "-q",
        "--no-report",
    ]
    return CliRunner().invoke(app, args)


def record(n: int, host: str, ttft: float) -> TrialRecord:
    return TrialRecord(
        schema_version=1,
        run_id="r",
        trial=n,
        variant="pooling=on",
        factors={"pooling": "on"},
        repetition=n,
        warmup=False,
        status="ok",
        started_at="x",
        t0_ns=0,
        ready_ms=ttft - 5,
        cold_ttft_ms=ttft,
        node=NodeIdentity(host),
    )


def test_two_machines_are_never_averaged_together():
    trials = [
        record(0, "a100-box", 100.0),
        record(1, "a100-box", 110.0),
        record(2, "t4-box", 400.0),
        record(3, "t4-box", 420.0),
    ]
    rows = {r.variant: r for r in summarise(trials_frame(stratify_by_node(trials)))}
    assert rows["pooling=on,node=a100-box"].figure("cold_ttft_ms") == 105.0
    assert rows["pooling=on,node=t4-box"].figure("cold_ttft_ms") == 410.0
    one = [dataclasses.replace(t, node=NodeIdentity("same")) for t in trials]
    assert stratify_by_node(one) == one


def test_without_ray_the_executor_says_how_to_install_it(
    tmp_path: Path, write_scenario, monkeypatch
):
    monkeypatch.setitem(sys.modules, "ray", None)
    path = write_scenario(f"[[services]]\ncommand = {toy_command()}\n")
    result = run_on_ray(path, tmp_path, "no-ray")
    assert result.exit_code == 2
    assert "pip install" in result.output and "[ray]" in result.output


@pytest.mark.slow
def test_trials_run_as_ray_tasks_on_a_local_cluster(tmp_path: Path, write_scenario):
    pytest.importorskip("ray")
    path = write_scenario(
        toy_scenario(
            "--tokens",
            "3",
            repetitions=2,
            matrix={"pooling": ["on", "off"], "device": ["cpu", "cuda"]},
            requests={"count": 2},
        )
    )
    result = run_on_ray(path, tmp_path, "ray")
    assert result.exit_code == 0, result.output
    run = read_run(tmp_path / "r" / "ray")
    assert len(run.trials) == 8
    cpu = [t for t in run.trials if t.factors["device"] == "cpu"]
    assert all(t.status == "ok" and t.node.hostname for t in cpu)
    cuda = [t for t in run.trials if t.factors["device"] == "cuda"]
    assert all(t.status == "skipped" and "GPU" in (t.error or "") for t in cuda)
    assert all(not s.survivors for t in cpu for s in t.services)
