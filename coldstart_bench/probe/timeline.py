"""What both probes (one request at a time, and the load client) record of a request as it
happens, and how they turn it into a :class:`RequestRecord` — one definition of every
per-request figure."""

from __future__ import annotations

import errno
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from coldstart_bench.plan.specs import RequestSpec
from coldstart_bench.probe.sse import (
    MalformedStream,
    SSEDecoder,
    read_openai_chunk,
    read_openai_response,
)
from coldstart_bench.probe.watchdog import Watchdog
from coldstart_bench.results.schema import RequestRecord, Status, ns_to_ms


@dataclass
class Timeline:
    """Timestamps and counts of one request, filled in as it happens, so that a request
    that fails half-way still reports what it received."""

    watchdog: Watchdog | None = None
    marks: dict[str, int] = field(default_factory=dict)
    token_ns: list[int] = field(default_factory=list)
    nbytes: int = 0
    usage: int | None = None
    complete_ns: int | None = None
    # Called once, as the first content token arrives (or the whole answer, where nothing
    # streams): what the harness samples at that moment (the services' CPU time).
    on_first_token: Callable[[], None] | None = None

    def first_token(self) -> None:
        hook, self.on_first_token = self.on_first_token, None
        if hook is not None:
            hook()

    def trace(self, name: str, info: dict[str, object]) -> None:
        self.marks[name] = time.perf_counter_ns()
        if name == "connection.connect_tcp.complete" and self.watchdog is not None:
            stream = info.get("return_value")
            sock = getattr(stream, "get_extra_info", lambda _name: None)("socket")
            if isinstance(sock, socket.socket):
                self.watchdog.watch(sock)

    def span(self, step: str) -> int | None:
        started = self.marks.get(f"connection.{step}.started")
        complete = self.marks.get(f"connection.{step}.complete")
        if started is None or complete is None:
            return None
        return complete - started

    def headers_received(self) -> int | None:
        for proto in ("http11", "http2"):
            ns = self.marks.get(f"{proto}.receive_response_headers.complete")
            if ns is not None:
                return ns
        return None

    def first_mark(self) -> int | None:
        """When the client first touched the network (connect, or a send on a reused
        connection): every trace event is a network step."""
        return min(self.marks.values()) if self.marks else None

    @property
    def reused(self) -> bool:
        return "connection.connect_tcp.started" not in self.marks

    def take(self, chunk: bytes, decoder: SSEDecoder, chat: bool, now: int) -> None:
        """A chunk of an OpenAI event stream, received at ``now``: its content tokens."""
        self.nbytes += len(chunk)
        for event in decoder.feed(chunk):
            content = read_openai_chunk(event.data, chat=chat)
            if content.text:
                self.token_ns.append(now)
                self.first_token()
            if content.completion_tokens is not None:
                self.usage = content.completion_tokens

    def close(self, decoder: SSEDecoder, chat: bool) -> None:
        for event in decoder.close():
            content = read_openai_chunk(event.data, chat=chat)
            if content.text:
                self.token_ns.append(time.perf_counter_ns())
                self.first_token()


class RequestFailed(Exception):
    def __init__(self, status: Status, message: str) -> None:
        self.status = status
        super().__init__(message)


# What either probe catches around a request; :func:`failure` says what each one means.
REQUEST_ERRORS = (httpx.HTTPError, RequestFailed, MalformedStream)
# Of an answer with an unexpected status, this much of the body goes into the error.
ERROR_BODY_BYTES = 500


def failure(exc: Exception, limit: float) -> tuple[Status, str]:
    """The status and error message of a request that raised one of :data:`REQUEST_ERRORS`."""
    if isinstance(exc, httpx.TimeoutException):
        return "timeout", f"no answer within {limit:g} s ({phase_of(exc)})"
    if isinstance(exc, RequestFailed):
        return exc.status, str(exc)
    if isinstance(exc, MalformedStream):
        return "failed", f"malformed response: {exc}"
    if out_of_descriptors(exc):
        return "failed", HARNESS_OUT_OF_FILES
    return "failed", f"{type(exc).__name__}: {exc or 'connection error'}"


# The harness's own limit, not the server's failure: such a trial measures nothing.
HARNESS_OUT_OF_FILES = "not sent: the harness ran out of file descriptors (ulimit -n)"


