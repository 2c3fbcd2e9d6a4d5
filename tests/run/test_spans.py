"""A service's OpenTelemetry spans as the trial's phases: placed on the trial's clock with
their nesting, only the trial's own trace, hostile senders bounded and said — end to end
with the reference server's ``--otel-spans`` and with a sender that misbehaves."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import run_options
from trace_rules import check_trace_events

from coldstart_bench.probe.otlp_decode import ReceivedSpan
from coldstart_bench.report.build import build_report
from coldstart_bench.results.store import read_run
from coldstart_bench.run.session import run_scenario
from coldstart_bench.run.spans import span_phases

TRACE = "ab" * 16


def span(name: str, span_id: str, parent: str | None, start: int, end: int, **kw) -> ReceivedSpan:
    return ReceivedSpan(
        TRACE if "trace_id" not in kw else kw.pop("trace_id"),
        span_id,
        parent,
        name,
        start,
        end,
        **kw,
    )


def test_spans_become_phases_on_the_trials_clock_with_their_depth():
    offset, t0 = 1_000_000_000_000, 5_000_000
    spans = [
        span("child", "2" * 16, "1" * 16, offset + t0 + 2_000_000, offset + t0 + 3_000_000),
        span(
            "root",
            "1" * 16,
            "f" * 16,
            offset + t0 + 1_000_000,
            offset + t0 + 4_500_000,
            service="llm",
            pid=7,
        ),
        span("grandchild", "3" * 16, "2" * 16, offset + t0 + 2_500_000, offset + t0 + 2_600_000),
    ]
    notes: list[str] = []
    phases = span_phases(spans, TRACE, offset, t0, ["llm"], notes)
    assert [(p.phase, p.depth, p.start_ms, p.end_ms) for p in phases] == [
        ("root", 0, 1.0, 4.5),
        ("child", 1, 2.0, 3.0),
        ("grandchild", 2, 2.5, 2.6),
    ]
    assert {p.service for p in phases} == {"llm"} and phases[0].process == "pid 7"
    assert all(p.source == "otel" for p in phases) and notes == []


def test_spans_of_another_trace_and_spans_without_an_end_are_left_out_with_notes():
    spans = [
        span("mine", "1" * 16, None, 10, 20),
        span("theirs", "2" * 16, None, 10, 20, trace_id="cd" * 16),
        span("never ended", "3" * 16, None, 10, 0),
    ]
    notes: list[str] = []
    phases = span_phases(spans, TRACE, 0, 0, ["llm"], notes)
    assert [p.phase for p in phases] == ["mine"]
    assert any("1 span(s) of 1 other trace(s)" in n for n in notes)
    assert any("no end or an end before their start" in n and "never ended" in n for n in notes)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("torch")
    pytest.importorskip("opentelemetry.sdk")
    from coldstart_bench.target.weights import write_model

    model = tmp_path_factory.mktemp("model") / "tiny"
    write_model(model, "tiny", ["safetensors"])
    return model


def test_the_reference_servers_spans_agree_with_its_phases_file_within_1_ms(
    tmp_path: Path, write_scenario, tiny_model: Path
):
    scenario = write_scenario(f"""
        repetitions = 2
        [[services]]
        name = "llm"
        spans = "otlp"
        command = ["{sys.executable}", "-m", "coldstart_bench.target", "serve",
                   "--model", "{tiny_model}", "--port", "{{port}}", "--otel-spans"]
        ready = {{ kind = "http", path = "/health" }}
        [requests]
        count = 1
    """)
    outcome = run_scenario(scenario, run_options(tmp_path / "results", run_id="spans"))
    assert outcome.exit_code == 0
    for trial in read_run(outcome.run_dir).trials:
        spans = {p.phase: p for p in trial.phases if p.source == "otel"}
        filed = {p.phase: p for p in trial.phases if p.source is None}
        assert trial.trace_id and len(trial.trace_id) == 32 and trial.notes == ()
        assert set(filed) <= set(spans) and len(filed) >= 5
        for name, phase in filed.items():
            assert abs(spans[name].start_ms - phase.start_ms) < 1.0, name
            assert abs(spans[name].end_ms - phase.end_ms) < 1.0, name
            assert spans[name].depth == 1
        root = spans["startup"]
        assert root.depth == 0 and all(
            s.parent_span_id == root.span_id for s in spans.values() if s is not root
        )
    build_report(outcome.run_dir, formats=["trace"])
    trace = check_trace_events((outcome.run_dir / "report" / "trace.json").read_text())
    span_events = [e for e in trace["traceEvents"] if e.get("cat") == "span"]
    assert len(span_events) == sum(
        p.source == "otel" for t in read_run(outcome.run_dir).trials for p in t.phases
    )


HOSTILE_SENDER = textwrap.dedent('''
    """Posts to the trial's receiver what no honest exporter would, then exits 0."""
    import json, os, sys, urllib.request, urllib.error

    url, trace = sys.argv[1], sys.argv[2].split("-")[1]

    def post(body, kind="application/json"):
        request = urllib.request.Request(url, data=body, headers={"Content-Type": kind})
        try:
            urllib.request.urlopen(request, timeout=5).read()
        except urllib.error.HTTPError:
            pass

    def spans(trace_id, name, end, n=1):
        one = {"traceId": trace_id, "spanId": "1" * 16, "name": name,
               "startTimeUnixNano": 10**18, "endTimeUnixNano": end}
        return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [one] * n}]}]}).encode()

    post(b"\\xff\\xfe not a protobuf", "application/x-protobuf")
    post(spans("ef" * 16, "another trace's", 10**18 + 5))
    post(spans(trace, "never ends", 0))
    for _ in range(3):  # 3 x 1,500 spans: past the receiver's 2,000
        post(spans(trace, "flood", 10**18 + 5, n=1500))
