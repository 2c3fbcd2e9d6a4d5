# Longer than 400 lines: the whole reference gateway (proxy, pool, queue, two-level cache,
# health checks) in one module, so its start-up reads as one sequence, like the server's.
"""``coldstart serve-gateway``: the reference gateway in front of one or more inference
servers — the second half of a real deployment's cold start.

- forwards ``/v1/chat/completions`` and ``/v1/completions`` (streams pass through chunk by
  chunk), round-robin over healthy upstreams;
- ``--upstream-pool on``: one keep-alive pool per upstream (``--upstream-pool-size`` kept
  connections, ``--upstream-overflow`` more opened when all are busy, the rest wait for
  one); ``off``: a new connection per request;
- ``--queue-size N``: while no upstream is healthy (a replica still starting), up to N
  requests wait, each at most ``--queue-timeout-s``, and go as soon as one is; beyond N,
  or with N = 0, the answer is 503 at once;
- health checks every ``--health-interval-ms``; an upstream that comes back after a
  failure gets a fresh pool (stale kept-alive connections to the old process are dropped);
- ``--cache off|local|redis|local+redis``: deterministic requests (temperature 0 or a
  seed) are answered from an in-process LRU (L1) and/or Redis with a TTL (L2);
  ``POST /cache/invalidate`` drops a key (or all) here, in Redis, and — through Redis
  pub/sub — in every other gateway at once;
- ``/health`` (200 once an upstream answers and Redis is reachable when used),
  ``/stats`` (upstream requests, cache hits and misses), ``/startup`` (phases), and the
  ``COLDSTART_PHASES`` protocol: import, redis_connect, upstream_ready, listen, http_start.
"""

from __future__ import annotations

import time

_IMPORT_START_NS = time.perf_counter_ns()

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import hashlib  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from collections import OrderedDict  # noqa: E402
from collections.abc import AsyncIterator  # noqa: E402
from dataclasses import asdict, dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import JSONResponse, Response, StreamingResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402

from coldstart_bench.target.net import ListenError, listen  # noqa: E402
from coldstart_bench.target.phases import PhaseLog  # noqa: E402

_IMPORT_END_NS = time.perf_counter_ns()

CHANNEL = "coldstart:invalidate"
CACHE_MODES = ("off", "local", "redis", "local+redis")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="coldstart serve-gateway",
        description="The reference gateway: an OpenAI-compatible proxy with an upstream "
        "pool, health-checked reconnects and a two-level response cache.",
    )
    p.add_argument("--upstream", action="append", required=True, help="base URL (repeatable)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--upstream-pool", choices=("on", "off"), default="on")
    p.add_argument("--cache", choices=CACHE_MODES, default="off")
    p.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="Redis URL for L2")
    p.add_argument("--cache-ttl-s", type=int, default=300)
    p.add_argument("--cache-size", type=int, default=1024, help="entries in the local LRU")
    p.add_argument("--health-interval-ms", type=float, default=200.0)
    p.add_argument("--upstream-pool-size", type=int, default=0, help="kept connections (0: any)")
    p.add_argument("--upstream-overflow", type=int, default=0, help="extra connections when busy")
    p.add_argument("--queue-size", type=int, default=0, help="requests waiting for an upstream")
    p.add_argument("--queue-timeout-s", type=float, default=30.0)
    p.add_argument("--log-level", default="warning")
    return p.parse_args(argv)


@dataclass
class Stats:
    requests: int = 0
    upstream_requests: int = 0
    l1_hits: int = 0
    l2_hits: int = 0
    misses: int = 0
    invalidations_received: int = 0
    reconnects: int = 0
    upstream_errors: int = 0
    queued: int = 0  # requests that waited for a healthy upstream
    queue_timeouts: int = 0  # ... and none came in time
    queue_rejected: int = 0  # the queue was full: 503 at once
    queue_max_depth: int = 0


@dataclass
class Upstream:
    url: str
    pooled: bool
    pool_size: int = 0  # 0: no limit
    overflow: int = 0
    healthy: bool = False
    client: httpx.AsyncClient | None = None
    ever_failed: bool = False

    def new_client(self) -> httpx.AsyncClient:
        size = self.pool_size or None
        limits = httpx.Limits(
            max_keepalive_connections=size if self.pooled else 0,
            max_connections=size + self.overflow if size else None,
        )
        return httpx.AsyncClient(
            base_url=self.url, limits=limits, timeout=httpx.Timeout(120.0), trust_env=False
        )


