"""`ready = { kind = "first-token" }`: for a server whose health endpoint says ready before
its engine can answer (vLLM's /health went 200 on a server whose first request then failed),
ready is when a streamed request returns its first token."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import run_options, toy_command

from coldstart_bench.proc.readiness import _carries_text
from coldstart_bench.run.session import RunOutcome, run_scenario
from coldstart_bench.scenario.reader import read_scenario

ENGINE_DELAY_MS = 600  # /health is 200 at once; completions are 503 this long after listen


def run_toy(
    tmp_path: Path, write_scenario: Callable[..., Path], ready: str, *flags: str
) -> RunOutcome:
    path = write_scenario(f"""
        repetitions = 1
        [[services]]
        command = {toy_command("--engine-delay-ms", str(ENGINE_DELAY_MS), *flags)}
        ready = {ready}
        [requests]
        count = 1
        max_tokens = 2
    """)
    return run_scenario(read_scenario(path), run_options(tmp_path / "results"))


def test_ready_is_the_first_token_not_the_health_endpoint(tmp_path: Path, write_scenario):
    outcome = run_toy(
        tmp_path,
        write_scenario,
        '{ kind = "first-token", body = { model = "toy", prompt = "Hi", max_tokens = 1 } }',
    )

    (trial,) = outcome.trials
    assert trial.status == "ok", trial.error
    engine_up = next(p for p in trial.phases if p.phase == "engine_up")
    assert trial.ready_ms is not None and trial.ready_ms >= engine_up.end_ms
    assert trial.requests[0].status == "ok"


def test_the_health_endpoint_alone_lets_the_first_request_fail(tmp_path: Path, write_scenario):
    outcome = run_toy(tmp_path, write_scenario, '{ kind = "http", path = "/health" }')

    (trial,) = outcome.trials
    engine_up = next(p for p in trial.phases if p.phase == "engine_up")
    assert trial.ready_ms is not None and trial.ready_ms < engine_up.end_ms
    assert trial.status == "failed" and trial.requests[0].status_code == 503


@pytest.mark.parametrize("status", [400, 404])
def test_a_request_refused_for_what_it_is_fails_at_once_instead_of_waiting(
    tmp_path: Path, write_scenario, status: int
):
    # a wrong body is refused every time: a 400, or the 404 with an API error object that
    # vLLM answers for a model it does not serve
    outcome = run_toy(
        tmp_path,
        write_scenario,
        '{ kind = "first-token", timeout_s = 60, body = { model = "nope", prompt = "Hi" } }',
        "--status", str(status),
    )  # fmt: skip

    (trial,) = outcome.trials
    assert trial.status == "failed"  # at once: waiting would have ended as a timeout
    assert "readiness request was refused" in (trial.error or "")
    assert f"answered {status}" in (trial.error or "")
    assert "planted failure" in (trial.error or "")


def test_a_404_without_an_api_error_is_waited_out_as_a_route_not_there_yet(
    tmp_path: Path, write_scenario
):
    outcome = run_toy(
        tmp_path, write_scenario, '{ kind = "first-token", path = "/v1/nothing", timeout_s = 2 }'
    )

    (trial,) = outcome.trials
    assert trial.status == "timeout"
    assert "refused" not in (trial.error or "")


def test_a_stream_event_counts_only_when_it_carries_text():
    assert _carries_text(b'data: {"choices": [{"text": "Hel"}]}\n')
    assert _carries_text(b'data: {"choices": [{"delta": {"content": "Hel"}}]}\n')
    assert not _carries_text(b'data: {"choices": [{"delta": {"role": "assistant"}}]}\n')
    assert not _carries_text(b'data: {"choices": [{"delta": {"content": ""}}]}\n')
    assert not _carries_text(b"data: [DONE]\n")
    assert not _carries_text(b": keep-alive\n")
    assert not _carries_text(b'data: {"choices": []}\n')
