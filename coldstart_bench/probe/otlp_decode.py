"""OTLP trace export bodies (``ExportTraceServiceRequest``) read into plain spans: the
protobuf encoding through the ``opentelemetry-proto`` package, the JSON encoding (whose
ids are hex strings, not protobuf JSON's base64) by hand. Every figure is checked and
every string cut to a bound: a sender is untrusted input.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

MAX_ATTRIBUTES = 32  # per span, the rest left out
MAX_TEXT = 200  # characters of a name or an attribute's value


class OtlpDecodeError(ValueError):
    """A body that is no OTLP trace export."""


@dataclass(frozen=True)
class ReceivedSpan:
    """One span as a sender exported it: ids in hex, times in Unix nanoseconds."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    start_unix_ns: int
    end_unix_ns: int
    service: str | None = None
    """The sender's ``service.name`` resource attribute."""
    pid: int | None = None
    """The sender's ``process.pid`` resource attribute."""
    attributes: dict[str, str] = field(default_factory=dict)


def _text(value: object) -> str:
    text = str(value)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"


# Protobuf --------------------------------------------------------------------------------


def decode_protobuf(body: bytes) -> list[ReceivedSpan]:
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise OtlpDecodeError(f"not an OTLP protobuf trace export ({exc})") from None
    spans: list[ReceivedSpan] = []
    for resource_spans in request.resource_spans:
        resource = {a.key: _any_value(a.value) for a in resource_spans.resource.attributes}
        service, pid = _service(resource)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                attributes = {
                    _text(a.key): _text(_any_value(a.value))
                    for a in list(span.attributes)[:MAX_ATTRIBUTES]
                }
                spans.append(
                    ReceivedSpan(
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_id=span.parent_span_id.hex() or None,
                        name=_text(span.name),
                        start_unix_ns=int(span.start_time_unix_nano),
                        end_unix_ns=int(span.end_time_unix_nano),
                        service=service,
                        pid=pid,
                        attributes=attributes,
                    )
                )
    return spans


def _any_value(value: Any) -> object:
    kind = value.WhichOneof("value")
    if kind is None:
        return ""
    if kind in ("array_value", "kvlist_value"):
        return "[…]"
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind)


# JSON ------------------------------------------------------------------------------------


def decode_json(body: bytes) -> list[ReceivedSpan]:
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise OtlpDecodeError(f"not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise OtlpDecodeError("not an OTLP JSON trace export (not an object)")
    spans: list[ReceivedSpan] = []
    for resource_spans in _list(data, "resourceSpans"):
        resource_attrs = _list(_dict(resource_spans, "resource"), "attributes")
        service, pid = _service(_json_attributes(resource_attrs))
        for scope_spans in _list(resource_spans, "scopeSpans"):
            for span in _list(scope_spans, "spans"):
                spans.append(_json_span(span, service, pid))
    return spans


def _json_span(span: object, service: str | None, pid: int | None) -> ReceivedSpan:
    if not isinstance(span, dict):
        raise OtlpDecodeError("a span is not an object")
    try:
        trace_id = _hex_id(span.get("traceId"), 16)
        span_id = _hex_id(span.get("spanId"), 8)
        parent = span.get("parentSpanId")
        start, end = int(span["startTimeUnixNano"]), int(span["endTimeUnixNano"])
    except (KeyError, TypeError, ValueError) as exc:
        raise OtlpDecodeError(f"a span lacks its ids or times ({exc})") from None
    attributes = _json_attributes(_list(span, "attributes")[:MAX_ATTRIBUTES])
    return ReceivedSpan(
        trace_id=trace_id,
        span_id=span_id,
        parent_id=_hex_id(parent, 8) if parent else None,
        name=_text(span.get("name", "")),
        start_unix_ns=start,
        end_unix_ns=end,
        service=service,
        pid=pid,
        attributes={_text(k): _text(v) for k, v in attributes.items()},
    )


def _hex_id(value: object, size: int) -> str:
    if not isinstance(value, str) or len(value) != 2 * size:
        raise ValueError(f"an id of {size} bytes in hex, got {str(value)[:40]!r}")
    bytes.fromhex(value)
    return value.lower()


def _json_attributes(items: list[Any]) -> dict[str, object]:
    out: dict[str, object] = {}
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("key"), str):
            value = item.get("value")
            out[item["key"]] = next(iter(value.values()), "") if isinstance(value, dict) else ""
    return out


def _list(data: object, key: str) -> list[Any]:
    value = data.get(key, []) if isinstance(data, dict) else []
    if not isinstance(value, list):
        raise OtlpDecodeError(f"{key} is not a list")
    return value


def _dict(data: object, key: str) -> dict[str, Any]:
    value = data.get(key, {}) if isinstance(data, dict) else {}
    return value if isinstance(value, dict) else {}


def _service(resource: dict[str, object]) -> tuple[str | None, int | None]:
    name = resource.get("service.name")
    pid = resource.get("process.pid")
    try:
        pid_value = int(pid) if pid is not None and not isinstance(pid, bool) else None
    except (TypeError, ValueError):
        pid_value = None
    return (_text(name) if name is not None else None), pid_value
