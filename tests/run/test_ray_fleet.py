"""A fleet placed across the nodes of a real three-node Ray cluster on this machine (Ray's
``cluster_utils``): each replica on a node of its own, started and stopped there, its times
joined to the trial's clock; nothing left on any node after the run, nor after the harness
is killed with SIGKILL in the middle of a trial."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import TOY_SERVER, alive, coldstart_argv, pids_in

from coldstart_bench.host import processes
from coldstart_bench.results.store import read_run
from coldstart_bench.run.ray_fleet import local_cluster

ray = pytest.importorskip("ray", reason="needs Ray (the ray extra)")
HAPROXY = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")


@pytest.fixture
def three_nodes() -> Iterator[str]:
    """A head and two more nodes on this machine, one CPU each; its address."""
    with local_cluster(nodes=3) as address:
        yield address


def scenario(tmp_path: Path, balancer: str, delay_ms: int, pidfile: Path) -> Path:
    path = tmp_path / f"spread-{balancer}.toml"
    path.write_text(f"""
name = "spread"
repetitions = 1
[fleet]
replicas = 3
balancer = "{balancer}"
placement = "ray"
health_check_ms = 50
[[services]]
name = "toy"
command = ["{sys.executable}", "{TOY_SERVER}", "--port", "{{port}}",
           "--startup-delay-ms", "{delay_ms}", "--pidfile", "{pidfile}"]
ready = {{ kind = "http", path = "/health", timeout_s = 60 }}
[requests]
kind = "http"
path = "/health"
count = 3
""")
    return path


def coldstart(*args: str, address: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "RAY_ADDRESS": address}
    return subprocess.Popen(
        coldstart_argv(*args), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


@pytest.mark.timeout(400)
@pytest.mark.skipif(HAPROXY is None, reason="needs HAProxy (apt-get install haproxy)")
def test_replicas_spread_over_three_nodes_and_nothing_outlives_the_harness(
    tmp_path: Path, three_nodes: str
):
    pidfile = tmp_path / "replicas.pid"
    run = coldstart(
        "run", str(scenario(tmp_path, "haproxy", 300, pidfile)), "--results-dir",
        str(tmp_path / "results"), "--run-id", "spread", "-q", "--no-report",
        address=three_nodes,
    )  # fmt: skip
    said = run.communicate(timeout=300)[0].decode()
    assert run.returncode == 0, said
    (trial,) = read_run(tmp_path / "results" / "spread").trials
    fleet = trial.fleet
    assert trial.status == "ok" and fleet is not None
    assert len(set(fleet.nodes)) == 3  # one replica on each node
    assert all(abs(o) < 50 for o in fleet.clock_offset_ms)  # one machine: one clock
    assert all(0 <= e < 50 for e in fleet.clock_error_ms)
    ready = [r for r in fleet.ready_ms if r is not None]
    assert len(ready) == 3 and all(r >= 300 for r in ready)  # each after its own start-up
    assert [s.name for s in trial.services] == ["toy", "toy.2", "toy.3"]
    assert all(s.status == "ok" and s.spawn_ms is not None for s in trial.services)
    assert all(s.cpu is not None and s.cpu.ready_ms for s in trial.services)  # on its node
    answered = [r.replica for r in trial.requests]
    assert len(answered) == 3 and list(fleet.balancer_answers) == answered
    assert not [p for p in pids_in(pidfile) if alive(p)]  # every node stopped its replica

    # The harness killed in the middle of a trial: the replicas are still starting (20 s)
    pidfile.unlink()
    run = coldstart(
        "run", str(scenario(tmp_path, "first-ready", 20_000, pidfile)), "--results-dir",
        str(tmp_path / "results"), "--run-id", "killed", "-q", "--no-report",
        address=three_nodes,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while len(pids_in(pidfile) if pidfile.exists() else []) < 3:
        assert run.poll() is None and time.monotonic() < deadline, "the replicas never started"
        time.sleep(0.2)
    replicas = pids_in(pidfile)
    assert all(alive(p) for p in replicas)
    run.send_signal(signal.SIGKILL)
    run.wait()
    deadline = time.monotonic() + 60
    while [p for p in replicas if alive(p)] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [p for p in replicas if alive(p)], "a replica outlived the killed harness"
    # their actors gone, the replicas' zombies are reaped by a subreaper: this test process,
    # where an earlier test made it one (the watchdogs then remove the replicas' cgroups)
    processes.reap(replicas)
