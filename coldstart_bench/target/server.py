# Longer than 400 lines: the start-up sequence and the routes it serves in one module, in
# the order they run; its phases read top to bottom like the waterfall they produce.
"""``coldstart serve``: the reference model server (OpenAI-compatible, on uvicorn + starlette).

Start-up, in order: ``import`` → [``cuda_init``] → ``model_read`` → ``deserialize`` →
``to_device`` → [``prefix_cache``] → [``warmup``] → ``listen`` → ``http_start`` (uvicorn
starts accepting) → [``warmup_http``]. With ``--warmup async`` it
listens first and does the rest in the background; ``/health`` is 503 until the model can
answer, and requests that arrive before that wait for it. Every phase is reported through
``COLDSTART_PHASES`` and on ``/startup``.
"""

from __future__ import annotations

import time

_IMPORT_START_NS = time.perf_counter_ns()

import argparse  # noqa: E402
import asyncio  # noqa: E402
import gc  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import uuid  # noqa: E402
from collections.abc import AsyncIterator, Iterator  # noqa: E402
from dataclasses import asdict, dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import torch  # noqa: E402
import uvicorn  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.concurrency import run_in_threadpool  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import JSONResponse, Response, StreamingResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402

from coldstart_bench.target.engine import (  # noqa: E402
    Engine,
    Generation,
    PromptTooLong,
    SamplingParams,
)
from coldstart_bench.target.model import build_model  # noqa: E402
from coldstart_bench.target.net import ListenError, listen  # noqa: E402
from coldstart_bench.target.phases import PhaseLog  # noqa: E402
from coldstart_bench.target.tokenizer import decode, encode, encode_chat  # noqa: E402
from coldstart_bench.target.weights import (  # noqa: E402
    LOAD_FORMATS,
    ModelFileError,
    load_weights,
    model_config,
)

_IMPORT_END_NS = time.perf_counter_ns()

DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful assistant running inside coldstart-bench's reference server. Answer briefly."
)


