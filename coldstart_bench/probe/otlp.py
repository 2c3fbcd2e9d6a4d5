"""An OTLP/HTTP trace receiver for one trial: the services post their spans to
``/v1/traces`` (protobuf or JSON, gzip or not) and the trial reads them after teardown.

A sender is untrusted: a body over :data:`MAX_BODY` is refused (413) unread, garbage is
answered 400, spans past :data:`MAX_SPANS` and bodies past :data:`MAX_TOTAL` are
accepted and left out (a 200, so a sender does not retry them forever), at most two bodies
are decoded at once, and a client that stalls is dropped after :data:`CLIENT_TIMEOUT_S`.
Each of these is counted and said in :meth:`OtlpReceiver.notes`; memory stays bounded.
"""

from __future__ import annotations

import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from coldstart_bench.probe.otlp_decode import (
    OtlpDecodeError,
    ReceivedSpan,
    decode_json,
    decode_protobuf,
)

TRACES_PATH = "/v1/traces"
MAX_BODY = 8 << 20  # bytes of one export, after decompression
MAX_TOTAL = 64 << 20  # bytes of all exports a trial decodes
MAX_SPANS = 2_000
CLIENT_TIMEOUT_S = 5.0
PROTOBUF = "application/x-protobuf"


def realtime_offset_ns(samples: int = 5) -> int:
    """Wall clock − monotonic clock (``time.time_ns() − time.perf_counter_ns()``), from
    the tightest of a few back-to-back readings: a span's Unix time minus this is the
    time on the trial's clock."""
    best: tuple[int, int] | None = None
    for _ in range(samples):
        before = time.perf_counter_ns()
        wall = time.time_ns()
        after = time.perf_counter_ns()
        gap = after - before
        if best is None or gap < best[0]:
            best = (gap, wall - (before + after) // 2)
    assert best is not None
    return best[1]


class OtlpReceiver:
    """``with OtlpReceiver() as receiver:`` serves on 127.0.0.1 (a free port) until the
    block ends; :attr:`spans` holds what arrived."""

    def __init__(
        self, max_spans: int = MAX_SPANS, max_body: int = MAX_BODY, max_total: int = MAX_TOTAL
    ) -> None:
        self.max_spans, self.max_body, self.max_total = max_spans, max_body, max_total
        self.spans: list[ReceivedSpan] = []
        self.exports = 0
        self.refused_large = 0
        self.malformed = 0
        self.dropped_spans = 0
        self.dropped_exports = 0
        self.decoded_bytes = 0
        self.first_error: str | None = None
        self._lock = threading.Lock()
        self._decoding = threading.BoundedSemaphore(2)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._offsets = [realtime_offset_ns()]

    @property
    def offset_ns(self) -> int:
        """Wall clock − monotonic clock over the receiver's life (the mean of its start's
        and its close's): a span's Unix time minus this is its time on the trial's clock."""
        return sum(self._offsets) // len(self._offsets)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def endpoint(self) -> str:
        """The base URL, as ``OTEL_EXPORTER_OTLP_ENDPOINT`` takes it."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def traces_url(self) -> str:
        """The full URL, as ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` takes it."""
        return self.endpoint + TRACES_PATH

    def __enter__(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._offsets.append(realtime_offset_ns())
        self._server.server_close()

    def received(self) -> list[ReceivedSpan]:
        with self._lock:
            return list(self.spans)

    def notes(self) -> list[str]:
        """What the receiver refused or left out, one line each."""
        out = []
        if self.refused_large:
            out.append(
                f"OTLP receiver: {self.refused_large} export(s) over {self.max_body >> 20} MB "
                "refused"
            )
        if self.malformed:
            out.append(
                f"OTLP receiver: {self.malformed} export(s) were no OTLP trace export "
                f"({self.first_error})"
            )
        if self.dropped_spans:
            out.append(
                f"OTLP receiver: {self.dropped_spans:,} span(s) past the first "
                f"{self.max_spans:,} left out"
            )
        if self.dropped_exports:
            out.append(
                f"OTLP receiver: {self.dropped_exports:,} export(s) past the first "
                f"{self.max_total >> 20} MB left out undecoded"
            )
        return out

    # Called from the handler's thread --------------------------------------------------------

    def _malformed(self, why: str) -> None:
        with self._lock:
            self.malformed += 1
            self.first_error = self.first_error or why[:200]

    def _accept(self, body: bytes, content_type: str) -> int:
        """Decode one export and keep its spans; the HTTP status to answer."""
        with self._lock:
            over = self.decoded_bytes + len(body) > self.max_total
            if not over:
                self.decoded_bytes += len(body)
        if over:
            with self._lock:
                self.dropped_exports += 1  # its spans are not even read
            return 200
        try:
            with self._decoding:
                if content_type.startswith("application/json"):
                    spans = decode_json(body)
                else:
                    spans = decode_protobuf(body)
        except OtlpDecodeError as exc:
            self._malformed(str(exc))
            return 400
        with self._lock:
            self.exports += 1
            room = max(0, self.max_spans - len(self.spans))
            self.spans.extend(spans[:room])
            self.dropped_spans += max(0, len(spans) - room)
        return 200


def _handler_for(receiver: OtlpReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = CLIENT_TIMEOUT_S
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            if self.path.split("?")[0] != TRACES_PATH:
                self._answer(404)
                return
            try:
                length = int(self.headers.get("Content-Length", ""))
            except ValueError:
                self._answer(411, close=True)
                return
            if length < 0 or length > receiver.max_body:
                with receiver._lock:
                    receiver.refused_large += 1
                self._answer(413, close=True)
                return
            try:
                body = self.rfile.read(length)
            except OSError:
                self.close_connection = True
                return
            if self.headers.get("Content-Encoding", "").lower() == "gzip":
                try:
                    inflated = _gunzip(body, receiver.max_body)
                except zlib.error as exc:
                    receiver._malformed(f"a broken gzip body ({exc})")
                    self._answer(400)
                    return
                if inflated is None:
                    with receiver._lock:
                        receiver.refused_large += 1
                    self._answer(413, close=True)
                    return
                body = inflated
            content_type = self.headers.get("Content-Type", PROTOBUF).lower()
            self._answer(receiver._accept(body, content_type), content_type)

        def _answer(self, status: int, content_type: str = PROTOBUF, close: bool = False) -> None:
            json_body = content_type.startswith("application/json")
            payload = b"{}" if json_body and status == 200 else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json" if json_body else PROTOBUF)
            self.send_header("Content-Length", str(len(payload)))
            if close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass  # a sender's every post is not the harness's news

    return Handler


def _gunzip(body: bytes, limit: int) -> bytes | None:
    """The body inflated, or None where it inflates past ``limit`` (a zip bomb stops
    there); :class:`zlib.error` where it is no gzip."""
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    data = inflate.decompress(body, limit + 1)
    return None if len(data) > limit or inflate.unconsumed_tail else data
