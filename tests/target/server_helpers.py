"""The reference server as a subprocess, for the target tests and their fixtures."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from coldstart_bench.proc.ports import free_port


@dataclass
class RunningServer:
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    phases: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def start_server_process(
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


def stop_server(server: RunningServer) -> None:
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
