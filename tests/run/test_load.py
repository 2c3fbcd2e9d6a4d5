"""Load on a cold replica, end to end with the toy server: requests that arrive before the
server listens are held or retried (and say so), every scheduled request has exactly one
outcome, a burst against a server that answers four at a time queues rather than loses,
every trial carries its warm phase, and the results round-trip, report and gate."""

from __future__ import annotations

import json
import resource
import subprocess
from pathlib import Path

import numpy as np
import pytest
from helpers import run_argv, run_options, toy_command
from typer.testing import CliRunner

from coldstart_bench import read_run
from coldstart_bench.analysis.metrics import trial_metrics
from coldstart_bench.cli.app import app
from coldstart_bench.probe.timeline import HARNESS_OUT_OF_FILES
from coldstart_bench.run.session import run_scenario


def load_scenario_text(*flags: str, load: str, repetitions: int = 1, extra: str = "") -> str:
    return f"""
repetitions = {repetitions}
seed = 3
[[services]]
command = {toy_command(*flags)}
ready = {{ kind = "http", path = "/health" }}
[requests]
kind = "openai-chat"
max_tokens = 3
timeout_s = 20
[load]
{load}
{extra}
"""


@pytest.mark.parametrize("mode", ["hold", "retry"])
def test_requests_before_the_server_listens_are_held_or_retried(
    tmp_path: Path, write_scenario, mode: str
):
    path = write_scenario(
        load_scenario_text(
            "--startup-delay-ms",
            "800",
            "--backlog",
            "64",
            "--tokens",
            "3",
            load=f'pattern = "constant"\nrate = 20\nrequests = 30\nbefore_ready = "{mode}"\n'
            "retry_interval_ms = 50",
        )
    )
    [trial] = run_scenario(path, run_options(tmp_path)).trials
    assert trial.status == "ok", trial.error
    assert len(trial.load) == 30 and sorted(r.index for r in trial.load) == list(range(30))
    assert all(r.request.status == "ok" for r in trial.load)
    early = [r for r in trial.load if r.arrival_ms < trial.ready_ms - 100]
    late = [r for r in trial.load if r.arrival_ms > trial.ready_ms + 50]
    assert len(early) >= 10 and late
    for r in early:  # waited for the server, sent only once it answered (or accepted)
        assert r.wait_ms > 50
        assert r.request.start_ms >= trial.ready_ms - 60  # about when it started to listen
    if mode == "hold":
        assert all(r.held and r.attempts == 1 for r in early)
        assert not any(r.held for r in late)
    else:  # refused connections, then success
        assert all(not r.held and r.attempts > 1 for r in early)
        assert all("ConnectError" in r.first_error for r in early)
        assert trial_metrics(trial)["load_retries"] == sum(r.attempts - 1 for r in trial.load)


