"""``--otlp-export``: every trial sent as a trace over OTLP/HTTP, read back by our own
receiver and by a real third-party one (Arize Phoenix, in a virtualenv of its own where
.ci/run made it), every span there with its name and nesting."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from coldstart_bench.probe.otlp import OtlpReceiver
from coldstart_bench.proc.ports import free_port
from coldstart_bench.report.otlp_export import export_request, export_trials
from coldstart_bench.results.store import read_run

GOLDEN_RUN = Path(__file__).parents[1] / "data" / "run-0e8cffb"
PHOENIX = Path(
    os.environ.get(
        "COLDSTART_PHOENIX",
        Path.home() / ".cache" / "coldstart-bench" / "phoenix" / "bin" / "phoenix",
    )
)


def expected_names(trials) -> Counter[str]:
    """The spans a trial's trace holds: the trial, each service's start, each request and
    its parts, each phase."""
    names: Counter[str] = Counter()
    for t in trials:
        names["trial"] += 1
        names.update(f"spawn → ready: {s.name}" for s in t.services)
        for r in t.requests:
            names[f"request {r.index + 1}"] += 1
            names.update(part for part, ms in (("connect", r.connect_ms), ("TLS", r.tls_ms)) if ms)
            names["wait for headers"] += r.ttfb_ms is not None
            names["headers → first token"] += r.ttft_ms is not None and r.ttft_ms > (r.ttfb_ms or 0)
        names.update(p.phase for p in t.phases)
    return +names


def test_every_trial_arrives_as_one_trace_with_its_spans_nested_under_the_trial():
    run = read_run(GOLDEN_RUN)
    with OtlpReceiver() as receiver:
        sent = export_trials(run.trials, run.metadata.run_id, receiver.endpoint)
    spans = receiver.received()
    assert sent == len(spans) == sum(expected_names(run.trials).values())
    assert Counter(s.name for s in spans) == expected_names(run.trials)
    by_trace: dict[str, list] = {}
    for span in spans:
        by_trace.setdefault(span.trace_id, []).append(span)
    assert len(by_trace) == len(run.trials)
    for trace in by_trace.values():
        ids = {s.span_id for s in trace}
        assert [s.name for s in trace if s.parent_id not in ids] == ["trial"]
    assert {s.service for s in spans} == {
        "coldstart-bench",
        *(s.name for t in run.trials for s in t.services),
    }


def test_exporting_a_run_twice_sends_the_same_ids():
    run = read_run(GOLDEN_RUN)
    assert export_request(run.trials[:3], "r")[0] == export_request(run.trials[:3], "r")[0]


def test_a_collector_that_cannot_be_reached_is_an_os_error():
    with pytest.raises(OSError, match="cannot send traces"):
        export_trials(read_run(GOLDEN_RUN).trials[:1], "r", f"http://127.0.0.1:{free_port()}")


@pytest.fixture
def phoenix(tmp_path: Path):
    if not PHOENIX.exists():
        pytest.skip(f"Arize Phoenix is not installed at {PHOENIX} (.ci/run makes it)")
    port = free_port()
    env = {
        **os.environ,
        "PHOENIX_WORKING_DIR": str(tmp_path),
        "PHOENIX_PORT": str(port),
        "PHOENIX_GRPC_PORT": str(free_port()),
        "PHOENIX_HOST": "127.0.0.1",
    }
    with open(tmp_path / "phoenix.log", "wb") as log:  # the child keeps its own copy
        process = subprocess.Popen(
            [str(PHOENIX), "serve"], env=env, stdout=log, stderr=log, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, (tmp_path / "phoenix.log").read_text()[-2000:]
            try:
                if httpx.get(url + "/v1/projects", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "Phoenix did not start in 120 s"
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.slow
def test_arize_phoenix_reads_back_every_span_of_every_trial(phoenix: str):
    run = read_run(GOLDEN_RUN)
    trials = run.trials[:6]
    sent = export_trials(trials, run.metadata.run_id, phoenix)
    spans: list[dict] = []
    deadline = time.monotonic() + 30
    while len(spans) < sent and time.monotonic() < deadline:  # Phoenix stores in the background
        time.sleep(0.5)
        answer = httpx.get(f"{phoenix}/v1/projects/default/spans", params={"limit": 1000})
        spans = answer.json()["data"]
    assert len(spans) == sent
    assert Counter(s["name"] for s in spans) == expected_names(trials)
    ids = {s["context"]["span_id"] for s in spans}
    roots = [s["name"] for s in spans if s["parent_id"] not in ids]
    assert roots == ["trial"] * len(trials)
