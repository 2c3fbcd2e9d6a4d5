"""Shared fixtures: scenario files written on the fly, trustme certificates, and a guard
that fails any test leaving a process (or a cgroup made for one) behind."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import TOY_SERVER, Server

from coldstart_bench.host import accounting, processes
from coldstart_bench.plan.specs import ReadySpec, ServiceSpec
from coldstart_bench.proc.group import TrialProcesses
from coldstart_bench.proc.ports import free_port


@pytest.fixture
def write_scenario(tmp_path: Path) -> Callable[..., Path]:
    """Write a scenario file from (dedented) TOML text and return its path."""

    def write(text: str, name: str = "scenario.toml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


@dataclass(frozen=True)
class CertFiles:
    ca: Path
    cert: Path
    key: Path


@pytest.fixture(scope="session")
def trustme_certs(tmp_path_factory: pytest.TempPathFactory) -> CertFiles:
    trustme = pytest.importorskip("trustme")
    directory = tmp_path_factory.mktemp("certs")
    ca = trustme.CA()
    server = ca.issue_cert("localhost", "127.0.0.1")
    files = CertFiles(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    ca.cert_pem.write_to_path(str(files.ca))
    server.private_key_pem.write_to_path(str(files.key))
    for i, blob in enumerate(server.cert_chain_pems):
        blob.write_to_path(str(files.cert), append=i > 0)
    return files


def _descendants() -> dict[int, processes.ProcInfo]:
    table = processes.scan()
    return {
        pid: table[pid] for pid in processes.descendants(os.getpid(), table) if table[pid].alive
    }


def _leaked_groups(before: set[Path]) -> list[Path]:
    """cgroups made since ``before`` by this process or by a harness no longer alive (a
    killed one's are its guardian's to remove)."""
    return [
        group
        for group, pid in accounting.made_groups().items()
        if group not in before and (pid == os.getpid() or processes.read_proc(pid) is None)
    ]


@pytest.fixture(autouse=True)
def no_leaked_processes() -> Iterator[None]:
    """Every test must leave no process of its own behind (checked in /proc, not trusted
    from exit codes), nor a cgroup made for one. Leftovers are removed so one failure does
    not cascade."""
    before = set(_descendants())
    groups_before = set(accounting.made_groups())
    yield
    deadline = time.monotonic() + 3.0
    leaked = {pid: p for pid, p in _descendants().items() if pid not in before}
    while leaked and time.monotonic() < deadline:
        time.sleep(0.05)
        leaked = {pid: p for pid, p in _descendants().items() if pid not in before}
    for pid in leaked:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    processes.reap(leaked)
    assert not leaked, f"processes left behind: {[(p.pid, p.comm) for p in leaked.values()]}"
    groups = _leaked_groups(groups_before)
    while groups and time.monotonic() < deadline + 3.0:
        time.sleep(0.05)
        groups = _leaked_groups(groups_before)
    for group in groups:
        with contextlib.suppress(OSError):
            group.rmdir()
    assert not groups, f"cgroups left behind: {[str(g) for g in groups]}"


@pytest.fixture
def toy(tmp_path: Path) -> Iterator[Server]:
    """Start a toy server with the given flags; returns its port. Torn down after the test."""
    processes = TrialProcesses()

    def start(*flags: str) -> int:
        port = free_port()
        spec = ServiceSpec(
            name=f"toy{len(processes.services)}",
            argv=(sys.executable, str(TOY_SERVER), "--port", str(port), *flags),
            env=dict(os.environ),
            cwd=None,
            port=port,
            ready=ReadySpec("tcp", "127.0.0.1", port, 20.0, 1.0),
            stop_signal=15,
            stop_grace_s=5.0,
            log_path=tmp_path / f"toy{len(processes.services)}.log",
            phases_path=tmp_path / "phases.jsonl",
        )
        processes.start(spec)
        return port

    yield start
    processes.stop_all()
