"""Fixtures for the reference target: a generated tiny model and the server as a real
subprocess on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from coldstart_bench.launch import free_port

pytest.importorskip("torch")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from coldstart_bench.target.weights import write_model

    out = tmp_path_factory.mktemp("models") / "tiny"
    write_model(out, "tiny", ["safetensors", "torch"], seed=0)
    return out


@dataclass
class RunningServer:
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    phases: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def _start(
    model: Path, tmp: Path, *flags: str, scheme: str = "http", env: dict | None = None
) -> RunningServer:
    port = free_port()
    log = tmp / f"server-{port}.log"
    phases = tmp / f"phases-{port}.jsonl"
    argv = [sys.executable, "-m", "coldstart_bench.target", "serve", "--model", str(model)]
    argv += ["--port", str(port), *flags]
    environ = {**os.environ, "COLDSTART_PHASES": str(phases), **(env or {})}
    with open(log, "wb") as out:
        process = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env=environ, start_new_session=True
        )
    return RunningServer(f"{scheme}://127.0.0.1:{port}", process, log, phases)


def _stop(server: RunningServer) -> None:
    if server.process.poll() is None:
        os.killpg(server.process.pid, signal.SIGTERM)
        try:
            server.process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait()


def wait_healthy(server: RunningServer, verify: object = True, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"server exited early:\n{server.log_text()}")
        try:
            if httpx.get(server.url + "/health", verify=verify, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.02)
    raise AssertionError(f"server not healthy after {timeout} s:\n{server.log_text()}")


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., RunningServer]]:
    """Start the reference server with extra flags; every server is stopped afterwards."""
    started: list[RunningServer] = []

    def start(model: Path, *flags: str, **kwargs: object) -> RunningServer:
        server = _start(model, tmp_path, *flags, **kwargs)  # type: ignore[arg-type]
        started.append(server)
        return server

    yield start
    for server in started:
        _stop(server)


@pytest.fixture(scope="module")
def cached_server(
    tiny_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """One server for the module: warm-up at start-up, prefix and response cache on, the
    garbage collector frozen after the imports."""
    server = _start(
        tiny_model,
        tmp_path_factory.mktemp("server"),
        "--warmup",
        "startup",
        "--prefix-cache",
        "on",
        "--response-cache",
        "on",
        "--system-prompt",
        "You are terse.",
        "--gc-freeze",
        "on",
    )
    try:
        wait_healthy(server)
        yield server
    finally:
        _stop(server)
