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
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from coldstart_bench.plan.specs import ProbeSettings, RequestSpec
from coldstart_bench.probe.sse import SSEDecoder
from coldstart_bench.probe.timeline import (
    ERROR_BODY_BYTES,
    REQUEST_ERRORS,
    Body,
    RequestFailed,
    Timeline,
    event_stream_problem,
    failure,
    over_time,
    record,
    tokenless,
    wrong_status,
)
from coldstart_bench.probe.watchdog import Watchdog
from coldstart_bench.results.schema import RequestRecord, Status

# a fleet's balancer names the replica that answered in this header
REPLICA_HEADER = "x-coldstart-replica"


def client_options(settings: ProbeSettings) -> dict[str, Any]:
    """The httpx client settings of a trial's probe, sync or async: the pool as the
    ``pooling`` factor says, no timeouts of httpx's own (the watchdog bounds requests)."""
    return {
        "http2": settings.http2,
        "verify": ssl_context(settings),
        "limits": httpx.Limits(
            max_connections=settings.pool_size if settings.pooling else None,
            max_keepalive_connections=settings.pool_size if settings.pooling else 0,
            keepalive_expiry=None,
        ),
        "timeout": None,
        "trust_env": False,  # proxies from the environment would distort every figure
        "follow_redirects": False,
    }


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


class Probe:
    """One HTTP client for one trial. With pooling, its connections are kept alive and
    reused across the trial's requests; without, every request opens a fresh one."""

    def __init__(self, settings: ProbeSettings) -> None:
        self.settings = settings
        self._client = httpx.Client(**client_options(settings))
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

    def send(
        self,
        spec: RequestSpec,
        t0_ns: int,
        timeout_s: float | None = None,
        on_first_token: Callable[[], None] | None = None,
    ) -> RequestRecord:
        """Send one request and time it. ``spec.timeout_s`` (or ``timeout_s`` where that is
        shorter: what is left of the trial's own bound) bounds the whole request, from this
        call (``client_ms`` before the first network action, where ``total_ms`` starts) to
        the end of the response; a request that runs over it ends as ``timeout`` with what
        it had received."""
        limit = spec.timeout_s if timeout_s is None else max(min(spec.timeout_s, timeout_s), 0.0)
        timeline = Timeline(self._watchdog, on_first_token=on_first_token)
        url, headers, extensions, dns_ns = self._address(spec)
        extensions["trace"] = timeline.trace
        start = time.perf_counter_ns()
        deadline = start + int(limit * 1e9)
        status_code: int | None = None
        http_version: str | None = None
        replica: str | None = None
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
                replica = response.headers.get(REPLICA_HEADER)
                if status_code != spec.expect_status:
                    raise wrong_status(spec, status_code, _head(response))
                if spec.stream and spec.kind != "http":
                    self._read_stream(response, spec, timeline, deadline, limit)
                else:
                    self._read_body(response, spec, timeline, deadline, limit)
        except REQUEST_ERRORS as exc:
            status, error = failure(exc, limit)
        end = time.perf_counter_ns()
        if self._watchdog.disarm():  # the connection was cut at the deadline
            status, error = "timeout", over_time(limit, timeline)
        if status == "ok" and tokenless(spec, timeline):
            status, error = "failed", "the stream ended without any content token"
        return record(spec, t0_ns, start, end, timeline, status, error, status_code,
                      http_version, dns_ns, replica)  # fmt: skip

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
        timeline: Timeline,
        deadline: int,
        limit: float,
    ) -> None:
        problem = event_stream_problem(response)
        if problem:
            head = _head(response).decode("utf-8", "replace").strip() or "(empty body)"
            raise RequestFailed("failed", f"{problem} {head}")
        decoder = SSEDecoder()
        for chunk in response.iter_bytes():
            now = time.perf_counter_ns()
            timeline.take(chunk, decoder, spec.kind == "openai-chat", now)
            if now > deadline:
                raise RequestFailed("timeout", over_time(limit, timeline))
        timeline.close(decoder, spec.kind == "openai-chat")

    def _read_body(
        self,
        response: httpx.Response,
        spec: RequestSpec,
        timeline: Timeline,
        deadline: int,
        limit: float,
    ) -> None:
        body = Body(spec, timeline, self.settings.max_body_bytes)
        for chunk in response.iter_bytes():
            body.take(chunk)
            if time.perf_counter_ns() > deadline:
                raise RequestFailed("timeout", over_time(limit, timeline))
        body.finish()


def _head(response: httpx.Response) -> bytes:
    """The first :data:`ERROR_BODY_BYTES` of an answer's body (what came, if it broke off)."""
    data = b""
    try:
        for chunk in response.iter_bytes():
            data += chunk
            if len(data) >= ERROR_BODY_BYTES:
                break
    except httpx.HTTPError:
        pass
    return data[:ERROR_BODY_BYTES]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False