@dataclass
class Gateway:
    args: argparse.Namespace
    phases: PhaseLog
    upstreams: list[Upstream]
    stats: Stats = field(default_factory=Stats)
    l1: OrderedDict[str, bytes] = field(default_factory=OrderedDict)
    redis: Any = None
    _turn: itertools.count = field(default_factory=itertools.count)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    some_healthy: asyncio.Event = field(default_factory=asyncio.Event)
    waiting: int = 0

    @property
    def uses_l1(self) -> bool:
        return self.args.cache in ("local", "local+redis")

    @property
    def uses_l2(self) -> bool:
        return self.args.cache in ("redis", "local+redis")

    def pick(self) -> Upstream | None:
        healthy = [u for u in self.upstreams if u.healthy and u.client is not None]
        if not healthy:
            return None
        return healthy[next(self._turn) % len(healthy)]

    async def wait_for_upstream(self) -> Upstream | str:
        """An upstream, waiting in the bounded queue while none is healthy; else why not."""
        upstream = self.pick()
        if upstream is not None:
            return upstream
        if self.waiting >= self.args.queue_size:
            if self.args.queue_size:
                self.stats.queue_rejected += 1
            return "no healthy upstream" + (" (the queue is full)" if self.args.queue_size else "")
        self.waiting += 1
        self.stats.queued += 1
        self.stats.queue_max_depth = max(self.stats.queue_max_depth, self.waiting)
        deadline = time.monotonic() + self.args.queue_timeout_s
        try:
            while (upstream := self.pick()) is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.stats.queue_timeouts += 1
                    return f"no upstream became healthy within {self.args.queue_timeout_s:g} s"
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.some_healthy.wait(), left)
            return upstream
        finally:
            self.waiting -= 1

    # Cache ------------------------------------------------------------------------

    async def cache_get(self, key: str) -> bytes | None:
        if self.uses_l1 and key in self.l1:
            self.l1.move_to_end(key)
            self.stats.l1_hits += 1
            return self.l1[key]
        if self.uses_l2 and self.redis is not None:
            value = await self.redis.get(key)
            if value is not None:
                self.stats.l2_hits += 1
                self._remember(key, value)
                return value
        self.stats.misses += 1
        return None

    async def cache_put(self, key: str, value: bytes) -> None:
        self._remember(key, value)
        if self.uses_l2 and self.redis is not None:
            await self.redis.set(key, value, ex=self.args.cache_ttl_s)

    def _remember(self, key: str, value: bytes) -> None:
        if self.uses_l1:
            self.l1[key] = value
            self.l1.move_to_end(key)
            while len(self.l1) > self.args.cache_size:
                self.l1.popitem(last=False)

    async def invalidate(self, key: str | None) -> None:
        """Drop a key (None: everything) here, in Redis, and in every other gateway."""
        self._forget(key)
        if self.redis is not None:
            if key is None:
                await self.redis.flushdb()
            else:
                await self.redis.delete(key)
            await self.redis.publish(CHANNEL, key or "*")

    def _forget(self, key: str | None) -> None:
        if key is None or key == "*":
            self.l1.clear()
        else:
            self.l1.pop(key, None)

    async def listen_invalidations(self) -> None:
        pubsub = self.redis.pubsub()
        await pubsub.subscribe(CHANNEL)
        async for message in pubsub.listen():
            if message.get("type") == "message":
                data = message["data"]
                self._forget(data.decode() if isinstance(data, bytes) else str(data))
                self.stats.invalidations_received += 1

    # Upstream health ----------------------------------------------------------------

    async def check(self, upstream: Upstream) -> bool:
        try:
            async with httpx.AsyncClient(timeout=1.0, trust_env=False) as probe:
                ok = (await probe.get(upstream.url + "/health")).status_code == 200
        except httpx.HTTPError:
            ok = False
        if ok and not upstream.healthy:
            if upstream.ever_failed:  # it came back: connections to the old process are dead
                self.stats.reconnects += 1
            if upstream.client is not None:
                await upstream.client.aclose()
            upstream.client = upstream.new_client()
        if not ok:
            upstream.ever_failed = upstream.ever_failed or upstream.healthy
        upstream.healthy = ok
        if any(u.healthy for u in self.upstreams):
            self.some_healthy.set()
        else:
            self.some_healthy.clear()
        return ok

    async def watch_health(self) -> None:
        while True:
            await asyncio.sleep(self.args.health_interval_ms / 1000)
            for upstream in self.upstreams:
                await self.check(upstream)


def cache_key(path: str, body: dict[str, Any]) -> str | None:
    """Only deterministic requests are cached: greedy (temperature 0 or unset) or seeded."""
    temperature = body.get("temperature", 0) or 0
    if temperature != 0 and body.get("seed") is None:
        return None
    canonical = json.dumps({"path": path, "body": body}, sort_keys=True, separators=(",", ":"))
    return "coldstart:response:" + hashlib.sha256(canonical.encode()).hexdigest()


