"""Every trial of a run sent as a trace over OTLP/HTTP (protobuf) to a collector — Jaeger,
Grafana Tempo, Arize Phoenix, an OpenTelemetry Collector: ``--otlp-export URL``.

One trace per trial: a ``trial`` span from t0 to its end; under it each service's
spawn → ready, its phases, and each request split into connect, TLS, the wait for headers
and the first token (from the resource ``coldstart-bench``); and the spans a service
exported during the trial, re-sent from its own resource with their own ids, so they
nest under the trial's span as they did when the service sent them. A trial recorded
without a trace id gets one derived from the run and trial, so exporting a run twice
sends the same trace twice rather than two traces.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from coldstart_bench.results.schema import TrialRecord, instance_name

TRACES_PATH = "/v1/traces"
TRIALS_PER_EXPORT = 50
RESOURCE = "coldstart-bench"


def traces_url(url: str) -> str:
    """The export URL: a collector's base URL gets ``/v1/traces``."""
    url = url.rstrip("/")
    return url if url.endswith(TRACES_PATH) else url + TRACES_PATH


def _id(*parts: object, size: int) -> bytes:
    return hashlib.sha256("/".join(map(str, parts)).encode()).digest()[:size]


def _t0_unix_ns(trial: TrialRecord) -> int:
    if trial.t0_unix_ns is not None:
        return trial.t0_unix_ns
    # Runs before t0 was recorded on the wall clock: the trial's start, to the millisecond.
    return int(datetime.fromisoformat(trial.started_at).timestamp() * 1e9)


class _TraceBuilder:
    """The spans of one trial, grouped by the resource (process) that sends them."""

    def __init__(self, trial: TrialRecord, run_id: str) -> None:
        self.trial, self.run_id = trial, run_id
        self.trace_id = (
            bytes.fromhex(trial.trace_id) if trial.trace_id else _id(run_id, trial.trial, size=16)
        )
        # The trial's span: the parent its services were given, else (a run recorded
        # before it was kept) the parent of their top spans, else one derived.
        tops = [p.parent_span_id for p in trial.phases if p.depth == 0 and p.parent_span_id]
        parent = trial.trace_span_id or (tops[0] if tops else None)
        self.root_id = (
            bytes.fromhex(parent) if parent else _id(run_id, trial.trial, "trial", size=8)
        )
        self.t0 = _t0_unix_ns(trial)
        self.by_resource: dict[str, list[Any]] = {}
        self.count = 0

    def add(
        self,
        resource: str,
        name: str,
        start_ms: float,
        end_ms: float,
        parent: bytes | None,
        span_id: bytes | None = None,
        attributes: dict[str, object] | None = None,
        failed: bool = False,
    ) -> bytes:
        from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

        self.count += 1
        span = Span(
            trace_id=self.trace_id,
            span_id=span_id or _id(self.run_id, self.trial.trial, name, self.count, size=8),
            name=name,
            kind=Span.SPAN_KIND_INTERNAL,
            start_time_unix_nano=self.t0 + round(start_ms * 1e6),
            end_time_unix_nano=self.t0 + round(max(end_ms, start_ms) * 1e6),
        )
        if parent is not None:
            span.parent_span_id = parent
        for key, value in (attributes or {}).items():
            if value is not None:
                _set_attribute(span.attributes.add(), key, value)
        if failed:
            span.status.code = Status.STATUS_CODE_ERROR
        self.by_resource.setdefault(resource, []).append(span)
        return bytes(span.span_id)

    def build(self) -> None:
        t = self.trial
        factors = {f"coldstart.factor.{k}": v for k, v in t.factors.items()}
        self.add(
            RESOURCE,
            "trial",
            0.0,
            t.wall_ms or t.cold_ttft_ms or 0.0,
            None,
            self.root_id,
            {
                "coldstart.run_id": self.run_id,
                "coldstart.trial": t.trial,
                "coldstart.variant": t.variant,
                "coldstart.status": t.status,
                "coldstart.warmup": t.warmup,
                **factors,
            },
            failed=t.status != "ok",
        )
        seen: dict[str, int] = {}
        for s in t.services:
            name = instance_name(s.name, seen.get(s.name, 0))
            seen[s.name] = seen.get(s.name, 0) + 1
            if s.spawn_ms is not None and s.ready_ms is not None:
                self.add(
                    RESOURCE,
                    f"spawn → ready: {name}",
                    s.spawn_ms,
                    s.ready_ms,
                    self.root_id,
                    attributes={"coldstart.service": name},
                )
        for r in t.requests:
            end = r.start_ms + (r.total_ms or 0.0)
            request = self.add(
                RESOURCE,
                f"request {r.index + 1}",
                r.start_ms,
                end,
                self.root_id,
                attributes={
                    "coldstart.reused": r.reused,
                    "http.response.status_code": r.status_code,
                },
                failed=r.status != "ok",
            )
            at = r.start_ms
            for part, length in (("connect", r.connect_ms), ("TLS", r.tls_ms)):
                if length:
                    self.add(RESOURCE, part, at, at + length, request)
                    at += length
            if r.ttfb_ms is not None:
                self.add(RESOURCE, "wait for headers", at, r.start_ms + r.ttfb_ms, request)
                if r.ttft_ms is not None and r.ttft_ms > r.ttfb_ms:
                    self.add(
                        RESOURCE,
                        "headers → first token",
                        r.start_ms + r.ttfb_ms,
                        r.start_ms + r.ttft_ms,
                        request,
                    )
        for p in t.phases:
            if p.source == "otel" and p.span_id:
                parent = bytes.fromhex(p.parent_span_id) if p.parent_span_id else self.root_id
                self.add(
                    p.service,
                    p.phase,
                    p.start_ms,
                    p.end_ms,
                    parent,
                    bytes.fromhex(p.span_id),
                    dict(p.attributes or {}),
                )
            else:
                self.add(
                    p.service,
                    p.phase,
                    p.start_ms,
                    p.end_ms,
                    self.root_id,
                    attributes={"coldstart.phase.bytes": p.bytes},
                )


