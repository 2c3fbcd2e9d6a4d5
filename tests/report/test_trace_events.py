"""``trace.json``: every trial of a run as a trace that keeps the Trace Event format's
rules, with the client's side, each service's phases and exported spans nested."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from trace_rules import check_trace_events

from coldstart_bench.report.build import build_report
from coldstart_bench.report.trace_events import trace_json
from coldstart_bench.results.schema import PhaseRecord
from coldstart_bench.results.store import read_run

GOLDEN_RUN = Path(__file__).parents[1] / "data" / "run-0e8cffb"


def test_a_recorded_run_becomes_one_process_per_trial_with_client_and_server_threads():
    run = read_run(GOLDEN_RUN)
    document = check_trace_events(trace_json(run.trials, run.metadata.run_id))
    events = document["traceEvents"]
    processes = [e for e in events if e["name"] == "process_name"]
    assert len(processes) == len(run.trials)
    first = run.trials[0]
    mine = [e for e in events if e["pid"] == first.trial + 1]
    threads = {e["args"]["name"] for e in mine if e["name"] == "thread_name"}
    assert threads == {"client", *(s.name for s in first.services)}
    phases = {e["name"] for e in mine if e.get("cat") == "phase"}
    assert phases == {p.phase for p in first.phases}
    request = next(e for e in mine if e["name"] == "request 1")
    assert request["ts"] == round(first.requests[0].start_ms * 1000, 3)
    cold = next(e for e in mine if e["name"] == "cold TTFT")
    assert cold["ts"] == round(first.cold_ttft_ms * 1000, 3)


def test_spans_get_their_own_thread_nested_with_their_attributes():
    run = read_run(GOLDEN_RUN)
    trial = run.trials[0]
    spans = (
        PhaseRecord("llm", "Overall Loading", 10.0, 90.0, source="otel", span_id="a", depth=0),
        PhaseRecord(
            "llm",
            "Load weights",
            20.0,
            50.0,
            source="otel",
            span_id="b",
            parent_span_id="a",
            depth=1,
            attributes={"bytes": "12"},
        ),
    )
    trial = dataclasses.replace(trial, phases=trial.phases + spans)
    document = check_trace_events(trace_json([trial], "r"))
    span_events = [e for e in document["traceEvents"] if e.get("cat") == "span"]
    assert [e["name"] for e in span_events] == ["Overall Loading", "Load weights"]
    assert span_events[1]["args"]["attributes"] == {"bytes": "12"}
    assert span_events[1]["args"]["parent_span_id"] == "a"
    assert len({e["tid"] for e in span_events}) == 1


def test_the_report_writes_trace_json_beside_the_page(tmp_path: Path):
    report = build_report(GOLDEN_RUN, tmp_path / "report")
    assert tmp_path / "report" / "trace.json" in report.files
    check_trace_events((tmp_path / "report" / "trace.json").read_text())


def test_a_child_span_that_outlives_its_parent_moves_to_a_second_thread():
    # vLLM's "EngineCoreProc init" (another process) ends 2 ms after its parent.
    trial = read_run(GOLDEN_RUN).trials[0]
    spans = (
        PhaseRecord("llm", "AsyncMPClient init", 10.0, 90.0, source="otel", span_id="a", depth=0),
        PhaseRecord("llm", "EngineCoreProc init", 30.0, 92.0, source="otel", span_id="b", depth=1),
    )
    document = check_trace_events(trace_json([dataclasses.replace(trial, phases=spans)], "r"))
    threads = {
        e["tid"]: e["args"]["name"] for e in document["traceEvents"] if e["name"] == "thread_name"
    }
    placed = {
        e["name"]: threads[e["tid"]] for e in document["traceEvents"] if e.get("cat") == "span"
    }
    assert placed == {"AsyncMPClient init": "llm · spans", "EngineCoreProc init": "llm · spans (2)"}


def test_a_large_run_traces_its_first_trials_and_says_how_many(monkeypatch):
    from coldstart_bench.report import trace_events

    monkeypatch.setattr(trace_events, "MAX_TRACED_TRIALS", 2)
    run = read_run(GOLDEN_RUN)
    document = check_trace_events(trace_json(run.trials, "r"))
    assert len([e for e in document["traceEvents"] if e["name"] == "process_name"]) == 2
    assert document["otherData"]["trials"] == f"2 of {len(run.trials)}"
