"""The load client's probe: many requests in flight on one asyncio loop, each timed like the
one-at-a-time probe's (the same trace events, the same :class:`~.timeline.Timeline` and
record), with ``timeout_s`` bounding each whole request through asyncio's own timeout. A
host name is left to httpx to resolve (no DNS figure of its own)."""

from __future__ import annotations

import asyncio
import time

import httpx

from coldstart_bench.plan.specs import ProbeSettings, RequestSpec
from coldstart_bench.probe.client import REPLICA_HEADER, client_options
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
from coldstart_bench.results.schema import RequestRecord, Status


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
        replica: str | None = None
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
                    replica = response.headers.get(REPLICA_HEADER)
                    await self._read(response, spec, timeline)
        except TimeoutError:  # asyncio.timeout: the whole request's bound
            status, error = "timeout", over_time(limit, timeline)
        except REQUEST_ERRORS as exc:
            status, error = failure(exc, limit)
        end = time.perf_counter_ns()
        if status == "ok" and tokenless(spec, timeline):
            status, error = "failed", "the stream ended without any content token"
        return record(
            spec,
            t0_ns,
            called,
            end,
            timeline,
            status,
            error,
            status_code,
            http_version,
            None,
            replica,
        )

    async def _read(self, response: httpx.Response, spec: RequestSpec, timeline: Timeline) -> None:
        if response.status_code != spec.expect_status:
            head = b""
            async for chunk in response.aiter_bytes():
                head += chunk
                if len(head) >= ERROR_BODY_BYTES:
                    break
            raise wrong_status(spec, response.status_code, head)
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
        body = Body(spec, timeline, self.settings.max_body_bytes)
        async for chunk in response.aiter_bytes():
            body.take(chunk)
        body.finish()
