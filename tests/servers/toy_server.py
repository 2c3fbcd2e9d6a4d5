"""A small, configurable HTTP(S) server for the harness's tests (stdlib only, so it starts
in tens of milliseconds and behaves exactly as told).

It serves ``GET /`` (plain text), ``GET /health``, ``POST /v1/chat/completions`` and
``POST /v1/completions`` in OpenAI's format (streaming SSE or one JSON body), and reports
its ``listen`` phase through the ``COLDSTART_PHASES`` protocol. Flags make it slow to
start, crash, exit at once, fork children that try to escape, ignore SIGTERM, or misbehave
on the wire.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

IMPORT_START_NS = time.perf_counter_ns()


def write_phase(name: str, start_ns: int, end_ns: int) -> None:
    path = os.environ.get("COLDSTART_PHASES")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"phase": name, "start_ns": start_ns, "end_ns": end_ns}) + "\n")


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--startup-delay-ms", type=float, default=0.0, help="sleep before listening")
    p.add_argument(
        "--startup-work-ms",
        type=float,
        default=0.0,
        help="before listening, compute until this much CPU time is spent (a start-up whose "
        "cost is CPU work: on a busy machine its wall time stretches, its CPU time does not)",
    )
    p.add_argument(
        "--health-delay-ms",
        type=float,
        default=0.0,
        help="/health is 503 for this long after listen",
    )
    p.add_argument(
        "--engine-delay-ms",
        type=float,
        default=0.0,
        help="completions answer 503 for this long after listen while /health says 200 (a "
        "server whose health endpoint says ready before its engine is up)",
    )
    p.add_argument("--ready-line", help="print this line to stdout once listening")
    p.add_argument(
        "--say",
        action="append",
        default=[],
        metavar="MS:TEXT",
        help="before listening, print TEXT to stderr MS after start (repeatable, in order); "
        "each is also reported as the phase 'said-N', ending just before it was printed",
    )
    p.add_argument(
        "--crash-before-ready",
        action="store_true",
        help="print an error and exit 3 before listening",
    )
    p.add_argument(
        "--crash-in-repetitions",
        default="",
        metavar="R,R,...",
        help="with --repetition R: crash before ready (as --crash-before-ready) in these",
    )
    p.add_argument("--repetition", type=int, default=-1, help="the trial's repetition")
    p.add_argument("--never-listen", action="store_true", help="run but never open the port")
    p.add_argument(
        "--close-connections",
        action="store_true",
        help="answer every request with Connection: close (no keep-alive)",
    )
    p.add_argument(
        "--flood-mb", type=int, default=0, help="write this many MB to stdout and to stderr first"
    )
    p.add_argument(
        "--fork-children", type=int, default=0, help="children (each with a grandchild) to fork"
    )
    p.add_argument(
        "--escape-session",
        action="store_true",
        help="one grandchild calls setsid() to leave the group",
    )
    p.add_argument("--pidfile", help="append the pid of every process this server starts")
    p.add_argument("--ignore-sigterm", action="store_true")
    p.add_argument(
        "--crash-after-tokens", type=int, help="the whole server dies after N streamed tokens"
    )
    p.add_argument("--body-mb", type=int, default=0, help="GET / answers with this many MB")
    p.add_argument("--ttft-ms", type=float, default=0.0, help="delay before the first token")
    p.add_argument("--itl-ms", type=float, default=0.0, help="delay between tokens")
    p.add_argument(
        "--tokens", type=int, default=5, help="tokens per response (capped by max_tokens)"
    )
    p.add_argument(
        "--malformed-sse", action="store_true", help="stream a data line that is not JSON"
    )
    p.add_argument("--status", type=int, default=200, help="status code of completion responses")
    p.add_argument(
        "--answer-at-most",
        type=int,
        default=-1,
        help="answer this many completion requests, then hold every later one unanswered",
    )
    p.add_argument(
        "--hang-after-tokens", type=int, default=-1, help="stop sending after this many tokens"
    )
    p.add_argument(
        "--escape-on-request",
        action="store_true",
        help="on each completion request, double-fork a setsid 'sleep 600' and answer",
    )
    p.add_argument(
        "--escape-on-sigterm",
        action="store_true",
        help="on SIGTERM, exit 0 at once, leaving a process that double-forks a setsid "
        "'sleep 600' 50 ms later",
    )
    p.add_argument(
        "--fork-on-sigterm",
        action="store_true",
        help="on SIGTERM, fork a child that sleeps (in the server's group, after the signal "
        "went to it) and exit 0",
    )
    p.add_argument(
        "--daemon-on-sigterm",
        action="store_true",
        help="on SIGTERM, double-fork a daemon in a new session (setsid) that sleeps, and exit 0",
    )
    p.add_argument(
        "--daemonize",
        action="store_true",
        help="double-fork at start: the first process exits 0, a grandchild serves",
    )
    p.add_argument(
        "--stop-self-on-request",
        action="store_true",
        help="SIGSTOP itself when a completion request arrives",
    )
    p.add_argument(
        "--max-concurrent",
        type=int,
        default=0,
        help="answer at most this many completions at a time; the others wait their turn",
    )
    p.add_argument(
        "--backlog",
        type=int,
        default=5,
        help="the listen backlog (the stdlib's default is 5: a burst overflows it)",
    )
    p.add_argument(
        "--keep-alive-s",
        type=float,
        default=0.0,
        help="close a kept-alive connection after this long idle (0: keep it)",
    )
    p.add_argument(
        "--endless-stream",
        action="store_true",
        help="stream a token every --itl-ms (at least 1 ms) forever, never [DONE]",
    )
    p.add_argument(
        "--nagle",
        action="store_true",
        help="leave Nagle's algorithm on (no TCP_NODELAY), as a careless server would",
    )
    p.add_argument(
        "--compile-cache",
        help="a compile cache directory: 'compile' (write kernel.bin) unless it is there",
    )
    return p.parse_args(argv)


def record_pid(args: argparse.Namespace) -> None:
    if args.pidfile:
        with open(args.pidfile, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()}\n")


def sleeper(args: argparse.Namespace, depth: int, started: int) -> None:
    """A forked descendant that just lives until it is killed. It says so on the
    ``started`` pipe once its pid is recorded (and its own child forked)."""
    record_pid(args)
    if depth == 1 and os.fork() == 0:
        if args.escape_session:
            os.setsid()
        sleeper(args, 2, started)
    os.write(started, b"x")
    while True:
        time.sleep(3600)


def escape(args: argparse.Namespace, later_s: float = 0.0) -> None:
    """Start 'sleep 600' the way a daemon does: fork, setsid, fork again, and let the middle
    process exit at once, so the sleeper belongs to nobody (but the subreaper above). With
    ``later_s``, the middle process leaves the session at once (its pid recorded: it is the
    escapee) and forks the sleeper that much later; this one returns as soon as the middle
    has left, so the escape has happened whatever the teardown does next; without, once the
    sleeper's pid is recorded."""
    left_r, left_w = os.pipe()
    middle = os.fork()
    if middle == 0:
        os.close(left_r)
        os.setsid()
        if later_s:
            record_pid(args)
        os.write(left_w, b"x")
        os.close(left_w)
        time.sleep(later_s)
        recorded_r, recorded_w = os.pipe()
        if os.fork() == 0:
            record_pid(args)
            os.write(recorded_w, b"x")
            os.execvp("sleep", ["sleep", "600"])
        os.read(recorded_r, 1)  # exit once the sleeper is on record: it has escaped
        os._exit(0)
    os.close(left_w)
    os.read(left_r, 1)  # the middle has left the session
    os.close(left_r)
    if not later_s:
        os.waitpid(middle, 0)


