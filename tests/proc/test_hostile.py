"""Hostile targets through the whole harness: each gets the expected status and a clear
reason, and no process of the trial is alive afterwards (checked in /proc for every pid
the server and its descendants recorded — not trusted from exit codes)."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import pytest
from helpers import alive, pids_in, run_options
from hostile_cases import CASES, Case, taken_port

from coldstart_bench.run.session import run_scenario
from coldstart_bench.scenario.reader import read_scenario


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_hostile_target(case: Case, tmp_path: Path, write_scenario):
    pidfile = tmp_path / "pids"
    holder = taken_port() if "port" in case.name else nullcontext(None)
    with holder as port:
        path = write_scenario(case.scenario(pidfile, port))
        outcome = run_scenario(read_scenario(path), run_options(tmp_path / "r"))
    [trial] = outcome.trials
    assert trial.status == case.status, trial.error
    assert case.reason in (trial.error or "")
    assert "Traceback" not in (trial.error or "")
    assert [pid for pid in pids_in(pidfile) if alive(pid)] == []
    assert all(not s.survivors for s in trial.services)
    if "SIGTERM" in case.name:
        assert trial.services[0].stopped_by == "SIGKILL"
    if "escapee" in case.name:
        assert len(pids_in(pidfile)) == 5
    if "floods" in case.name:
        assert any("log capped" in note for note in trial.notes)
    if "50 MB" in case.name:
        assert trial.requests[0].bytes == 50 * 1024 * 1024
    if "sleeper" in case.name:  # the escapee existed, and was found and killed
        assert len(pids_in(pidfile)) >= 2
    if "SIGSTOP" in case.name:  # no use waiting the 10 s grace out for a stopped process
        assert trial.services[0].stopped_by == "SIGKILL (it was stopped)"
        assert trial.teardown_ms < 5000