class StartupError(Exception):
    """Bad flags or a model that cannot be loaded: printed as one line, exit code 2."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="coldstart serve",
        description="The reference model server: a generated GPT-style model behind an "
        "OpenAI-compatible API, with a flag for every cold-start knob.",
    )
    p.add_argument("--model", required=True, type=Path, help="directory from `make-model`")
    p.add_argument("--served-model-name", help="name in /v1/models (default: directory name)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    p.add_argument("--device", choices=("cpu", "cuda", "auto"), default="cpu")
    p.add_argument("--load-format", choices=LOAD_FORMATS, default="safetensors")
    p.add_argument(
        "--warmup",
        choices=("none", "startup", "async"),
        default="none",
        help="none: first request is cold; startup: forward passes before listening; "
        "async: listen at once, load and warm up in the background",
    )
    p.add_argument("--warmup-passes", type=int, default=2)
    p.add_argument("--prefix-cache", choices=("on", "off"), default="off")
    p.add_argument("--system-prompt", default=DEFAULT_SYSTEM_PROMPT)
    p.add_argument("--response-cache", choices=("on", "off"), default="off")
    p.add_argument("--response-cache-size", type=int, default=256)
    p.add_argument(
        "--startup-delay-ms",
        type=float,
        default=0.0,
        help="sleep this long before reading the weights, to simulate slow storage "
        "(reported as its own phase, startup_delay)",
    )
    p.add_argument(
        "--planted-cpu-ms",
        type=float,
        default=0.0,
        help="spend this much CPU time (this thread's, not the wall clock's) before reading "
        "the weights: a planted CPU-bound regression (phase planted_cpu)",
    )
    p.add_argument(
        "--extra-import",
        action="append",
        default=[],
        metavar="MODULE",
        help="import this module too before reading the weights, as a build that gained an "
        "import would (repeatable; phase extra_import)",
    )
    p.add_argument(
        "--gc-freeze",
        choices=("on", "off"),
        default="off",
        help="on: gc.freeze() after the imports, so no full garbage collection walks "
        "torch's ~170k objects (~70 ms here) somewhere in the start-up",
    )
    p.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's)")
    p.add_argument(
        "--compile",
        choices=("on", "off"),
        default="off",
        help="on: torch.compile (inductor) the model's MLPs at start-up, its 'compile' phase; "
        "the compiled code is cached in $TORCHINDUCTOR_CACHE_DIR (default: a per-user "
        "directory under /tmp)",
    )
    p.add_argument(
        "--keep-alive-s",
        type=float,
        default=5.0,
        help="close a kept-alive connection after this long idle (uvicorn's default: 5 s)",
    )
    p.add_argument(
        "--keep-warm-s",
        type=float,
        default=0.0,
        help="idle keep-warm: after this long without a request, run one synthetic forward "
        "pass, and again every as long while idle (0: off)",
    )
    p.add_argument(
        "--otel-spans",
        action="store_true",
        help="as it stops, send its start-up phases as OpenTelemetry spans over OTLP/HTTP "
        "(to OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, under TRACEPARENT; needs the SDK)",
    )
    p.add_argument(
        "--http2",
        action="store_true",
        help="serve with hypercorn, which speaks HTTP/2 (over TLS, negotiated by ALPN) "
        "as well as HTTP/1.1; default: uvicorn, HTTP/1.1 only",
    )
    p.add_argument("--ssl-certfile")
    p.add_argument("--ssl-keyfile")
    p.add_argument("--log-level", default="warning")
    args = p.parse_args(argv)
    if (args.ssl_certfile is None) != (args.ssl_keyfile is None):
        p.error("--ssl-certfile and --ssl-keyfile go together")
    if args.warmup_passes < 1 or args.response_cache_size < 1:
        p.error("--warmup-passes and --response-cache-size must be at least 1")
    return args


@dataclass
class ServerState:
    args: argparse.Namespace
    phases: PhaseLog
    model_name: str
    device: torch.device
    engine: Engine | None = None
    error: str | None = None
    ready: threading.Event = field(default_factory=threading.Event)
    serving: bool = False
    http_start_ns: int = 0
    tasks: set[asyncio.Task[None]] = field(default_factory=set)  # keeps background tasks alive
    http_warm: bool = False  # --warmup startup/async: one request went through the HTTP stack
    created: int = field(default_factory=lambda: int(time.time()))
    last_request: float = field(default_factory=time.monotonic)
    keep_warm_passes: int = 0
    compile_cache: dict[str, int] | None = None  # --compile on: inductor's cache hits/misses

    def knobs(self) -> dict[str, Any]:
        a = self.args
        return {
            "device": str(self.device),
            "load_format": a.load_format,
            "warmup": a.warmup,
            "prefix_cache": a.prefix_cache,
            "response_cache": a.response_cache,
            "tls": a.ssl_certfile is not None,
            "compile": a.compile,
            "gc_freeze": a.gc_freeze,
            "server": "hypercorn (HTTP/2)" if a.http2 else "uvicorn (HTTP/1.1)",
        }


def resolve_device(choice: str) -> torch.device:
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if choice == "cuda" and not torch.cuda.is_available():
        raise StartupError(
            "--device cuda: CUDA is not available here "
            f"(torch {torch.__version__}, built with CUDA {torch.version.cuda or 'none'}); "
            "use --device cpu or auto"
        )
    return torch.device(choice)


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def compile_cache_counts() -> dict[str, int]:
    """How many compiled graphs inductor found in its on-disk caches and how many it had
    to compile, in this process so far."""
    from torch._dynamo.utils import counters

    inductor, aot = counters["inductor"], counters["aot_autograd"]
    return {
        "fxgraph_hit": inductor["fxgraph_cache_hit"],
        "fxgraph_miss": inductor["fxgraph_cache_miss"],
        "autograd_hit": aot["autograd_cache_hit"],
        "autograd_miss": aot["autograd_cache_miss"],
    }


def _spend_cpu(seconds: float) -> None:
    """Work until this thread has used ``seconds`` of CPU: the same work on a busy machine
    as on a quiet one, only longer on the wall clock."""
    until = time.thread_time() + seconds
    total = 0
    while time.thread_time() < until:
        total += sum(i * i for i in range(1000))


def load_model(state: ServerState) -> None:
    """Everything between the imports and a model that can answer. Sets ``state.ready``
    (also on failure, with ``state.error`` set, so waiting requests are released)."""
    args, phases, device = state.args, state.phases, state.device
    try:
        if device.type == "cuda":
            with phases.span("cuda_init"):
                torch.cuda.init()
                torch.empty(1, device=device)
                _synchronize(device)
        cfg = model_config(args.model)
        if args.startup_delay_ms > 0:
            with phases.span("startup_delay"):
                time.sleep(args.startup_delay_ms / 1000.0)
        if args.planted_cpu_ms > 0:
            with phases.span("planted_cpu"):
                _spend_cpu(args.planted_cpu_ms / 1000.0)
        if args.extra_import:
            with phases.span("extra_import"):
                for module in args.extra_import:
                    importlib.import_module(module)
        weights = load_weights(args.model, args.load_format, phases)
        with phases.span("to_device"):
            model = build_model(cfg, weights).to(device)
            _synchronize(device)
        if args.compile == "on":
            with phases.span("compile"):
                model.compile_mlp()
                with torch.inference_mode():  # a prefill and a one-token step: both shapes
                    _, cache = model(torch.zeros(1, 2, dtype=torch.long, device=device))
                    model(torch.zeros(1, 1, dtype=torch.long, device=device), cache)
                _synchronize(device)
            counts = state.compile_cache = compile_cache_counts()
            print(
                f"coldstart serve: compile: {counts['fxgraph_hit']} graph(s) from the cache, "
                f"{counts['fxgraph_miss']} compiled",
                flush=True,
            )
        engine = Engine(
            model,
            device,
            response_cache_size=args.response_cache_size if args.response_cache == "on" else 0,
        )
        if args.prefix_cache == "on":
            with phases.span("prefix_cache"):
                engine.build_prefix_cache(args.system_prompt)
                _synchronize(device)
        if args.warmup != "none":
            with phases.span("warmup"):
                engine.warmup(args.warmup_passes)
                _synchronize(device)
        state.engine = engine
        if args.keep_warm_s > 0:
            threading.Thread(
                target=_keep_warm, args=(state,), name="keep-warm", daemon=True
            ).start()
    except Exception as exc:  # reported on /health and the log, never a silent hang
        state.error = f"{type(exc).__name__}: {exc}"
        print(f"coldstart serve: model load failed: {state.error}", file=sys.stderr, flush=True)
    finally:
        state.ready.set()


def _keep_warm(state: ServerState) -> None:
    """The idle-period prewarm: while no request has come for ``--keep-warm-s``, one
    synthetic forward pass every as long, so weights, allocator and kernels stay hot."""
    every = state.args.keep_warm_s
    while True:
        idle = time.monotonic() - state.last_request
        if idle < every:
            time.sleep(every - idle)
            continue
        assert state.engine is not None
        state.engine.warmup(1)
        state.keep_warm_passes += 1
        state.last_request = time.monotonic()  # the next pass after another idle period


# HTTP --------------------------------------------------------------------------------------


def _error(status: int, message: str, kind: str = "invalid_request_error") -> JSONResponse:
    return JSONResponse(
        {"error": {"message": message, "type": kind, "param": None, "code": None}},
        status_code=status,
    )


class BadRequest(Exception):
    pass


def _sampling(body: dict[str, Any], chat: bool) -> SamplingParams:
    def number(key: str, default: float, low: float, high: float) -> float:
        value = body.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BadRequest(f"'{key}' must be a number")
        if not low <= value <= high:
            raise BadRequest(f"'{key}' must be between {low} and {high}")
        return float(value)

    max_key = "max_completion_tokens" if chat and "max_completion_tokens" in body else "max_tokens"
    max_tokens = body.get(max_key, 16)
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise BadRequest(f"'{max_key}' must be a positive integer")
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise BadRequest("'seed' must be an integer")
    if body.get("n", 1) != 1:
        raise BadRequest("only n = 1 is supported")
    if body.get("stop"):
        raise BadRequest("stop sequences are not supported by the reference server")
    return SamplingParams(
        max_tokens=max_tokens,
        temperature=number("temperature", 0.0, 0.0, 2.0),
        top_p=number("top_p", 1.0, 0.0, 1.0) or 1.0,
        seed=seed,
        ignore_eos=bool(body.get("ignore_eos", False)),
    )


def _prompt_ids(body: dict[str, Any], chat: bool) -> list[int]:
    if chat:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise BadRequest("'messages' must be a non-empty list")
        if not all(isinstance(m, dict) for m in messages):
            raise BadRequest("every message must be an object with 'role' and 'content'")
        try:
            return encode_chat(messages)
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if not isinstance(prompt, str):
        raise BadRequest("'prompt' must be a string (batches are not supported)")
    return encode(prompt)


class _Completion:
    """The OpenAI wire format of one completion, chat or plain."""

    def __init__(self, state: ServerState, chat: bool) -> None:
        self.chat = chat
        self.model = state.model_name
        self.created = int(time.time())
        self.id = ("chatcmpl-" if chat else "cmpl-") + uuid.uuid4().hex[:24]

    def _envelope(self, obj: str, choices: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": obj,
            "created": self.created,
            "model": self.model,
            "choices": choices,
        }

    def chunk(self, text: str | None, finish: str | None, role: bool = False) -> str:
        if self.chat:
            delta: dict[str, Any] = {"role": "assistant", "content": ""} if role else {}
            if text is not None:
                delta["content"] = text
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            data = self._envelope("chat.completion.chunk", [choice])
        else:
            choice = {"index": 0, "text": text or "", "logprobs": None, "finish_reason": finish}
            data = self._envelope("text_completion", [choice])
        return f"data: {json.dumps(data)}\n\n"

    def usage_chunk(self, gen: Generation) -> str:
        obj = "chat.completion.chunk" if self.chat else "text_completion"
        data = self._envelope(obj, [])
        data["usage"] = _usage(gen)
        return f"data: {json.dumps(data)}\n\n"

    def whole(self, gen: Generation) -> dict[str, Any]:
        text = decode(gen.tokens)
        if self.chat:
            choice: dict[str, Any] = {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "logprobs": None,
                "finish_reason": gen.finish_reason,
            }
            data = self._envelope("chat.completion", [choice])
        else:
            choice = {
                "index": 0,
                "text": text,
                "logprobs": None,
                "finish_reason": gen.finish_reason,
            }
            data = self._envelope("text_completion", [choice])
        data["usage"] = _usage(gen)
        return data


def _usage(gen: Generation) -> dict[str, int]:
    return {
        "prompt_tokens": gen.prompt_tokens,
        "completion_tokens": len(gen.tokens),
        "total_tokens": gen.prompt_tokens + len(gen.tokens),
    }


_END = object()


async def _stream(
    completion: _Completion, gen: Generation, tokens: Iterator[int], include_usage: bool
) -> AsyncIterator[str]:
    try:
        if completion.chat:
            yield completion.chunk(None, None, role=True)
        while True:
            token = await run_in_threadpool(next, tokens, _END)
            if token is _END:
                break
            yield completion.chunk(decode([token]), None)  # type: ignore[list-item]
        yield completion.chunk(None, gen.finish_reason)
        if include_usage:
            yield completion.usage_chunk(gen)
        yield "data: [DONE]\n\n"
    finally:
        await run_in_threadpool(tokens.close)  # type: ignore[attr-defined]


def create_app(state: ServerState, lifespan: Any = None) -> Starlette:
    async def engine_or_error() -> Engine | Response:
        if not state.ready.is_set():
            await run_in_threadpool(state.ready.wait)
        if state.engine is None:
            return _error(503, f"model failed to load: {state.error}", "server_error")
        return state.engine

    async def completions(request: Request, chat: bool) -> Response:
        state.last_request = time.monotonic()
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "the request body is not valid JSON")
        if not isinstance(body, dict):
            return _error(400, "the request body must be a JSON object")
        try:
            params = _sampling(body, chat)
            prompt = _prompt_ids(body, chat)
        except BadRequest as exc:
            return _error(400, str(exc))
        engine = await engine_or_error()
        if isinstance(engine, Response):
            return engine
        try:
            gen, tokens = engine.generate(prompt, params)
        except PromptTooLong as exc:
            return _error(400, str(exc))
        completion = _Completion(state, chat)
        if body.get("stream"):
            options = body.get("stream_options") or {}
            include_usage = bool(isinstance(options, dict) and options.get("include_usage"))
            return StreamingResponse(
                _stream(completion, gen, tokens, include_usage),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache"},
            )
        await run_in_threadpool(lambda: list(tokens))
        return JSONResponse(completion.whole(gen))

    async def chat_completions(request: Request) -> Response:
        return await completions(request, chat=True)

    async def text_completions(request: Request) -> Response:
        return await completions(request, chat=False)

    async def models(_: Request) -> Response:
        entry = {
            "id": state.model_name,
            "object": "model",
            "created": state.created,
            "owned_by": "coldstart-bench",
        }
        return JSONResponse({"object": "list", "data": [entry]})

    async def health(_: Request) -> Response:
        if state.engine is not None and (state.http_warm or state.args.warmup == "none"):
            return JSONResponse({"status": "ok"})
        if state.error is not None:
            return JSONResponse({"status": "error", "error": state.error}, status_code=503)
        return JSONResponse({"status": "loading"}, status_code=503)

    async def startup(_: Request) -> Response:
        engine = state.engine
        return JSONResponse(
            {
                "schema_version": 1,
                "ready": engine is not None,
                "error": state.error,
                "phases": [p.to_dict() for p in state.phases.phases],
                "knobs": state.knobs(),
                "model": {"name": state.model_name, "path": str(state.args.model)},
                "stats": asdict(engine.stats) if engine is not None else None,
                "keep_warm_passes": state.keep_warm_passes,
                "compile_cache": state.compile_cache,
            }
        )

    return Starlette(
        lifespan=lifespan,
        routes=[
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/v1/completions", text_completions, methods=["POST"]),
            Route("/v1/models", models),
            Route("/health", health),
            Route("/startup", startup),
        ],
    )


# Process -----------------------------------------------------------------------------------


def _listen(host: str, port: int) -> socket.socket:
    try:
        return listen(host, port)
    except ListenError as exc:
        raise StartupError(str(exc)) from None


async def _on_serving(state: ServerState, url: str) -> None:
    """Called once the HTTP server accepts requests: record ``http_start``, then say so on
    stdout (for ``log`` readiness rules) when the model can answer too — after one request
    to ourselves when a warm-up was asked for."""
    # Between listen() and here, connections queue in the backlog unanswered.
    state.phases.add("http_start", state.http_start_ns, time.perf_counter_ns())
    state.serving = True
    if state.args.warmup == "none":
        _announce(state, url)
    else:
        task = asyncio.get_running_loop().create_task(_warm_http(state, url))
        state.tasks.add(task)
        task.add_done_callback(state.tasks.discard)


async def _warm_http(state: ServerState, url: str) -> None:
    """Send one streamed completion to ourselves, so the first real request finds the
    HTTP stack's lazy imports and worker threads in place too (warming the model alone
    leaves ~10-20 ms of them to the first request). /health stays 503 until done."""
    await run_in_threadpool(state.ready.wait)
    if state.engine is None:
        return
    with state.phases.span("warmup_http"):
        try:
            await _request_self(url)
        except (TimeoutError, OSError) as exc:
            print(f"coldstart serve: HTTP warm-up failed: {exc}", file=sys.stderr)
    state.http_warm = True
    _announce(state, url)


def _announce(state: ServerState, url: str) -> None:
    if state.engine is not None:
        print(f"coldstart serve: ready on {url}", flush=True)


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, state: ServerState, url: str) -> None:
        super().__init__(config)
        self.state = state
        self.url = url

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        await _on_serving(self.state, self.url)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await super().shutdown(sockets)
        _on_stopped(self.state)  # before uvicorn re-raises the signal that stopped it


def _on_stopped(state: ServerState) -> None:
    """The server has stopped serving: send its phases as spans where asked."""
    if state.args.otel_spans:
        from coldstart_bench.target.otel import export_phases

        export_phases(state.phases.phases)


def _serve_uvicorn(state: ServerState, sock: socket.socket, url: str) -> None:
    args = state.args
    config = uvicorn.Config(
        create_app(state),
        log_level=args.log_level,
        access_log=False,
        lifespan="off",
        ssl_certfile=args.ssl_certfile,
        ssl_keyfile=args.ssl_keyfile,
        timeout_graceful_shutdown=2,
        timeout_keep_alive=args.keep_alive_s,
    )
    _Server(config, state, url).run(sockets=[sock])


def _serve_hypercorn(state: ServerState, sock: socket.socket, url: str) -> None:
    """HTTP/2 (and HTTP/1.1) on hypercorn, on the socket we already listen on."""
    import contextlib
    import signal

    from hypercorn.asyncio import serve as hypercorn_serve
    from hypercorn.config import Config

    args = state.args
    config = Config()
    config.bind = [f"fd://{sock.fileno()}"]
    config.alpn_protocols = ["h2", "http/1.1"]
    config.accesslog = None
    config.loglevel = args.log_level.upper()
    config.graceful_timeout = 2.0
    config.keep_alive_timeout = args.keep_alive_s
    if args.ssl_certfile:
        config.certfile, config.keyfile = args.ssl_certfile, args.ssl_keyfile

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await _on_serving(state, url)  # hypercorn accepts as soon as this returns
        yield

    app = create_app(state, lifespan=lifespan)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await hypercorn_serve(app, config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]

    asyncio.run(run())
    _on_stopped(state)


async def _request_self(url: str) -> None:
    import ssl
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    context = None
    if parts.scheme == "https":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # our own certificate, over loopback
    body = json.dumps(
        {
            "model": "warmup",
            "messages": [{"role": "user", "content": "warmup"}],
            "max_tokens": 2,
            "stream": True,
        }
    ).encode()
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(parts.hostname, parts.port, ssl=context), 10
    )
    try:
        writer.write(head + body)
        await writer.drain()
        await asyncio.wait_for(reader.read(), 30)  # until the server closes: [DONE] sent
    finally:
        writer.close()


def serve(args: argparse.Namespace) -> int:
    phases = PhaseLog()
    phases.add("import", _IMPORT_START_NS, _IMPORT_END_NS)
    if args.gc_freeze == "on":
        with phases.span("gc_freeze"):
            gc.freeze()
    if args.threads:
        torch.set_num_threads(args.threads)
    state = ServerState(
        args=args,
        phases=phases,
        model_name=args.served_model_name or Path(args.model).resolve().name,
        device=resolve_device(args.device),
    )
    model_config(args.model)  # a missing or foreign directory fails here, before listening
    if args.warmup == "async":
        with phases.span("listen"):
            sock = _listen(args.host, args.port)
        threading.Thread(target=load_model, args=(state,), name="load", daemon=True).start()
    else:
        load_model(state)
        if state.engine is None:
            return 1
        with phases.span("listen"):
            sock = _listen(args.host, args.port)
    port = sock.getsockname()[1]
    state.http_start_ns = time.perf_counter_ns()
    scheme = "https" if args.ssl_certfile else "http"
    host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"{scheme}://{host}:{port}"
    (_serve_hypercorn if args.http2 else _serve_uvicorn)(state, sock, url)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return serve(args)
    except (StartupError, ModelFileError) as exc:
        print(f"coldstart serve: error: {exc}", file=sys.stderr, flush=True)
        return 2


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
