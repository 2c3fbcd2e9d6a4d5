"""The reference gateway as real processes: an upstream reference server, gateways, and
a real redis-server (tests skip where it is not installed)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from helpers import REPO, run_options
from server_helpers import RunningServer, wait_healthy

from coldstart_bench.proc.ports import free_port
from coldstart_bench.run.session import run_scenario
from coldstart_bench.scenario.reader import read_scenario

REDIS = shutil.which("redis-server")
needs_redis = pytest.mark.skipif(
    REDIS is None, reason="needs redis-server (apt-get install redis-server)"
)
CHAT = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4, "stream": True}


def spawn(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def processes():
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for p in reversed(started):
        stop(p)


def start_gateway(processes, tmp_path: Path, upstream_port: int, *flags: str) -> RunningServer:
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "coldstart_bench.target",
        "serve-gateway",
        "--port",
        str(port),
        "--upstream",
        f"http://127.0.0.1:{upstream_port}",
        "--health-interval-ms",
        "100",
        *flags,
    ]
    process = spawn(argv, tmp_path / f"gw-{port}.log")
    processes.append(process)
    server = RunningServer(
        f"http://127.0.0.1:{port}", process, tmp_path / f"gw-{port}.log", tmp_path / "none"
    )
    wait_healthy(server)
    return server


def start_upstream(processes, tmp_path: Path, model: Path, port: int) -> RunningServer:
    argv = [
        sys.executable,
        "-m",
        "coldstart_bench.target",
        "serve",
        "--model",
        str(model),
        "--port",
        str(port),
    ]
    process = spawn(argv, tmp_path / f"up-{port}-{len(processes)}.log")
    processes.append(process)
    server = RunningServer(
        f"http://127.0.0.1:{port}", process, tmp_path / "up.log", tmp_path / "none"
    )
    wait_healthy(server)
    return server


def stats(gateway: RunningServer) -> dict:
    return httpx.get(gateway.url + "/stats").json()


def test_cache_hits_never_reach_the_upstream(processes, tmp_path: Path, tiny_model: Path):
    upstream = start_upstream(processes, tmp_path, tiny_model, free_port())
    gateway = start_gateway(
        processes, tmp_path, int(upstream.url.rsplit(":", 1)[1]), "--cache", "local"
    )
    replies = [httpx.post(gateway.url + "/v1/chat/completions", json=CHAT) for _ in range(3)]
    assert [r.headers["x-cache"] for r in replies] == ["miss", "hit", "hit"]
    assert replies[0].text == replies[2].text and "data: [DONE]" in replies[2].text
    counts = stats(gateway)
    assert counts["upstream_requests"] == 1 and counts["l1_hits"] == 2
    random = {**CHAT, "temperature": 1.0}  # not deterministic: never cached
    httpx.post(gateway.url + "/v1/chat/completions", json=random)
    assert stats(gateway)["upstream_requests"] == 2


@needs_redis
def test_an_invalidation_reaches_every_gateway(processes, tmp_path: Path, tiny_model: Path):
    redis_port = free_port()
    processes.append(
        spawn(
            [
                REDIS,
                "--port",
                str(redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            tmp_path / "redis.log",
        )
    )
    upstream = start_upstream(processes, tmp_path, tiny_model, free_port())
    up_port = int(upstream.url.rsplit(":", 1)[1])
    flags = ("--cache", "local+redis", "--redis", f"redis://127.0.0.1:{redis_port}/0")
    first = start_gateway(processes, tmp_path, up_port, *flags)
    second = start_gateway(processes, tmp_path, up_port, *flags)
    httpx.post(first.url + "/v1/chat/completions", json=CHAT)  # upstream, then L1 + Redis
    hit = httpx.post(second.url + "/v1/chat/completions", json=CHAT)
    assert hit.headers["x-cache"] == "hit" and stats(second)["l2_hits"] == 1
    assert stats(second)["l1_entries"] == 1
    key = httpx.post(
        first.url + "/cache/key", json={"path": "/v1/chat/completions", "body": CHAT}
    ).json()["key"]
    httpx.post(first.url + "/cache/invalidate", json={"key": key})
    deadline = time.monotonic() + 2
    while stats(second)["l1_entries"] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert stats(second)["l1_entries"] == 0 and stats(second)["invalidations_received"] == 1
    again = httpx.post(second.url + "/v1/chat/completions", json=CHAT)
    assert again.headers["x-cache"] == "miss"


def test_a_restarted_upstream_is_reconnected_within_the_health_interval(
    processes, tmp_path: Path, tiny_model: Path
):
    port = free_port()
    upstream = start_upstream(processes, tmp_path, tiny_model, port)
    gateway = start_gateway(processes, tmp_path, port, "--upstream-pool", "on")
    assert httpx.post(gateway.url + "/v1/chat/completions", json=CHAT).status_code == 200
    stop(upstream.process)
    start_upstream(processes, tmp_path, tiny_model, port)  # same port, new process
    back = time.monotonic()
    while httpx.post(gateway.url + "/v1/chat/completions", json=CHAT).status_code != 200:
        assert time.monotonic() - back < 2.0, "not reconnected"
        time.sleep(0.01)
    assert time.monotonic() - back < 1.0  # health checks every 100 ms (~0.2 s seen)
    assert stats(gateway)["reconnects"] >= 1


@needs_redis
@pytest.mark.slow
def test_the_stack_scenario_starts_chains_restarts_and_leaves_nothing(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("COLDSTART_CACHE_DIR", str(tmp_path / "cache"))
    loaded = read_scenario(REPO / "scenarios" / "gateway-stack.toml")
    outcome = run_scenario(
        loaded,
        run_options(
            tmp_path / "r",
            repetitions=1,
            variants={"upstream_pool": ["on"], "warmup": ["startup"], "cache": ["redis", "off"]},
        ),
    )
    by_id = {t.variant: t for t in outcome.trials}
    assert all(t.status == "ok" for t in outcome.trials), [t.error for t in outcome.trials]
    redis_trial = by_id["upstream_pool=on,cache=redis,warmup=startup,chaos=off"]
    assert [s.name for s in redis_trial.services] == ["redis", "llm", "gateway"]
    assert [s.stopped_by for s in redis_trial.services] != [None, None, None]
    chaos_trial = by_id["upstream_pool=on,cache=off,warmup=startup,chaos=on"]
    chaos = chaos_trial.chaos
    assert chaos.recovered and chaos.recovery_ms >= chaos.restart_ms
    # The restarted server's phases are its own, not a second "import" of the cold start.
    imports = [p for p in chaos_trial.phases if p.phase == "import"]
    assert {p.service for p in imports} >= {"llm", "llm (restart 1)"}
    first = next(p for p in imports if p.service == "llm")
    again = next(p for p in imports if p.service == "llm (restart 1)")
    assert first.end_ms <= chaos_trial.ready_ms < again.start_ms
    assert all(not s.survivors for t in outcome.trials for s in t.services)


def start_gateway_without_upstream(processes, tmp_path: Path, upstream_port: int, *flags: str):
    """A gateway whose upstream is not running (yet): it listens, /health stays 503."""
    port = free_port()
    argv = [sys.executable, "-m", "coldstart_bench.target", "serve-gateway", "--port", str(port),
            "--upstream", f"http://127.0.0.1:{upstream_port}", "--health-interval-ms", "100",
            *flags]  # fmt: skip
    processes.append(spawn(argv, tmp_path / f"gw-{port}.log"))
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/stats", timeout=1)
            return f"http://127.0.0.1:{port}"
        except httpx.HTTPError:
            assert time.monotonic() < deadline, "the gateway never listened"
            time.sleep(0.05)


def test_requests_wait_in_the_bounded_queue_until_an_upstream_is_healthy(
    processes, tmp_path: Path, tiny_model: Path
):
    from concurrent.futures import ThreadPoolExecutor

    upstream_port = free_port()
    url = start_gateway_without_upstream(
        processes, tmp_path, upstream_port, "--queue-size", "2", "--queue-timeout-s", "120"
    )
    post = lambda: httpx.post(url + "/v1/chat/completions", json=CHAT, timeout=180)  # noqa: E731
    with ThreadPoolExecutor(3) as pool:
        waiting = [pool.submit(post) for _ in range(2)]
        deadline = time.monotonic() + 30
        while httpx.get(url + "/stats").json()["queue_depth"] < 2:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        refused = post()  # the queue is full: refused at once
        start_upstream(processes, tmp_path, tiny_model, upstream_port)
        answered = [f.result() for f in waiting]
    assert refused.status_code == 503 and "the queue is full" in refused.text
    assert [r.status_code for r in answered] == [200, 200]
    assert all("data: [DONE]" in r.text for r in answered)
    counts = httpx.get(url + "/stats").json()
    assert (counts["queued"], counts["queue_rejected"], counts["queue_max_depth"]) == (2, 1, 2)
    assert counts["queue_timeouts"] == 0 and counts["queue_depth"] == 0


def test_a_request_waits_no_longer_than_the_queue_timeout(processes, tmp_path: Path):
    url = start_gateway_without_upstream(
        processes, tmp_path, free_port(), "--queue-size", "4", "--queue-timeout-s", "0.5"
    )
    began = time.monotonic()
    reply = httpx.post(url + "/v1/chat/completions", json=CHAT, timeout=30)
    waited = time.monotonic() - began
    assert reply.status_code == 503 and "within 0.5 s" in reply.text
    assert waited >= 0.5
    assert httpx.get(url + "/stats").json()["queue_timeouts"] == 1
