"""Send the trial's requests and time them: DNS, connect, TLS, TTFB, TTFT, inter-token gaps.

Connection phases come from httpx's ``trace`` extension (httpcore calls it at the start and
end of each step), so they are measured where they happen rather than guessed from the
outside. The client and its TLS context are built before t0, so their set-up is not
charged to the server's cold start.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import httpx

from coldstart_bench.plan.specs import ProbeSettings, RequestSpec
from coldstart_bench.probe.sse import (
    MalformedStream,
    SSEDecoder,
    read_openai_chunk,
    read_openai_response,
)
from coldstart_bench.probe.watchdog import Watchdog
from coldstart_bench.results.schema import RequestRecord, Status, ns_to_ms

_ERROR_BODY_BYTES = 500


def ssl_context(settings: ProbeSettings) -> ssl.SSLContext:
    return _cached_ssl_context(settings.ca_file, settings.insecure)


@functools.lru_cache(maxsize=8)
def _cached_ssl_context(ca_file: str | None, insecure: bool) -> ssl.SSLContext:
    """Loading the CA bundle costs ~20 ms, so one context serves every trial of a run.
    Sharing it cannot make a later handshake warm: Python resumes a TLS session only when
    given ``session=`` explicitly, which the client never does."""
    context = ssl.create_default_context(cafile=ca_file)
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


@dataclass
class _Timeline:
    """Timestamps and counts of one request, filled in as it happens, so that a request
    that fails half-way still reports what it received."""

    watchdog: Watchdog | None = None
    marks: dict[str, int] = field(default_factory=dict)
    token_ns: list[int] = field(default_factory=list)
    nbytes: int = 0
    usage: int | None = None
    complete_ns: int | None = None

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


class _RequestFailed(Exception):
    def __init__(self, status: Status, message: str) -> None:
        self.status = status
        super().__init__(message)


class Probe:
    """One HTTP client for one trial. With pooling, its connections are kept alive and
    reused across the trial's requests; without, every request opens a fresh one."""

    def __init__(self, settings: ProbeSettings) -> None:
        self.settings = settings
        limits = httpx.Limits(
            max_connections=settings.pool_size if settings.pooling else None,
            max_keepalive_connections=settings.pool_size if settings.pooling else 0,
            keepalive_expiry=None,
        )
        self._client = httpx.Client(
            http2=settings.http2,
            verify=ssl_context(settings),
            limits=limits,
            timeout=None,
            trust_env=False,  # proxies from the environment would distort every figure
            follow_redirects=False,
        )
        self._watchdog = Watchdog()

    def prime(self, requests: list[RequestSpec]) -> None:
        """Exercise request building once and start the watchdog before t0, so first-use
        costs inside the client (URL parsing, header encoding, a thread) are not charged to
        the server."""
        self._watchdog.start()
        for spec in requests[:1]:
            self._client.build_request(
                spec.method, spec.url, headers=spec.headers, content=spec.body
            )

    def close(self) -> None:
        self._client.close()
        self._watchdog.close()

    def __enter__(self) -> Probe:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def send(self, spec: RequestSpec, t0_ns: int, timeout_s: float | None = None) -> RequestRecord:
        """Send one request and time it. ``spec.timeout_s`` (or ``timeout_s`` where that is
        shorter: what is left of the trial's own bound) bounds the whole request, from its
        first byte sent to the end of the response; a request that runs over it ends as
        ``timeout`` with what it had received."""
        limit = spec.timeout_s if timeout_s is None else max(min(spec.timeout_s, timeout_s), 0.0)
        timeline = _Timeline(self._watchdog)
        url, headers, extensions, dns_ns = self._address(spec)
        extensions["trace"] = timeline.trace
        start = time.perf_counter_ns()
        deadline = start + int(limit * 1e9)
        status_code: int | None = None
        http_version: str | None = None
        status: Status = "ok"
        error: str | None = None
        self._watchdog.arm(limit)
        try:
            with self._client.stream(
                spec.method,
                url,
                headers=headers,
                content=spec.body,
                timeout=httpx.Timeout(limit),
                extensions=extensions,
            ) as response:
                status_code = response.status_code
                http_version = response.http_version
                if status_code != spec.expect_status:
                    detail = _first_bytes(response)
                    raise _RequestFailed(
                        "failed", f"HTTP {status_code} (expected {spec.expect_status}): {detail}"
                    )
                if spec.stream and spec.kind != "http":
                    self._read_stream(response, spec, timeline, deadline, limit)
                else:
                    self._read_body(response, spec, timeline, deadline, limit)
                    timeline.complete_ns = time.perf_counter_ns()
        except httpx.TimeoutException as exc:
            status, error = "timeout", f"no answer within {limit:g} s ({_phase_of(exc)})"
        except httpx.HTTPError as exc:
            status, error = "failed", f"{type(exc).__name__}: {exc or 'connection error'}"
        except _RequestFailed as exc:
            status, error = exc.status, str(exc)
        except MalformedStream as exc:
            status, error = "failed", f"malformed response: {exc}"
        end = time.perf_counter_ns()
        if self._watchdog.disarm():  # the connection was cut at the deadline
            status, error = "timeout", _over_time(limit, timeline)
        if status == "ok" and spec.stream and spec.kind != "http" and not timeline.token_ns:
            status, error = "failed", "the stream ended without any content token"
        return _record(spec, t0_ns, start, end, timeline, status, error, status_code,
                       http_version, dns_ns)  # fmt: skip

    def _address(
        self, spec: RequestSpec
    ) -> tuple[str, dict[str, str], dict[str, object], int | None]:
        """Resolve a host name ourselves (timed as DNS) and connect to the address, keeping the
        name for the Host header and TLS; an IP literal needs no resolution."""
        headers = dict(spec.headers)
        extensions: dict[str, object] = {}
        if self.settings.server_name:
            extensions["sni_hostname"] = self.settings.server_name
        parts = urlsplit(spec.url)
        host = parts.hostname or ""
        if not host or _is_ip(host):
            return spec.url, headers, extensions, None
        port = parts.port or (443 if parts.scheme == "https" else 80)
        started = time.perf_counter_ns()
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror:
            return spec.url, headers, extensions, None  # let httpx report the failure
        dns_ns = time.perf_counter_ns() - started
        address = infos[0][4][0]
        netloc = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
        headers.setdefault("Host", parts.netloc.rsplit("@", 1)[-1])
        extensions.setdefault("sni_hostname", host)
        return urlunsplit(parts._replace(netloc=netloc)), headers, extensions, dns_ns

    def _read_stream(
        self,
        response: httpx.Response,
        spec: RequestSpec,
        timeline: _Timeline,
        deadline: int,
        limit: float,
    ) -> None:
        content_type = response.headers.get("content-type", "")
        if "text/event-stream" not in content_type:
            raise _RequestFailed(
                "failed",
                "expected an event stream (text/event-stream), got "
                f"{content_type or 'no content type'}; does the server support stream = true? "
                f"{_first_bytes(response)}",
            )
        decoder = SSEDecoder()
        chat = spec.kind == "openai-chat"
        for chunk in response.iter_bytes():
            now = time.perf_counter_ns()
            timeline.nbytes += len(chunk)
            for event in decoder.feed(chunk):
                content = read_openai_chunk(event.data, chat=chat)
                if content.text:
                    timeline.token_ns.append(now)
                if content.completion_tokens is not None:
                    timeline.usage = content.completion_tokens
            if now > deadline:
                raise _RequestFailed("timeout", _over_time(limit, timeline))
        for event in decoder.close():
            content = read_openai_chunk(event.data, chat=chat)
            if content.text:
                timeline.token_ns.append(time.perf_counter_ns())

    def _read_body(
        self,
        response: httpx.Response,
        spec: RequestSpec,
        timeline: _Timeline,
        deadline: int,
        limit: float,
    ) -> None:
        limit = self.settings.max_body_bytes
        keep = spec.kind != "http"
        parts: list[bytes] = []
        for chunk in response.iter_bytes():
            timeline.nbytes += len(chunk)
            if timeline.nbytes > limit:
                raise _RequestFailed("failed", f"the response body is larger than {limit} bytes")
            if time.perf_counter_ns() > deadline:
                raise _RequestFailed("timeout", _over_time(limit, timeline))
            if keep:
                parts.append(chunk)
        if keep:
            content = read_openai_response(b"".join(parts), chat=spec.kind == "openai-chat")
            timeline.usage = content.completion_tokens


