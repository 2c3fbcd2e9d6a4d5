"""A run whose trials keep failing the same way stops and says why, instead of waiting out
every trial's timeout (a wrong readiness path cost the quickstart 2.7 hours)."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import record, run_options, toy_scenario

from coldstart_bench.run.give_up import GiveUp, same_way
from coldstart_bench.run.session import run_scenario

WRONG_PATH = {"kind": "http", "path": "/healthz", "timeout_s": 3}


def failed(i: int, error: str):  # type: ignore[no-untyped-def]
    return record(i, status="timeout", error=error)


def test_the_same_failure_is_the_same_whatever_its_numbers():
    a = "service 'server' was not ready within 120 s (GET http://127.0.0.1:41235/healthz)"
    b = "service 'server' was not ready within 120 s (GET http://127.0.0.1:51002/healthz)"
    assert same_way(a) == same_way(b) != same_way("service 'server' exited with code 3")


def test_two_alike_before_any_success_or_five_in_a_row_after_one_stop_the_run():
    give_up = GiveUp()
    assert give_up.after(failed(0, "port 1 refused")) is None
    assert "the last 2 trials failed the same way, and none has succeeded" in (
        give_up.after(failed(1, "port 2 refused")) or ""
    )
    later = GiveUp()
    later.after(record(0))
    reasons = [later.after(failed(i, f"crash {i}")) for i in range(1, 6)]
    assert reasons[:4] == [None] * 4 and reasons[4] is not None
    mixed = GiveUp()
    assert [mixed.after(failed(i, e)) for i, e in enumerate(["a", "b", "a", "b"])] == [None] * 4


def test_a_wrong_readiness_path_ends_the_run_after_two_trials_with_the_reason(
    tmp_path: Path, write_scenario
):
    path = write_scenario(toy_scenario(repetitions=5, ready=WRONG_PATH, matrix={"a": ["x", "y"]}))
    outcome = run_scenario(path, run_options(tmp_path / "r"))
    assert len(outcome.trials) == 2 and outcome.exit_code == 1
    assert outcome.gave_up is not None and "is ready.path right?" in outcome.gave_up
    meta = json.loads((outcome.run_dir / "run.json").read_text())
    assert meta["status"] == "gave-up" and meta["gave_up"] == outcome.gave_up


def test_keep_going_runs_every_trial(tmp_path: Path, write_scenario):
    path = write_scenario(toy_scenario(repetitions=2, ready=WRONG_PATH, matrix={"a": ["x", "y"]}))
    outcome = run_scenario(path, run_options(tmp_path / "r", keep_going=True))
    assert len(outcome.trials) == 4 and outcome.gave_up is None