''')


def test_a_hostile_sender_leaves_the_trial_recorded_bounded_and_noted(
    tmp_path: Path, write_scenario
):
    sender = tmp_path / "sender.py"
    sender.write_text(HOSTILE_SENDER)
    scenario = write_scenario(f"""
        repetitions = 1
        warmup_trials = 0
        [[services]]
        name = "sender"
        spans = "otlp"
        command = ["{sys.executable}", "{sender}", "{{otlp_traces_endpoint}}", "{{traceparent}}"]
        ready = {{ kind = "exit" }}
    """)
    outcome = run_scenario(scenario, run_options(tmp_path / "results", run_id="hostile"))
    (trial,) = read_run(outcome.run_dir).trials
    assert trial.status == "ok"
    notes = " ".join(trial.notes)
    assert "1 export(s) were no OTLP trace export" in notes
    assert "span(s) past the first 2,000 left out" in notes
    assert "of 1 other trace(s) left out" in notes
    assert "no end or an end before their start left out" in notes
    kept = [p for p in trial.phases if p.source == "otel"]
    assert {p.phase for p in kept} == {"flood"} and len(kept) <= 2000
    json.dumps(trial.to_dict())  # the record stays writable


SPAN_SENDER = textwrap.dedent('''
    """Times a sleep of argv[3] ms as the span "load" under TRACEPARENT, posts it, exits."""
    import json, sys, time, urllib.request

    url, traceparent, sleep_ms = sys.argv[1], sys.argv[2], float(sys.argv[3])
    _, trace, parent, _ = traceparent.split("-")
    start = time.time_ns()
    time.sleep(sleep_ms / 1000)
    span = {"traceId": trace, "spanId": "1" * 16, "parentSpanId": parent, "name": "load",
            "startTimeUnixNano": start, "endTimeUnixNano": time.time_ns()}
    body = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}).encode()
    urllib.request.urlopen(urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}), timeout=5).read()
''')


def test_a_span_phase_is_gated_like_a_metric(tmp_path: Path, write_scenario):
    from typer.testing import CliRunner

    from coldstart_bench.cli.app import app

    sender = tmp_path / "sender.py"
    sender.write_text(SPAN_SENDER)
    scenario = write_scenario(f"""
        repetitions = 6
        warmup_trials = 0
        [matrix]
        sleep_ms = [40, 120]
        [[services]]
        name = "app"
        spans = "otlp"
        command = ["{sys.executable}", "{sender}", "{{otlp_traces_endpoint}}",
                   "{{traceparent}}", "{{sleep_ms}}"]
        ready = {{ kind = "exit" }}
    """)
    outcome = run_scenario(scenario, run_options(tmp_path / "results", run_id="gated"))
    assert outcome.exit_code == 0
    gate = ["gate", str(outcome.run_dir), "--factor", "sleep_ms", "--baseline-level", "40"]
    slower = CliRunner().invoke(app, [*gate, "--metric", "phase:load"])
    assert slower.exit_code == 1, slower.output  # 40 ms -> 120 ms: a regression
    assert "phase:load" in slower.output
    unknown = CliRunner().invoke(app, [*gate, "--metric", "phase:unload"])
    assert unknown.exit_code == 2 and "their phases: load" in unknown.output