def _record(
    spec: RequestSpec,
    t0_ns: int,
    called: int,
    end: int,
    timeline: _Timeline,
    status: Status,
    error: str | None,
    status_code: int | None,
    http_version: str | None,
    dns_ns: int | None,
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
        connect_ms=_ms(timeline.span("connect_tcp")),
        tls_ms=_ms(timeline.span("start_tls")),
        ttfb_ms=None if headers_ns is None else ns_to_ms(headers_ns - start),
        ttft_ms=None if first_content is None else ns_to_ms(first_content - start),
        total_ms=ns_to_ms(end - start),
        tokens=len(timeline.token_ns) if streamed else None,
        usage_tokens=timeline.usage,
        itl_ms=tuple(ns_to_ms(g) for g in gaps),
        bytes=timeline.nbytes,
        error=error,
    )


def _over_time(limit: float, timeline: _Timeline) -> str:
    got = f"{len(timeline.token_ns)} token(s), {timeline.nbytes:,} bytes"
    return (
        f"no complete answer within {limit:g} s (timeout_s bounds the whole request; {got} so far)"
    )


def _first_bytes(response: httpx.Response) -> str:
    data = b""
    try:
        for chunk in response.iter_bytes():
            data += chunk
            if len(data) >= _ERROR_BODY_BYTES:
                break
    except httpx.HTTPError:
        pass
    text = data[:_ERROR_BODY_BYTES].decode("utf-8", "replace").strip()
    return text or "(empty body)"


def _phase_of(exc: httpx.TimeoutException) -> str:
    return {
        httpx.ConnectTimeout: "while connecting",
        httpx.ReadTimeout: "while waiting for data",
        httpx.WriteTimeout: "while sending",
        httpx.PoolTimeout: "waiting for a connection",
    }.get(type(exc), "timeout")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def _ms(ns: int | None) -> float | None:
    return None if ns is None else ns_to_ms(ns)