def _set_attribute(attribute: Any, key: str, value: object) -> None:
    attribute.key = key
    if isinstance(value, bool):
        attribute.value.bool_value = value
    elif isinstance(value, int):
        attribute.value.int_value = value
    elif isinstance(value, float):
        attribute.value.double_value = value
    else:
        attribute.value.string_value = str(value)


def export_request(trials: Sequence[TrialRecord], run_id: str) -> tuple[bytes, int]:
    """One ``ExportTraceServiceRequest`` of these trials: its bytes and its span count."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest()
    resources: dict[str, Any] = {}
    spans = 0
    for trial in trials:
        builder = _TraceBuilder(trial, run_id)
        builder.build()
        spans += builder.count
        for name, found in builder.by_resource.items():
            if name not in resources:
                resource_spans = request.resource_spans.add()
                _set_attribute(resource_spans.resource.attributes.add(), "service.name", name)
                scope = resource_spans.scope_spans.add()
                scope.scope.name = "coldstart_bench"
                resources[name] = scope
            resources[name].spans.extend(found)
    return request.SerializeToString(), spans


def export_trials(trials: Iterable[TrialRecord], run_id: str, url: str) -> int:
    """Send the trials' traces to ``url`` (OTLP/HTTP, protobuf), a few dozen trials per
    request; the number of spans sent. Raises :class:`OSError` where the collector cannot
    be reached or refuses an export."""
    import httpx

    endpoint = traces_url(url)
    batch: list[TrialRecord] = []
    sent = 0

    def flush() -> None:
        nonlocal sent
        body, spans = export_request(batch, run_id)
        try:
            answer = httpx.post(
                endpoint,
                content=body,
                timeout=30.0,
                headers={"Content-Type": "application/x-protobuf"},
            )
        except httpx.HTTPError as exc:
            raise OSError(f"cannot send traces to {endpoint}: {exc}") from None
        if answer.status_code >= 300:
            raise OSError(f"{endpoint} answered {answer.status_code} to an export")
        sent += spans
        batch.clear()

    for trial in trials:
        batch.append(trial)
        if len(batch) == TRIALS_PER_EXPORT:
            flush()
    if batch:
        flush()
    return sent
