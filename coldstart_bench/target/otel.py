"""The reference server's start-up phases as OpenTelemetry spans (``--otel-spans``): one
``startup`` span from the first import to the last phase, each phase a child of it, under
the ``TRACEPARENT`` the server was started with, sent by the OpenTelemetry SDK's OTLP/HTTP
exporter to ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``.

Sent once, as the server stops: the SDK's import and the export would otherwise compete
with the first requests, which are what a trial measures. A server killed before it can
stop sends none.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence

from coldstart_bench.target.phases import Phase


def _wall_offset_ns() -> int:
    """Wall clock − ``perf_counter_ns``, from the tightest of a few readings."""
    best = None
    for _ in range(5):
        before = time.perf_counter_ns()
        wall = time.time_ns()
        after = time.perf_counter_ns()
        if best is None or after - before < best[0]:
            best = (after - before, wall - (before + after) // 2)
    assert best is not None
    return best[1]


def export_phases(phases: Sequence[Phase], timeout_s: float = 5.0) -> None:
    """Send ``phases`` (on the ``perf_counter_ns`` clock) as spans; a failure is printed,
    never raised (the server is stopping anyway)."""
    if not phases:
        return
    try:
        _export(phases, timeout_s)
    except Exception as exc:
        print(f"coldstart serve: exporting spans failed: {exc}", file=sys.stderr, flush=True)


def _export(phases: Sequence[Phase], timeout_s: float) -> None:
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.propagate import extract
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    offset = _wall_offset_ns()
    provider = TracerProvider(resource=Resource.create({"process.pid": os.getpid()}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(timeout=timeout_s)))
    tracer = provider.get_tracer("coldstart_bench.target")
    parent = extract({"traceparent": os.environ.get("TRACEPARENT", "")})
    first = min(p.start_ns for p in phases)
    last = max(p.end_ns for p in phases)
    root = tracer.start_span("startup", context=parent, start_time=first + offset)
    inside = trace.set_span_in_context(root)
    for phase in sorted(phases, key=lambda p: p.start_ns):
        attributes = {"coldstart.bytes": phase.nbytes} if phase.nbytes is not None else None
        span = tracer.start_span(
            phase.name, context=inside, start_time=phase.start_ns + offset, attributes=attributes
        )
        span.end(end_time=phase.end_ns + offset)
    root.end(end_time=last + offset)
    provider.force_flush(int(timeout_s * 1000))
    provider.shutdown()
