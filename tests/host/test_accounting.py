"""A service's CPU work and memory: a cgroup made for it counts every process it starts,
escapees included; the process table stands in where no cgroup can be made."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import run_options, toy_scenario

from coldstart_bench.host import accounting
from coldstart_bench.run.session import run_scenario

# a child that spins 0.3 s of CPU, and a grandchild that double-forks away and spins too
WORK = """
import os, sys, time
def spin(s):
    end = time.thread_time() + s
    while time.thread_time() < end: pass
spin(0.2)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        spin(0.3)
    os._exit(0)
os.wait()
time.sleep(0.5)
"""


def _cgroups_here() -> bool:
    group = accounting.make_group("check")
    if group is None:
        return False
    group.remove()
    return True


needs_cgroup = pytest.mark.skipif(not _cgroups_here(), reason="no cgroup can be made here")


@needs_cgroup
def test_a_cgroup_counts_every_process_an_escapee_included_and_keeps_the_pid():
    group = accounting.make_group("test")
    assert group is not None
    proc = subprocess.Popen(group.wrap([sys.executable, "-c", WORK]))
    try:
        time.sleep(0.1)
        assert proc.pid in group.members()  # the shell exec'd the command: the same pid
        assert b"python" in Path(f"/proc/{proc.pid}/cmdline").read_bytes()
        proc.wait(30)
        time.sleep(0.4)  # the escaped grandchild's spin
        sample = group.cpu()
        assert sample is not None and sample.source.startswith("cgroup")
        assert sample.total_ms >= 450  # 0.2 s + 0.3 s of spinning, less a tick's rounding
    finally:
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 5
        while group.members() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert group.remove()
    assert not group.cpu_dir.exists()


def test_the_process_table_counts_a_tree_and_its_reaped_children():
    proc = subprocess.Popen([sys.executable, "-c", WORK])
    time.sleep(1.0)
    sample = accounting.proc_cpu([proc.pid])
    proc.wait(30)
    # the child was reaped into its parent's figures; the escapee is lost to them
    assert sample.source == "proc" and sample.total_ms >= 150


def test_every_service_record_has_its_cpu_work_and_the_trial_its_metrics(
    tmp_path: Path, write_scenario
):
    from coldstart_bench.analysis.metrics import trial_metrics

    path = write_scenario(toy_scenario(repetitions=2))
    outcome = run_scenario(path, run_options(tmp_path / "r", accounting="auto"))
    for trial in outcome.trials:
        work = trial.services[0].cpu
        assert work is not None and work.source in ("cgroup-v1", "cgroup-v2", "proc")
        assert work.ready_ms is not None and work.total_ms is not None
        assert 0 < work.ready_ms <= work.total_ms
        assert work.peak_rss_mib is not None and work.peak_rss_mib > 1
        figures = trial_metrics(trial)
        assert figures["cpu_ready_ms"] == pytest.approx(work.ready_ms)
    leftovers = list(Path("/sys/fs/cgroup").glob(f"**/{accounting.PREFIX}*"))
    assert not [
        p
        for p in leftovers
        if p.name.startswith(f"{accounting.PREFIX}{__import__('os').getpid()}-")
    ]


@needs_cgroup
def test_a_program_that_is_not_there_is_said_so_before_the_shell_would():
    from coldstart_bench.proc.account import TreeAccount

    account = TreeAccount("missing", "auto")
    try:
        with pytest.raises(FileNotFoundError):
            account.command(["no-such-program-xyz"], {"PATH": "/usr/bin"}, None)
        wrapped = account.command([sys.executable, "-c", "pass"], None, None)
        assert wrapped[0] == "/bin/sh" and wrapped[-3:] == [sys.executable, "-c", "pass"]
    finally:
        account.close()