def out_of_descriptors(exc: BaseException) -> bool:
    """Whether ``exc`` comes from this process running out of file descriptors (EMFILE,
    ENFILE), somewhere down its chain of causes (httpx wraps it twice)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in (errno.EMFILE, errno.ENFILE):
            return True
        current = current.__cause__ or current.__context__
    return False


def wrong_status(spec: RequestSpec, status_code: int, head: bytes) -> RequestFailed:
    """The failure of an answer whose status is not the expected one, with the start of
    its body (``head``) to say why."""
    text = head[:ERROR_BODY_BYTES].decode("utf-8", "replace").strip()
    return RequestFailed(
        "failed", f"HTTP {status_code} (expected {spec.expect_status}): {text or '(empty body)'}"
    )


def tokenless(spec: RequestSpec, timeline: Timeline) -> bool:
    """A streamed OpenAI answer that ended without any content token (it counts as failed)."""
    return spec.stream and spec.kind != "http" and not timeline.token_ns


class Body:
    """A whole (not streamed) answer as it arrives: its bytes counted against the cap and,
    for an OpenAI request, kept to read the token usage once it is complete."""

    def __init__(self, spec: RequestSpec, timeline: Timeline, max_bytes: int) -> None:
        self._timeline = timeline
        self._max_bytes = max_bytes
        self._chat = spec.kind == "openai-chat"
        self._parts: list[bytes] | None = [] if spec.kind != "http" else None

    def take(self, chunk: bytes) -> None:
        self._timeline.nbytes += len(chunk)
        if self._timeline.nbytes > self._max_bytes:
            raise RequestFailed(
                "failed", f"the response body is larger than {self._max_bytes} bytes"
            )
        if self._parts is not None:
            self._parts.append(chunk)

    def finish(self) -> None:
        """The answer is complete (now); then its usage is read, off the clock."""
        self._timeline.complete_ns = time.perf_counter_ns()
        self._timeline.first_token()
        if self._parts is not None:
            content = read_openai_response(b"".join(self._parts), chat=self._chat)
            self._timeline.usage = content.completion_tokens


def event_stream_problem(response: httpx.Response) -> str | None:
    """Why a streamed OpenAI request's answer is not an event stream (None when it is)."""
    content_type = response.headers.get("content-type", "")
    if "text/event-stream" in content_type:
        return None
    return (
        "expected an event stream (text/event-stream), got "
        f"{content_type or 'no content type'}; does the server support stream = true?"
    )


def record(
    spec: RequestSpec,
    t0_ns: int,
    called: int,
    end: int,
    timeline: Timeline,
    status: Status,
    error: str | None,
    status_code: int | None,
    http_version: str | None,
    dns_ns: int | None,
    replica: str | None = None,
) -> RequestRecord:
    """What was measured, whatever the outcome: a request that failed after its first
    token keeps that token's time, its bytes and its gaps."""
    # Durations run from the first network action, so the client's own request building
    # (~0.1 ms in httpx) is not charged to the server; it is kept as client_ms.
    start = timeline.first_mark() or called
    first_content = timeline.token_ns[0] if timeline.token_ns else timeline.complete_ns
    headers_ns = timeline.headers_received()
    gaps = [b - a for a, b in zip(timeline.token_ns, timeline.token_ns[1:], strict=False)]
    streamed = spec.stream and spec.kind != "http"
    return RequestRecord(
        index=spec.index,
        status=status,
        start_ms=ns_to_ms(start - t0_ns),
        client_ms=ns_to_ms(start - called),
        status_code=status_code,
        http_version=http_version,
        reused=timeline.reused if status_code is not None else None,
        dns_ms=None if dns_ns is None else ns_to_ms(dns_ns),
        connect_ms=ms(timeline.span("connect_tcp")),
        tls_ms=ms(timeline.span("start_tls")),
        ttfb_ms=None if headers_ns is None else ns_to_ms(headers_ns - start),
        ttft_ms=None if first_content is None else ns_to_ms(first_content - start),
        total_ms=ns_to_ms(end - start),
        tokens=len(timeline.token_ns) if streamed else None,
        usage_tokens=timeline.usage,
        itl_ms=tuple(ns_to_ms(g) for g in gaps),
        bytes=timeline.nbytes,
        error=error,
        replica=replica,
    )


def over_time(limit: float, timeline: Timeline) -> str:
    got = f"{len(timeline.token_ns)} token(s), {timeline.nbytes:,} bytes"
    return (
        f"no complete answer within {limit:g} s (timeout_s bounds the whole request; {got} so far)"
    )


def phase_of(exc: httpx.TimeoutException) -> str:
    return {
        httpx.ConnectTimeout: "while connecting",
        httpx.ReadTimeout: "while waiting for data",
        httpx.WriteTimeout: "while sending",
        httpx.PoolTimeout: "waiting for a connection",
    }.get(type(exc), "timeout")


def ms(ns: int | None) -> float | None:
    return None if ns is None else ns_to_ms(ns)
