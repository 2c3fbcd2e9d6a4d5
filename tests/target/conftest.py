"""Fixtures for the reference target: a generated tiny model and the server as a real
subprocess on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from server_helpers import RunningServer, start_server_process, stop_server, wait_healthy

pytest.importorskip("torch")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from coldstart_bench.target.weights import write_model

    out = tmp_path_factory.mktemp("models") / "tiny"
    write_model(out, "tiny", ["safetensors", "torch"], seed=0)
    return out


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., RunningServer]]:
    """Start the reference server with extra flags; every server is stopped afterwards."""
    started: list[RunningServer] = []

    def start(model: Path, *flags: str, **kwargs: object) -> RunningServer:
        server = start_server_process(model, tmp_path, *flags, **kwargs)  # type: ignore[arg-type]
        started.append(server)
        return server

    yield start
    for server in started:
        stop_server(server)


@pytest.fixture(scope="module")
def cached_server(
    tiny_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """One server for the module: warm-up at start-up, prefix and response cache on, the
    garbage collector frozen after the imports."""
    server = start_server_process(
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
        stop_server(server)
