"""Spans the services exported over OTLP during a trial, made phases on its timeline:
only the trial's own trace, nesting kept (each span's depth and parent), times moved from
the wall clock the spans carry to the monotonic clock the trial is measured on."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence

from coldstart_bench.probe.otlp_decode import ReceivedSpan
from coldstart_bench.results.schema import PhaseRecord, ns_to_ms
from coldstart_bench.run.phases import MAX_PHASES


def span_phases(
    spans: Sequence[ReceivedSpan],
    trace_id: str,
    offset_ns: int,
    t0_ns: int,
    services: Collection[str],
    notes: list[str],
) -> list[PhaseRecord]:
    """The spans of trace ``trace_id`` as phases, ordered by start. A span is the service's
    whose ``service.name`` it carries (the harness sets ``OTEL_SERVICE_NAME`` to it), or
    where one service exports spans, that one's. Spans of another trace, or whose end is
    before their start, are left out with a note."""
    others = Counter(s.trace_id for s in spans if s.trace_id != trace_id)
    mine = [s for s in spans if s.trace_id == trace_id]
    broken = [s for s in mine if s.end_unix_ns < s.start_unix_ns or s.start_unix_ns <= 0]
    mine = [s for s in mine if s.start_unix_ns > 0 and s.end_unix_ns >= s.start_unix_ns]
    if others:
        notes.append(
            f"spans: {sum(others.values()):,} span(s) of {len(others)} other trace(s) left out "
            f"(this trial's trace is {trace_id})"
        )
    if broken:
        notes.append(
            f"spans: {len(broken)} span(s) with no end or an end before their start left out "
            f"(first: {broken[0].name!r})"
        )
    if len(mine) > MAX_PHASES:
        notes.append(f"spans: the first {MAX_PHASES:,} of {len(mine):,} kept")
        mine = sorted(mine, key=lambda s: s.start_unix_ns)[:MAX_PHASES]
    ids = {s.span_id: s for s in mine}
    only = next(iter(services)) if len(services) == 1 else None
    phases = []
    for span in sorted(mine, key=lambda s: (s.start_unix_ns, -s.end_unix_ns)):
        owner = span.service if span.service in services else (only or span.service or "?")
        phases.append(
            PhaseRecord(
                service=owner,
                phase=span.name,
                start_ms=ns_to_ms(span.start_unix_ns - offset_ns - t0_ns),
                end_ms=ns_to_ms(span.end_unix_ns - offset_ns - t0_ns),
                source="otel",
                span_id=span.span_id,
                parent_span_id=span.parent_id,
                depth=_depth(span, ids),
                process=f"pid {span.pid}" if span.pid is not None else span.service,
                attributes=dict(span.attributes) or None,
            )
        )
    return phases


def _depth(span: ReceivedSpan, ids: dict[str, ReceivedSpan]) -> int:
    depth, seen, parent = 0, {span.span_id}, span.parent_id
    while parent in ids and parent not in seen:  # a loop of parents is a sender's bug
        seen.add(parent)
        depth += 1
        parent = ids[parent].parent_id
    return depth
