"""The trial's OTLP/HTTP receiver, fed by the OpenTelemetry SDK's own exporter (protobuf,
gzip or not), by hand-written JSON, and by hostile senders."""

from __future__ import annotations

import gzip
import json

import httpx
import pytest

from coldstart_bench.probe.otlp import OtlpReceiver

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


def export_with_the_sdk(url: str, compression: str = "none") -> None:
    """Three spans (a root under PARENT and two children) through the SDK's exporter."""
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.propagate import extract
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "llm", "process.pid": 42}))
    exporter = OTLPSpanExporter(endpoint=url, compression=Compression(compression))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    parent = extract({"traceparent": f"00-{TRACE}-{PARENT}-01"})
    root = tracer.start_span("Overall Loading", context=parent, start_time=1_000_000_000)
    inside = trace.set_span_in_context(root)
    load = tracer.start_span("Load model", context=inside, start_time=1_100_000_000)
    load.set_attribute("model", "tiny")
    load.end(end_time=1_600_000_000)
    tracer.start_span("Allocate KV cache", context=inside, start_time=1_600_000_000).end(
        end_time=1_900_000_000
    )
    root.end(end_time=2_000_000_000)
    provider.shutdown()


@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_spans_from_the_sdk_arrive_with_their_trace_parent_times_and_attributes(compression):
    with OtlpReceiver() as receiver:
        export_with_the_sdk(receiver.traces_url, compression)
    spans = {s.name: s for s in receiver.received()}
    assert set(spans) == {"Overall Loading", "Load model", "Allocate KV cache"}
    root, load = spans["Overall Loading"], spans["Load model"]
    assert {s.trace_id for s in spans.values()} == {TRACE}
    assert root.parent_id == PARENT and load.parent_id == root.span_id
    assert (load.start_unix_ns, load.end_unix_ns) == (1_100_000_000, 1_600_000_000)
    assert load.attributes == {"model": "tiny"}
    assert (load.service, load.pid) == ("llm", 42)
    assert receiver.notes() == []


def test_the_json_encoding_with_hex_ids_is_read_too():
    body = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "a"}}]
                },
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": TRACE.upper(),
                                "spanId": "1111111111111111",
                                "parentSpanId": PARENT,
                                "name": "init",
                                "startTimeUnixNano": "5000",
                                "endTimeUnixNano": 9000,
                                "attributes": [{"key": "n", "value": {"intValue": "3"}}],
                            }
                        ]
                    }
                ],
            }
        ]
    }
    with OtlpReceiver() as receiver:
        answer = httpx.post(receiver.traces_url, json=body)
    assert answer.status_code == 200 and answer.json() == {}
    (span,) = receiver.received()
    assert (span.trace_id, span.parent_id, span.name) == (TRACE, PARENT, "init")
    assert (span.start_unix_ns, span.end_unix_ns, span.service) == (5000, 9000, "a")
    assert span.attributes == {"n": "3"}


def test_garbage_oversized_bodies_and_zip_bombs_are_refused_and_said():
    bomb = gzip.compress(b"\x00" * (4 << 20))  # 4 MB of zeros in ~4 kB
    with OtlpReceiver(max_body=1 << 20) as receiver:
        protobuf = {"Content-Type": "application/x-protobuf"}
        garbage = httpx.post(receiver.traces_url, content=b"\xff" * 100, headers=protobuf)
        not_json = httpx.post(
            receiver.traces_url, content=b"{", headers={"Content-Type": "application/json"}
        )
        large = httpx.post(receiver.traces_url, content=b"\x00" * (2 << 20), headers=protobuf)
        zipped = httpx.post(
            receiver.traces_url, content=bomb, headers={**protobuf, "Content-Encoding": "gzip"}
        )
        elsewhere = httpx.post(receiver.endpoint + "/v1/metrics", content=b"")
    assert (garbage.status_code, not_json.status_code) == (400, 400)
    assert (large.status_code, zipped.status_code, elsewhere.status_code) == (413, 413, 404)
    notes = " ".join(receiver.notes())
    assert "2 export(s) over 1 MB refused" in notes
    assert "2 export(s) were no OTLP trace export" in notes
    assert receiver.received() == []


def test_spans_past_the_limit_are_left_out_and_counted():
    span = {
        "traceId": TRACE,
        "spanId": "2222222222222222",
        "name": "s",
        "startTimeUnixNano": 1,
        "endTimeUnixNano": 2,
    }
    body = {"resourceSpans": [{"scopeSpans": [{"spans": [span] * 30}]}]}
    with OtlpReceiver(max_spans=25) as receiver:
        for _ in range(2):
            assert httpx.post(receiver.traces_url, content=json.dumps(body),
                              headers={"Content-Type": "application/json"}).status_code == 200  # fmt: skip
    assert len(receiver.received()) == 25
    assert "35 span(s) past the first 25" in " ".join(receiver.notes())
