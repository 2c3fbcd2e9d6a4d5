"""Every trial of a run as a trace in the Trace Event JSON format, which Perfetto
(ui.perfetto.dev) and chrome://tracing open: one process per trial, its clock starting at
the trial's t0; in it a ``client`` thread (the trial, spawn → ready, each request split
into connect, TLS, the wait for headers and the first token), a thread per service (its
spawn → ready and the phases from its phases file or log) and, where it exported
OpenTelemetry spans, a ``spans`` thread with them nested as they were.

Format: https://docs.google.com/document/d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU —
complete events (``"ph": "X"``, ``ts`` and ``dur`` in microseconds), instant events
(``"i"``) for ready and the cold TTFT, metadata events (``"M"``) naming processes and
threads.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

from coldstart_bench.results.schema import TrialRecord, instance_name

CLIENT_TID = 1


def _us(ms: float) -> float:
    return round(ms * 1000.0, 3)


def _complete(
    name: str, start_ms: float, end_ms: float, pid: int, tid: int, cat: str, **args: Any
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "name": name,
        "cat": cat,
        "ph": "X",
        "ts": _us(start_ms),
        "dur": _us(max(end_ms - start_ms, 0.0)),
        "pid": pid,
        "tid": tid,
    }
    if args:
        event["args"] = {k: v for k, v in args.items() if v is not None}
    return event


def _name(kind: str, pid: int, tid: int | None, name: str) -> dict[str, Any]:
    event: dict[str, Any] = {"name": kind, "ph": "M", "pid": pid, "args": {"name": name}}
    if tid is not None:
        event["tid"] = tid
    return event


def trial_events(trial: TrialRecord) -> list[dict[str, Any]]:
    """One trial's events (its process id is its trial number + 1)."""
    pid = trial.trial + 1
    label = f"trial {trial.trial} · {trial.variant}" + (" (warm-up)" if trial.warmup else "")
    events = [
        _name("process_name", pid, None, f"{label} · {trial.status}"),
        {"name": "process_sort_index", "ph": "M", "pid": pid, "args": {"sort_index": pid}},
        _name("thread_name", pid, CLIENT_TID, "client"),
    ]
    if trial.wall_ms is not None:
        events.append(
            _complete(
                "trial",
                0.0,
                trial.wall_ms,
                pid,
                CLIENT_TID,
                "trial",
                status=trial.status,
                trace_id=trial.trace_id,
            )
        )
    events += _request_events(trial, pid)
    for at, what in ((trial.ready_ms, "ready"), (trial.cold_ttft_ms, "cold TTFT")):
        if at is not None:
            events.append(
                {
                    "name": what,
                    "cat": "trial",
                    "ph": "i",
                    "s": "p",
                    "ts": _us(at),
                    "pid": pid,
                    "tid": CLIENT_TID,
                }
            )
    events += _service_events(trial, pid)
    return events


def _request_events(trial: TrialRecord, pid: int) -> list[dict[str, Any]]:
    events = []
    for r in trial.requests:
        end = r.start_ms + (r.total_ms if r.total_ms is not None else 0.0)
        events.append(
            _complete(
                f"request {r.index + 1}",
                r.start_ms,
                end,
                pid,
                CLIENT_TID,
                "request",
                status=r.status,
                reused=r.reused,
            )
        )
        at = r.start_ms
        for part, length in (("connect", r.connect_ms), ("TLS", r.tls_ms)):
            if length:
                events.append(_complete(part, at, at + length, pid, CLIENT_TID, "request"))
                at += length
        if r.ttfb_ms is not None:
            events.append(
                _complete(
                    "wait for headers", at, r.start_ms + r.ttfb_ms, pid, CLIENT_TID, "request"
                )
            )
            if r.ttft_ms is not None and r.ttft_ms > r.ttfb_ms:
                events.append(
                    _complete(
                        "headers → first token",
                        r.start_ms + r.ttfb_ms,
                        r.start_ms + r.ttft_ms,
                        pid,
                        CLIENT_TID,
                        "request",
                    )
                )
    return events


def _service_events(trial: TrialRecord, pid: int) -> list[dict[str, Any]]:
    """Each service's spawn → ready and phases on its thread, its spans on a thread of
    their own. A slice that would overlap another's end on its thread without nesting in
    it (vLLM's "EngineCoreProc init" ends 2 ms after its parent, in another process;
    a phase may end after ready) goes to the next thread of that name: a viewer draws
    slices on one thread as a strict nesting."""
    events: list[dict[str, Any]] = []
    lanes: dict[str, list[tuple[int, list[float]]]] = {}  # name → (tid, open slices' ends)
    next_tid = [CLIENT_TID + 1]

    def place(name: str, start: float, end: float) -> int:
        for tid, ends in lanes.setdefault(name, []):
            while ends and ends[-1] <= start + 1e-9:
                ends.pop()
            if not ends or end <= ends[-1] + 1e-9:
                ends.append(end)
                return tid
        tid = next_tid[0]
        next_tid[0] += 1
        shown = name if not lanes[name] else f"{name} ({len(lanes[name]) + 1})"
        lanes[name].append((tid, [end]))
        events.append(_name("thread_name", pid, tid, shown))
        return tid

    slices: list[tuple[float, float, str, str, dict[str, Any], str]] = []
    seen: Counter[str] = Counter()
    for s in trial.services:
        name = instance_name(s.name, seen[s.name])
        seen[s.name] += 1
        if s.spawn_ms is not None and s.ready_ms is not None:
            slices.append(
                (s.spawn_ms, s.ready_ms, name, "spawn → ready", {"server_pid": s.pid}, "service")
            )
    for p in trial.phases:
        args: dict[str, Any] = {
            "bytes": p.bytes,
            "span_id": p.span_id,
            "parent_span_id": p.parent_span_id,
            "process": p.process,
        }
        if p.attributes:  # the sender's own, beside ours (never over them)
            args["attributes"] = dict(p.attributes)
        otel = p.source == "otel"
        lane = f"{p.service} · spans" if otel else p.service
        slices.append(
            (
                p.start_ms,
                max(p.end_ms, p.start_ms),
                lane,
                p.phase,
                args,
                "span" if otel else "phase",
            )
        )
    for start, end, lane, name, args, cat in sorted(slices, key=lambda x: (x[0], -x[1])):
        tid = place(lane, start, end)
        events.append(_complete(name, start, end, pid, tid, cat, **args))
    return events


MAX_TRACED_TRIALS = 2_000  # a trace viewer opens ~60,000 events well; 10^5 trials are 3 M


def trace_json(trials: Iterable[TrialRecord], run_id: str) -> str:
    """The whole run as one Trace Event JSON document: its first
    :data:`MAX_TRACED_TRIALS` trials (``otherData`` says how many of how many)."""
    events: list[dict[str, Any]] = []
    count = 0
    for trial in trials:
        count += 1
        if count <= MAX_TRACED_TRIALS:
            events += trial_events(trial)
    document = {
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": {
            "run_id": run_id,
            "producer": "coldstart-bench",
            "clock": "each trial's t0",
            "trials": f"{min(count, MAX_TRACED_TRIALS)} of {count}",
        },
    }
    return json.dumps(document, ensure_ascii=False)