def test_a_burst_against_a_server_that_answers_four_at_a_time_queues_and_loses_nothing(
    tmp_path: Path, write_scenario
):
    path = write_scenario(
        load_scenario_text(
            "--max-concurrent",
            "4",
            "--ttft-ms",
            "100",
            "--backlog",
            "64",
            "--tokens",
            "3",
            load='pattern = "burst"\nrequests = 32\nstart = "ready"',
        )
    )
    [trial] = run_scenario(path, run_options(tmp_path)).trials
    assert trial.status == "ok", trial.error
    assert len(trial.load) == 32 and all(r.request.status == "ok" for r in trial.load)
    assert {r.arrival_ms for r in trial.load} == {trial.load[0].arrival_ms}  # all at once
    latency = sorted(r.wait_ms + r.request.ttft_ms for r in trial.load)
    # four at a time, each answer ≥ 100 ms: the k-th answer waited for ⌊k/4⌋ waves ahead
    for k, waited in enumerate(latency):
        assert waited >= (k // 4) * 100 + 100, (k, waited)


def test_every_trial_carries_its_warm_phase_and_the_figures_compare_them(
    tmp_path: Path, write_scenario
):
    path = write_scenario(
        load_scenario_text(
            "--startup-delay-ms",
            "300",
            "--backlog",
            "64",
            "--tokens",
            "3",
            load='pattern = "poisson"\nrate = 40\nrequests = 40\nwarm_after_s = 0.2\n'
            "steady_window = 5\nslo = { ttft_ms = 200 }",
            repetitions=2,
        )
    )
    outcome = run_scenario(path, run_options(tmp_path))
    for trial in outcome.trials:
        cold = [r for r in trial.load if r.phase == "cold"]
        warm = [r for r in trial.load if r.phase == "warm"]
        assert len(cold) == len(warm) == 40
        assert min(r.arrival_ms for r in warm) > max(r.request.start_ms for r in cold)
        figures = trial_metrics(trial)
        assert figures["load_cold_p95_ms"] > figures["load_warm_p95_ms"]  # held ~300 ms
        assert figures["cold_penalty_p95"] > 3
        # steady state is reached unless a late spike (a busy machine) keeps the last window
        # slow: when reached, not before the replica was ready (the held arrivals' wait)
        steady = figures["time_to_steady_ms"]
        assert steady is None or steady >= trial.ready_ms - 200
        assert 0 < figures["goodput_rps"] <= 40 / 10
        # the first answer came after the server was ready, and is the cold TTFT's trial
        assert figures["first_success_ms"] >= trial.ready_ms
        assert trial.cold_ttft_ms is not None and trial.cold_ttft_ms >= trial.ready_ms


def test_a_load_run_round_trips_reports_and_gates(tmp_path: Path, write_scenario):
    path = write_scenario(
        load_scenario_text(
            "--backlog",
            "64",
            "--tokens",
            "3",
            "--startup-delay-ms",
            "{delay}",
            load='pattern = "constant"\nrate = 50\nrequests = 30\nwarm_after_s = 0.1\n'
            "steady_window = 5",
            repetitions=4,
            extra="[matrix]\ndelay = [0, 400]",
        )
    )
    result = CliRunner().invoke(
        app, ["run", str(path), "--results-dir", str(tmp_path), "--run-id", "load", "-q"]
    )
    assert result.exit_code == 0, result.output
    assert "goodput" in result.output and "penalty" in result.output  # the load columns
    run = read_run(tmp_path / "load")
    line = json.loads((tmp_path / "load" / "trials.jsonl").read_text().splitlines()[0])
    assert len(line["load"]) == 60 and "arrival_ms" in line["load"][0]
    assert run.trials[0].load[0].request.index == line["load"][0]["request"]["index"]
    report = tmp_path / "load" / "report"
    assert (report / "load.png").stat().st_size > 10_000
    summary = (report / "summary.csv").read_text()
    assert "time_to_steady_ms" in summary and "load_cold_p95_ms" in summary
    junit = tmp_path / "gate.xml"
    gated = CliRunner().invoke(
        app,
        ["gate", str(tmp_path / "load"), "--factor", "delay", "--baseline-level", "0",
         "--metric", "time_to_steady_ms", "--metric", "first_success_ms", "--junit", str(junit)],
    )  # fmt: skip
    assert gated.exit_code in (0, 1, 2), gated.output
    assert "first_success_ms" in junit.read_text()
    # 400 ms later to listen is 400 ms later to the first answer: a clear regression
    assert 'name="first_success_ms"><failure' in junit.read_text().replace("\n", "")


def test_arrivals_keep_their_schedule(tmp_path: Path, write_scenario):
    """Loose bounds for a busy machine; the tight figures are in benchmarks/load_bench.py."""
    path = write_scenario(
        load_scenario_text(
            "--backlog", "256", "--tokens", "1",
            load='pattern = "constant"\nrate = 100\nrequests = 100\nstart = "ready"',
        )
    )  # fmt: skip
    [trial] = run_scenario(path, run_options(tmp_path)).trials
    arrivals = sorted(r.arrival_ms for r in trial.load)
    assert np.diff(arrivals) == pytest.approx([10.0] * 99, abs=0.01)  # scheduled 10 ms apart
    lag = sorted(r.lag_ms for r in trial.load)
    assert lag[50] < 20 and lag[-1] < 500  # dispatched about on time
    assert all(r.request.status == "ok" for r in trial.load)


def test_every_arrival_has_one_outcome_across_a_chaos_restart_under_load(
    tmp_path: Path, write_scenario
):
    path = write_scenario(
        load_scenario_text(
            "--backlog", "128", "--tokens", "3", "--startup-delay-ms", "200",
            load='pattern = "constant"\nrate = 50\nrequests = 60\nstart = "ready"\n'
            'before_ready = "retry"\nretry_interval_ms = 20',
            extra='[chaos]\nservice = "server"\nat_request = 10\naction = "restart"',
        )
    )  # fmt: skip
    [trial] = run_scenario(path, run_options(tmp_path)).trials
    assert sorted(r.index for r in trial.load) == list(range(60))  # one record each
    chaos = trial.chaos
    assert chaos.recovered and chaos.recovery_ms >= 200  # the new instance's start
    assert chaos.at_ms > trial.ready_ms
    during = [r for r in trial.load if chaos.at_ms < r.arrival_ms < chaos.at_ms + 200]
    assert during and any(r.attempts > 1 for r in during)  # refused while it restarted
    # Retried until answered: every request sent once the old instance was gone. One
    # already streaming when it was stopped (on a busy machine, request 10 itself) is cut
    # mid-answer and not sent again: its answer had begun.
    gone = chaos.old_gone_ms
    assert gone is not None and gone >= chaos.at_ms
    cut = [r for r in trial.load if r.request.status != "ok"]
    assert all(r.request.start_ms < gone and r.attempts == 1 for r in cut)
    assert all(r.request.status == "ok" for r in trial.load if r.request.start_ms >= gone)
    assert [s.name for s in trial.services] == ["server", "server"]


def test_a_load_cut_by_the_trial_s_time_records_every_arrival_and_is_not_ok(
    tmp_path: Path, write_scenario
):
    # the server answers 10 requests, then holds every later one; the trial has 4 s
    path = write_scenario(
        load_scenario_text(
            "--answer-at-most",
            "10",
            load='pattern = "constant"\nrate = 20\nrequests = 40\nstart = "ready"',
            extra="",
        ).replace("seed = 3", "seed = 3\ntrial_timeout_s = 4")
    )
    [trial] = run_scenario(path, run_options(tmp_path)).trials

    assert trial.status == "timeout" and "30 request(s) cut" in (trial.error or ""), trial.error
    assert sorted(r.index for r in trial.load) == list(range(40))
    answered = [r for r in trial.load if r.request.status == "ok"]
    cut = [r for r in trial.load if r.request.status == "timeout"]
    assert len(answered) == 10 and len(cut) == 30
    assert all(
        "cut: the trial's time ran out while it was in flight" in r.request.error for r in cut
    )


def test_a_burst_beyond_the_harness_s_file_limit_says_so_and_is_not_ok(
    tmp_path: Path, write_scenario
):
    path = write_scenario(
        load_scenario_text(load='pattern = "burst"\nrequests = 400\nstart = "ready"')
    )

    def few_files() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128))

    done = subprocess.run(
        run_argv(path, tmp_path / "r", "few-files", "--no-report"),
        preexec_fn=few_files,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    [trial] = read_run(tmp_path / "r" / "few-files").trials
    assert len(trial.load) == 400  # every arrival recorded
    assert trial.status == "failed" and "ran out of file descriptors" in (trial.error or "")
    assert "ulimit -n is 128" in (trial.error or "")
    starved = [r for r in trial.load if r.request.error == HARNESS_OUT_OF_FILES]
    assert starved


def test_a_load_until_after_ready_outlasts_a_slow_start_and_the_warm_phase_matches_it(
    tmp_path: Path, write_scenario
):
    # the server takes 1.5 s to listen; the cold phase goes on 1 s past readiness
    path = write_scenario(
        load_scenario_text(
            "--startup-delay-ms",
            "1500",
            load='pattern = "constant"\nrate = 20\nuntil_after_ready_s = 1\nwarm_after_s = 0.2',
        )
    )
    [trial] = run_scenario(path, run_options(tmp_path)).trials

    assert trial.status == "ok", trial.error
    cold = [r for r in trial.load if r.phase == "cold"]
    warm = [r for r in trial.load if r.phase == "warm"]
    assert trial.ready_ms is not None and trial.ready_ms > 1500
    # arrivals every 50 ms from spawn until 1 s after ready: none later, none missing
    assert max(r.arrival_ms for r in cold) <= trial.ready_ms + 1000
    assert len(cold) >= int((trial.ready_ms + 1000) / 50) - 1
    assert len(warm) == len(cold)
