"""Facts about the machine, each read in one place: the CPUs, their quota and clock, the
process table."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from coldstart_bench.host import cgroups, cpus, processes


def test_the_cpu_quota_is_read_from_cgroup_v2_or_v1_of_this_process(tmp_path: Path):
    v2 = tmp_path / "v2"
    (v2 / "job").mkdir(parents=True)
    (v2 / "job" / "cpu.max").write_text("150000 100000\n")
    assert cgroups.cpu_quota(v2, {"": "/job"}) == 1.5
    (v2 / "job" / "cpu.max").write_text("max 100000\n")
    assert cgroups.cpu_quota(v2, {"": "/job"}) is None

    v1 = tmp_path / "v1"
    (v1 / "cpu" / "job").mkdir(parents=True)
    (v1 / "cpu" / "job" / "cpu.cfs_quota_us").write_text("50000\n")
    (v1 / "cpu" / "job" / "cpu.cfs_period_us").write_text("100000\n")
    assert cgroups.cpu_quota(v1, {"cpu": "/job", "": "/"}) == 0.5
    (v1 / "cpu" / "job" / "cpu.cfs_quota_us").write_text("-1\n")
    assert cgroups.cpu_quota(v1, {"cpu": "/job", "": "/"}) is None


def test_this_process_cgroups_are_read_from_proc(tmp_path: Path):
    listing = tmp_path / "cgroup"
    listing.write_text("4:memory:/a/b\n1:cpu,cpuacct:/c\n0::/d\n")
    assert cgroups.own_paths(listing) == {"memory": "/a/b", "cpu": "/c", "cpuacct": "/c", "": "/d"}
    assert cgroups.own_paths(tmp_path / "missing") == {}


def test_the_clock_is_the_mean_of_the_cpus_the_kernel_lists(tmp_path: Path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor : 0\ncpu MHz : 2000.0\nprocessor : 1\ncpu MHz : 3000.0\n")
    assert cpus.cpu_mhz(info) == 2500.0
    assert cpus.cpu_mhz(tmp_path / "missing") is None


def test_busy_and_stolen_shares_come_from_two_readings_of_the_cpu_times():
    start = cpus.cpu_times()
    assert start is not None and start.total >= start.idle >= 0 and start.steal >= 0
    later = cpus.CpuTimes(start.total + 10, start.idle + 4, start.steal + 1)
    busy, stolen = cpus.shares(start, later) or (None, None)
    assert busy is not None and abs(busy - 0.6) < 1e-9 and stolen is not None
    assert abs(stolen - 0.1) < 1e-9
    assert cpus.shares(start, start) is None and cpus.shares(None, later) is None
    assert 1 <= cpus.usable_cpus() <= cpus.affinity_cpus()


def test_a_process_is_known_by_its_pid_and_start_and_its_tree_by_its_parents():
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE,
    )
    try:
        # Its own line says it runs its own program: until then /proc may still show the
        # forked copy of this process, or an empty command line mid-exec.
        assert child.stdout is not None and child.stdout.readline() == b"up\n"
        info = processes.read_proc(child.pid)
        assert info is not None and info.ppid == os.getpid() and info.alive
        assert processes.start_ticks(child.pid) == info.start_time
        table = processes.scan()
        assert child.pid in processes.descendants(os.getpid(), table)
        assert processes.still_alive([info]) == [processes.read_proc(child.pid)]
        assert b"time.sleep(30)" in processes.command_line(child.pid)
        assert any(
            p.endswith("python3.11") or "python" in p for p in processes.mapped_files(child.pid)
        )
    finally:
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
    assert processes.still_alive([info]) == []
    assert processes.read_proc(child.pid) is None or not processes.read_proc(child.pid).alive
    assert processes.boot_id()