def create_app(gw: Gateway) -> Starlette:
    async def proxy(request: Request) -> Response:
        gw.stats.requests += 1
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError:
            return JSONResponse({"error": {"message": "the body is not JSON"}}, status_code=400)
        stream = bool(isinstance(body, dict) and body.get("stream"))
        media = "text/event-stream" if stream else "application/json"
        key = (
            cache_key(request.url.path, body)
            if gw.args.cache != "off" and isinstance(body, dict)
            else None
        )
        if key is not None:
            cached = await gw.cache_get(key)
            if cached is not None:
                return Response(cached, media_type=media, headers={"X-Cache": "hit"})
        upstream = await gw.wait_for_upstream()
        if isinstance(upstream, str) or upstream.client is None:
            return JSONResponse(
                {"error": {"message": str(upstream), "type": "server_error"}},
                status_code=503,
            )
        gw.stats.upstream_requests += 1
        try:
            reply = await upstream.client.send(
                upstream.client.build_request(
                    "POST",
                    request.url.path,
                    content=raw,
                    headers={"Content-Type": "application/json"},
                ),
                stream=True,
            )
        except httpx.HTTPError as exc:
            gw.stats.upstream_errors += 1
            upstream.healthy = False
            upstream.ever_failed = True
            if not any(u.healthy for u in gw.upstreams):
                gw.some_healthy.clear()
            return JSONResponse(
                {
                    "error": {
                        "message": f"upstream failed: {type(exc).__name__}",
                        "type": "server_error",
                    }
                },
                status_code=502,
            )

        async def relay() -> AsyncIterator[bytes]:
            kept: list[bytes] = []
            complete = False
            try:
                async for chunk in reply.aiter_raw():
                    kept.append(chunk)
                    yield chunk
                complete = True
            except httpx.HTTPError:
                gw.stats.upstream_errors += 1
            finally:
                await reply.aclose()
            if complete and key is not None and reply.status_code == 200:
                await gw.cache_put(key, b"".join(kept))

        return StreamingResponse(
            relay(), status_code=reply.status_code, media_type=media, headers={"X-Cache": "miss"}
        )

    async def health(_: Request) -> Response:
        if not any(u.healthy for u in gw.upstreams):
            return JSONResponse({"status": "no healthy upstream"}, status_code=503)
        if gw.uses_l2:
            try:
                await gw.redis.ping()
            except Exception as exc:  # any Redis failure means "not ready"
                return JSONResponse({"status": f"redis: {exc}"}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def invalidate(request: Request) -> Response:
        body = await request.json()
        await gw.invalidate(None if body.get("all") else body.get("key"))
        return JSONResponse({"ok": True})

    async def stats(_: Request) -> Response:
        return JSONResponse(
            {
                **asdict(gw.stats),
                "l1_entries": len(gw.l1),
                "queue_depth": gw.waiting,
                "upstreams": [{"url": u.url, "healthy": u.healthy} for u in gw.upstreams],
            }
        )

    async def startup(_: Request) -> Response:
        return JSONResponse(
            {"schema_version": 1, "phases": [p.to_dict() for p in gw.phases.phases]}
        )

    async def key_of(request: Request) -> Response:
        body = await request.json()
        return JSONResponse({"key": cache_key(body.get("path", ""), body.get("body", {}))})

    return Starlette(
        routes=[
            Route("/v1/chat/completions", proxy, methods=["POST"]),
            Route("/v1/completions", proxy, methods=["POST"]),
            Route("/health", health),
            Route("/stats", stats),
            Route("/startup", startup),
            Route("/cache/invalidate", invalidate, methods=["POST"]),
            Route("/cache/key", key_of, methods=["POST"]),
        ]
    )


async def _run(gw: Gateway, sock: Any) -> None:
    phases = gw.phases
    if gw.uses_l2:
        import redis.asyncio as aioredis

        with phases.span("redis_connect"):
            gw.redis = aioredis.from_url(gw.args.redis)
            await gw.redis.ping()
        gw.tasks.add(asyncio.create_task(gw.listen_invalidations()))
    with phases.span("upstream_ready"):
        for upstream in gw.upstreams:
            await gw.check(upstream)
    gw.tasks.add(asyncio.create_task(gw.watch_health()))
    http_start = time.perf_counter_ns()

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            phases.add("http_start", http_start, time.perf_counter_ns())
            print(
                f"coldstart serve-gateway: ready on http://{gw.args.host}:{sock.getsockname()[1]}",
                flush=True,
            )

    config = uvicorn.Config(
        create_app(gw),
        log_level=gw.args.log_level,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
    )
    await Server(config).serve(sockets=[sock])  # until SIGTERM/SIGINT (uvicorn's handlers)
    for task in gw.tasks:
        task.cancel()
    for upstream in gw.upstreams:
        if upstream.client is not None:
            await upstream.client.aclose()
    if gw.redis is not None:
        with contextlib.suppress(Exception):
            await gw.redis.aclose()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    phases = PhaseLog()
    phases.add("import", _IMPORT_START_NS, _IMPORT_END_NS)
    upstreams = [
        Upstream(
            u.rstrip("/"),
            args.upstream_pool == "on",
            args.upstream_pool_size,
            args.upstream_overflow,
        )
        for u in args.upstream
    ]
    gw = Gateway(args, phases, upstreams)
    try:
        with phases.span("listen"):
            sock = listen(args.host, args.port)
    except ListenError as exc:
        print(f"coldstart serve-gateway: error: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_run(gw, sock))
    except (ConnectionError, OSError) as exc:
        print(f"coldstart serve-gateway: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