def fork_children(args: argparse.Namespace) -> None:
    """Fork the children and grandchildren, and return only once all of them run, so a
    test never races a teardown against a fork."""
    if not args.fork_children:
        return
    ready_r, ready_w = os.pipe()
    for _ in range(args.fork_children):
        if os.fork() == 0:
            try:
                os.close(ready_r)
                sleeper(args, 1, ready_w)
            finally:
                os._exit(0)
    os.close(ready_w)
    expected, seen = 2 * args.fork_children, 0
    while seen < expected:
        chunk = os.read(ready_r, expected - seen)
        if not chunk:
            break
        seen += len(chunk)
    os.close(ready_r)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Without TCP_NODELAY, each small SSE write after the first waits for the client's
    # delayed ACK (~40 ms on Linux); real servers (uvicorn, vLLM) set it too.
    disable_nagle_algorithm = True
    server: ToyServer

    def setup(self) -> None:
        super().setup()
        if self.server.args.keep_alive_s:  # an idle kept-alive connection is closed after it
            self.connection.settimeout(self.server.args.keep_alive_s)
        if self.server.args.nagle:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 0)

    def log_message(self, format: str, *args: object) -> None:  # quiet, like a real server at INFO
        pass

    def parse_request(self) -> bool:
        # a query string is the client's business (a credential, a cache buster): routes
        # are matched on the path alone, as real servers do
        parsed = super().parse_request()
        self.path = self.path.split("?", 1)[0]
        return parsed

    def do_GET(self) -> None:
        if self.path == "/health":
            ready = time.monotonic() >= self.server.healthy_at
            self._send(200 if ready else 503, b"ok" if ready else b"loading", "text/plain")
        elif self.path == "/" and self.server.args.body_mb:
            block = b"y" * (1 << 20)
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(block) * self.server.args.body_mb))
            self.end_headers()
            for _ in range(self.server.args.body_mb):
                self.wfile.write(block)
        elif self.path == "/":
            self._send(200, b"hello from toy_server\n", "text/plain")
        else:
            self._send(404, b"not found", "text/plain")

    def do_POST(self) -> None:
        with self.server.slots:  # type: ignore[attr-defined]
            self._completion()

    def _completion(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        args = self.server.args
        if self.path not in ("/v1/chat/completions", "/v1/completions"):
            self._send(404, b"not found", "text/plain")
            return
        if args.answer_at_most >= 0:
            with self.server.counter_lock:  # type: ignore[attr-defined]
                self.server.answered += 1  # type: ignore[attr-defined]
                over = self.server.answered > args.answer_at_most  # type: ignore[attr-defined]
            if over:
                time.sleep(3600)
        if time.monotonic() < self.server.engine_up_at:  # type: ignore[attr-defined]
            self._send(503, b'{"error": {"message": "engine starting"}}', "application/json")
            return
        if args.status != 200:
            self._send(
                args.status,
                json.dumps({"error": {"message": "planted failure"}}).encode(),
                "application/json",
            )
            return
        chat = self.path.endswith("chat/completions")
        if args.escape_on_request:
            escape(args)
        if args.stop_self_on_request:
            os.kill(os.getpid(), signal.SIGSTOP)
        n = min(args.tokens, int(body.get("max_tokens", args.tokens)))
        words = [f"tok{i} " for i in range(n)]
        if args.endless_stream:
            words = (f"tok{i} " for i in itertools.count())  # type: ignore[assignment]
        if body.get("stream"):
            self._stream(words, chat)
        else:
            time.sleep(args.ttft_ms / 1000 + args.itl_ms * max(0, n - 1) / 1000)
            text = "".join(words)
            choice = {"index": 0, "finish_reason": "length"}
            choice.update(
                {"message": {"role": "assistant", "content": text}} if chat else {"text": text}
            )
            payload = {
                "id": "x",
                "object": "chat.completion" if chat else "text_completion",
                "choices": [choice],
                "usage": {"completion_tokens": n},
            }
            self._send(200, json.dumps(payload).encode(), "application/json")

    def _stream(self, words: list[str], chat: bool) -> None:
        args = self.server.args
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def event(payload: str) -> None:
            data = f"data: {payload}\n\n".encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def chunk(content: str | None, role: bool = False) -> str:
            if chat:
                delta: dict[str, str] = {"role": "assistant"} if role else {}
                if content is not None:
                    delta["content"] = content
                choice = {"index": 0, "delta": delta}
            else:
                choice = {"index": 0, "text": content or ""}
            return json.dumps({"id": "x", "choices": [choice]})

        if chat:
            event(chunk(None, role=True))  # role-only chunk: must not count as the first token
        time.sleep(args.ttft_ms / 1000)
        for i, word in enumerate(words):
            if args.endless_stream:
                time.sleep(max(args.itl_ms, 1.0) / 1000)
            if i == args.hang_after_tokens:
                time.sleep(3600)
            if i == args.crash_after_tokens:
                os._exit(7)
            if i:
                time.sleep(args.itl_ms / 1000)
            if args.malformed_sse and i == 1:
                event("{not json")
                continue
            event(chunk(word))
        event(json.dumps({"id": "x", "choices": [], "usage": {"completion_tokens": len(words)}}))
        event("[DONE]")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if self.server.args.close_connections:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)


class ToyServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, args: argparse.Namespace, context: ssl.SSLContext | None) -> None:
        self.args = args
        self.context = context
        self.healthy_at = float("inf")
        self.engine_up_at = 0.0
        self.request_queue_size = args.backlog
        self.slots = threading.BoundedSemaphore(args.max_concurrent or 1_000_000)
        self.counter_lock, self.answered = threading.Lock(), 0
        super().__init__((args.host, args.port), Handler)

    def get_request(self) -> tuple[socket.socket, object]:
        sock, addr = super().get_request()
        if self.context is not None:
            sock = self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def finish_request(self, request: socket.socket, client_address: object) -> None:
        if isinstance(request, ssl.SSLSocket):
            try:
                request.do_handshake()
            except (ssl.SSLError, OSError):
                return  # e.g. a readiness probe that only opened a TCP connection
        super().finish_request(request, client_address)  # type: ignore[arg-type]

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hangs up is not the server's problem


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.daemonize:
        if os.fork() > 0:
            return 0  # the parent leaves at once, as a daemon's does
        os.setsid()
        if os.fork() > 0:
            os._exit(0)
    record_pid(args)
    if args.ignore_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if args.escape_on_sigterm:

        def leave_a_sleeper(_signum: int, _frame: object) -> None:
            escape(args, later_s=0.05)
            os._exit(0)

        signal.signal(signal.SIGTERM, leave_a_sleeper)
    if args.fork_on_sigterm:

        def fork_a_sleeper(_signum: int, _frame: object) -> None:
            if os.fork() == 0:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                record_pid(args)
                time.sleep(600)
            os._exit(0)

        signal.signal(signal.SIGTERM, fork_a_sleeper)
    if args.daemon_on_sigterm:

        def start_a_daemon(_signum: int, _frame: object) -> None:
            if os.fork() == 0:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                os.setsid()
                if os.fork() == 0:
                    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a daemon minds its own
                    record_pid(args)
                    time.sleep(600)
                os._exit(0)
            os._exit(0)

        signal.signal(signal.SIGTERM, start_a_daemon)
    write_phase("import", IMPORT_START_NS, time.perf_counter_ns())
    fork_children(args)
    if args.flood_mb:
        line = b"x" * 1023 + b"\n"
        for _ in range(args.flood_mb * 1024):
            sys.stdout.buffer.write(line)
            sys.stderr.buffer.write(line)
        sys.stdout.flush()
        sys.stderr.flush()
    crash_in = {int(r) for r in args.crash_in_repetitions.split(",") if r}
    if args.crash_before_ready or args.repetition in crash_in:
        print("toy_server: fatal: planted crash before ready", file=sys.stderr, flush=True)
        return 3
    for n, said in enumerate(args.say):
        at_ms, text = said.split(":", 1)
        time.sleep(max(0.0, IMPORT_START_NS / 1e9 + float(at_ms) / 1000 - time.perf_counter()))
        before = time.perf_counter_ns()  # no reader can see the line earlier than this
        print(text, file=sys.stderr, flush=True)
        write_phase(f"said-{n}", IMPORT_START_NS, before)
    if args.startup_delay_ms:
        time.sleep(args.startup_delay_ms / 1000)
    if args.startup_work_ms:
        until = time.process_time() + args.startup_work_ms / 1000
        while time.process_time() < until:
            sum(range(1000))
    if args.compile_cache:
        kernel = os.path.join(args.compile_cache, "kernel.bin")
        if not os.path.exists(kernel):
            with open(kernel, "wb") as f:
                f.write(b"\0" * 1000)
    if args.never_listen:
        while True:
            time.sleep(3600)
    context = None
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
    listen_start = time.perf_counter_ns()
    server = ToyServer(args, context)  # binds and listens
    listened = time.perf_counter_ns()
    write_phase("listen", listen_start, listened)
    server.healthy_at = time.monotonic() + args.health_delay_ms / 1000
    server.engine_up_at = time.monotonic() + args.engine_delay_ms / 1000
    if args.engine_delay_ms:  # the span the engine is not up: when it will be, not seen
        write_phase("engine_up", listened, listened + int(args.engine_delay_ms * 1e6))
    if args.ready_line:
        print(args.ready_line, flush=True)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    try:
        while True:
            time.sleep(3600)
    finally:
        server.server_close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
