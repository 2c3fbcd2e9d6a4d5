"""The load client's probe: many requests in flight on one asyncio loop, each timed like the
one-at-a-time probe's (the same trace events, the same :class:`~.timeline.Timeline` and
record), with ``timeout_s`` bounding each whole request through asyncio's own timeout. A
host name is left to httpx to resolve (no DNS figure of its own)."""

from __future__ import annotations

import asyncio
import time

import httpx

from coldstart_bench.plan.specs import ProbeSettings, RequestSpec
from coldstart_bench.probe.client import client_options
from coldstart_bench.probe.sse import MalformedStream, SSEDecoder, read_openai_response
from coldstart_bench.probe.timeline import (
    RequestFailed,
    Timeline,
    event_stream_problem,
    over_time,
    phase_of,
    record,
)
from coldstart_bench.results.schema import RequestRecord, Status

_ERROR_BODY_BYTES = 500


class AsyncProbe:
    """One async HTTP client for a load trial: pooled connections (up to ``pool_size``)
    when pooling is on, a fresh connection per request when off."""

    def __init__(self, settings: ProbeSettings) -> None:
        self.settings = settings
        self._client = httpx.AsyncClient(**client_options(settings))

    async def aclose(self) -> None:
        await self._client.aclose()

    async def send(self, spec: RequestSpec, t0_ns: int) -> RequestRecord:
        timeline = Timeline()

        async def trace(name: str, info: dict[str, object]) -> None:
            timeline.trace(name, info)

        extensions: dict[str, object] = {"trace": trace}
        if self.settings.server_name:
            extensions["sni_hostname"] = self.settings.server_name
        limit = spec.timeout_s
        called = time.perf_counter_ns()
        status_code: int | None = None
        http_version: str | None = None
        status: Status = "ok"
        error: str | None = None
        try:
            async with asyncio.timeout(limit):
                async with self._client.stream(
                    spec.method,
                    spec.url,
                    headers=spec.headers,
                    content=spec.body,
                    timeout=httpx.Timeout(limit),
                    extensions=extensions,
                ) as response:
                    status_code = response.status_code
                    http_version = response.http_version
                    await self._read(response, spec, timeline)
        except TimeoutError:
            status, error = "timeout", over_time(limit, timeline)
        except httpx.TimeoutException as exc:
            status, error = "timeout", f"no answer within {limit:g} s ({phase_of(exc)})"
        except httpx.HTTPError as exc:
            status, error = "failed", f"{type(exc).__name__}: {exc or 'connection error'}"
        except RequestFailed as exc:
            status, error = exc.status, str(exc)
        except MalformedStream as exc:
            status, error = "failed", f"malformed response: {exc}"
        end = time.perf_counter_ns()
        if status == "ok" and spec.stream and spec.kind != "http" and not timeline.token_ns:
            status, error = "failed", "the stream ended without any content token"
        return record(
            spec, t0_ns, called, end, timeline, status, error, status_code, http_version, None
        )

    async def _read(self, response: httpx.Response, spec: RequestSpec, timeline: Timeline) -> None:
        if response.status_code != spec.expect_status:
            detail = (await response.aread())[:_ERROR_BODY_BYTES].decode("utf-8", "replace")
            raise RequestFailed(
                "failed",
                f"HTTP {response.status_code} (expected {spec.expect_status}): "
                f"{detail.strip() or '(empty body)'}",
            )
        chat = spec.kind == "openai-chat"
        if spec.stream and spec.kind != "http":
            problem = event_stream_problem(response)
            if problem:
                raise RequestFailed("failed", problem)
            decoder = SSEDecoder()
            async for chunk in response.aiter_bytes():
                timeline.take(chunk, decoder, chat, time.perf_counter_ns())
            timeline.close(decoder, chat)
            return
        parts: list[bytes] = []
        async for chunk in response.aiter_bytes():
            timeline.nbytes += len(chunk)
            if timeline.nbytes > self.settings.max_body_bytes:
                raise RequestFailed(
                    "failed", f"the response body is larger than {self.settings.max_body_bytes}"
                )
            if spec.kind != "http":
                parts.append(chunk)
        timeline.complete_ns = time.perf_counter_ns()
        if spec.kind != "http":
            timeline.usage = read_openai_response(b"".join(parts), chat=chat).completion_tokens
