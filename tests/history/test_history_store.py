"""The history store: a run added once however often it is added, two jobs adding at once
both kept, a writer killed mid-add leaving the file as it was."""

from __future__ import annotations

import dataclasses
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import run_argv, toy_scenario
from typer.testing import CliRunner

from coldstart_bench.cli.app import app
from coldstart_bench.history.entry import entry_of
from coldstart_bench.history.store import HistoryError, HistoryStore
from coldstart_bench.results.store import read_run

GOLDEN_RUN = Path(__file__).parents[1] / "data" / "run-0e8cffb"


def test_a_run_adds_every_trials_metrics_and_phases_once(tmp_path: Path):
    run = read_run(GOLDEN_RUN)
    entry, values = entry_of(run, "abc123", "main")
    with HistoryStore(tmp_path / "h.sqlite") as store:
        assert store.add(entry, values) is True
        assert store.add(entry, values) is False  # the same run again: nothing new
        (stored,) = store.runs()
        assert stored.entry == entry and entry.trials == len(run.measured)
        metrics = {m for _v, m in store.metrics(run.name)}
        assert {"cold_ttft_ms", "ready_ms", "phase:import"} <= metrics
        cold = store.values(run.name, "cold_ttft_ms")
    assert len(cold) == len([t for t in run.measured if t.status == "ok"])


def test_the_cli_adds_lists_and_says_when_a_run_was_there(tmp_path: Path):
    store = str(tmp_path / "h.sqlite")
    add = [
        "history",
        "add",
        str(GOLDEN_RUN),
        "--history",
        store,
        "--commit",
        "c1",
        "--branch",
        "main",
    ]
    first, again = CliRunner().invoke(app, add), CliRunner().invoke(app, add)
    assert first.exit_code == 0 and "added" in first.output, first.output
    assert again.exit_code == 0 and "already held" in again.output
    listed = CliRunner().invoke(app, ["history", "list", "--history", store])
    assert listed.output.count("old-format-0e8cffb") == 1 and " c1 " in listed.output
    missing = CliRunner().invoke(app, ["history", "list"], env={"COLDSTART_HISTORY": ""})
    assert missing.exit_code == 2 and "--history PATH" in missing.output


ADD_MANY = """
import sys, dataclasses
from coldstart_bench.history.entry import entry_of
from coldstart_bench.history.store import HistoryStore
from coldstart_bench.results.store import read_run
entry, values = entry_of(read_run(sys.argv[2]), None, None)
many = [dataclasses.replace(v, trial=v.trial + 1000 * j) for j in range(40) for v in values]
with HistoryStore(sys.argv[1]) as store:
    for i in range(int(sys.argv[4])):
        store.add(dataclasses.replace(entry, run_key=f"{sys.argv[3]}-{i}"), many)
        print(i, flush=True)
"""


def test_two_jobs_adding_at_once_keep_every_run(tmp_path: Path):
    path = tmp_path / "h.sqlite"
    jobs = [
        subprocess.Popen(
            [sys.executable, "-c", ADD_MANY, str(path), str(GOLDEN_RUN), name, "10"],
            stdout=subprocess.DEVNULL,
        )
        for name in ("a", "b")
    ]
    assert [job.wait(120) for job in jobs] == [0, 0]
    with HistoryStore(path) as store:
        keys = [r.entry.run_key for r in store.runs()]
    assert sorted(keys) == sorted(f"{n}-{i}" for n in "ab" for i in range(10))


def test_a_writer_killed_mid_add_leaves_no_torn_run(tmp_path: Path):
    path = tmp_path / "h.sqlite"
    job = subprocess.Popen(
        [sys.executable, "-c", ADD_MANY, str(path), str(GOLDEN_RUN), "k", "1000"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert job.stdout is not None
    for _ in range(3):  # three runs in, the next one half written
        job.stdout.readline()
    time.sleep(0.05)
    os.kill(job.pid, signal.SIGKILL)
    job.wait()
    run = read_run(GOLDEN_RUN)
    entry, values = entry_of(run, None, None)
    per_run = len(values) * 40
    with HistoryStore(path) as store:
        kept = store.runs()
        assert kept  # what was committed stays
        for stored in kept:  # and each run has all of its figures or is not there
            rows = (
                sqlite3.connect(path)
                .execute(
                    "SELECT count(*) FROM trial_values WHERE run_key = ?", (stored.entry.run_key,)
                )
                .fetchone()[0]
            )
            assert rows == per_run
        assert store.add(dataclasses.replace(entry, run_key="after"), values) is True


def test_a_file_that_is_no_store_is_a_clear_error(tmp_path: Path):
    path = tmp_path / "h.sqlite"
    path.write_text("not a database")
    with pytest.raises(HistoryError, match="not a history store"):
        HistoryStore(path)


def test_a_run_given_history_adds_itself_when_it_ends(tmp_path: Path, write_scenario):
    scenario = write_scenario(toy_scenario(repetitions=2, requests={"count": 1}))
    store = tmp_path / "h.sqlite"
    argv = run_argv(scenario, tmp_path / "results", "r1", "--no-report", "--history", str(store))
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "GITHUB_SHA": "feedbeef", "GITHUB_REF_NAME": "main"},
    )
    assert done.returncode == 0, done.stderr
    assert f"history: {store}: added" in done.stderr
    with HistoryStore(store) as history:
        (stored,) = history.runs()
    assert (stored.entry.run_id, stored.entry.commit, stored.entry.branch) == (
        "r1",
        "feedbeef",
        "main",
    )
