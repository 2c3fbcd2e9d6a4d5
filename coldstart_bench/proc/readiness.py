"""Readiness rules as checks the service's poll loop calls: each returns True once the
service is ready (a TCP connect, an HTTP status, a log line). A check is given the time
left before the rule's deadline, and waits no longer than that."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import regex

from coldstart_bench.plan.specs import ReadySpec
from coldstart_bench.results.logs import LOG_CHUNK_BYTES

# A match may straddle two reads: this much of the previous read is searched again.
_CARRY_BYTES = 4096


# One attempt waits at most this long, and never past the deadline.
_TCP_ATTEMPT_S = 1.0
_HTTP_ATTEMPT_S = 2.0
_MIN_ATTEMPT_S = 0.001


def tcp_check(spec: ReadySpec) -> Callable[[float], bool]:
    address = (spec.host, spec.port)

    def check(left_s: float) -> bool:
        try:
            wait = max(min(_TCP_ATTEMPT_S, left_s), _MIN_ATTEMPT_S)
            with socket.create_connection(address, timeout=wait):
                return True
        except OSError:
            return False

    return check


def _connection(spec: ReadySpec, wait: float) -> http.client.HTTPConnection:
    if not spec.https:
        return http.client.HTTPConnection(spec.host, spec.port, timeout=wait)
    # Readiness only asks "does it answer?"; certificate checks are the probe's job.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return http.client.HTTPSConnection(spec.host, spec.port, timeout=wait, context=context)


# After this many 404s in a row the path is likely wrong, not yet mounted: poll it at
# most every NOT_FOUND_INTERVAL_S (a wrong path at 1 ms made 11,000 requests in 30 s).
NOT_FOUND_STREAK = 100
NOT_FOUND_INTERVAL_S = 0.01


class HttpCheck:
    """GET ``path`` until it answers the expected status; remembers the last answer, so a
    timeout can say what the server said (``got 404``)."""

    def __init__(self, spec: ReadySpec) -> None:
        self.spec = spec
        self.last_status: int | None = None
        self.not_found_streak = 0

    def __call__(self, left_s: float) -> bool:
        spec = self.spec
        wait = max(min(_HTTP_ATTEMPT_S, left_s), _MIN_ATTEMPT_S)
        conn = _connection(spec, wait)
        try:
            conn.request("GET", spec.path, headers={"Connection": "close"})
            response = conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            return False
        finally:
            conn.close()
        self.last_status = response.status
        self.not_found_streak = self.not_found_streak + 1 if response.status == 404 else 0
        return response.status == spec.status

    def interval(self, interval_s: float) -> float:
        """The pause before the next attempt: longer once the path keeps answering 404."""
        if self.not_found_streak >= NOT_FOUND_STREAK:
            return max(interval_s, NOT_FOUND_INTERVAL_S)
        return interval_s


def http_check(spec: ReadySpec) -> HttpCheck:
    return HttpCheck(spec)


# Answers that may change once the server is up; any other 4xx will not (a malformed
# body): waiting out the timeout would only hide it. A 404 is "not yet" (a route not
# mounted, a proxy without its upstream) unless the API itself answered it: vLLM says
# 404 with an OpenAI error object for a model it does not serve.
_NOT_YET = {404, 408, 425, 429}


def _is_api_error(answer: bytes) -> bool:
    """An OpenAI-style error object: ``{"error": {...}}``, or vLLM's older
    ``{"object": "error", ...}``."""
    try:
        body = json.loads(answer)
    except ValueError:
        return False
    return isinstance(body, dict) and (
        isinstance(body.get("error"), dict) or body.get("object") == "error"
    )


class RequestRejected(Exception):
    """The readiness request was refused for what it is, not because the server is starting."""


def first_token_check(spec: ReadySpec) -> Callable[[float], bool]:
    """POST the streaming request; ready once an event carries generated text. A server that
    listens before its engine is up holds the request (or refuses it): one attempt may take
    the whole time left, so the poll loop runs it :class:`InBackground`."""

    def check(left_s: float) -> bool:
        conn = _connection(spec, max(left_s, _MIN_ATTEMPT_S))
        try:
            headers = {
                "Content-Type": "application/json",
                "Accept": "text/event-stream",
                "Connection": "close",
            }
            conn.request("POST", spec.path, body=spec.body, headers=headers)
            response = conn.getresponse()
            if response.status != 200:
                answer = response.read(2000)
                refused = response.status not in _NOT_YET or _is_api_error(answer)
                if 400 <= response.status < 500 and refused:
                    raise RequestRejected(
                        f"POST {spec.path} answered {response.status} "
                        f"{answer.decode(errors='replace').strip()[:300]}"
                    )
                return False
            return any(_carries_text(line) for line in response)
        except (OSError, http.client.HTTPException):
            return False
        finally:
            conn.close()

    return check


def _carries_text(line: bytes) -> bool:
    """An OpenAI-style stream event with generated text (completions' ``text``, chat's
    ``delta.content``)."""
    if not line.startswith(b"data:"):
        return False
    try:
        event = json.loads(line[5:])
        choice = event["choices"][0]
        text = choice.get("text") or (choice.get("delta") or {}).get("content")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return False
    return isinstance(text, str) and bool(text)


class InBackground:
    """Runs a check that may block for long in a thread, waiting for it at most ``wait_s``
    per call: the poll loop goes on reading the log's phases and noticing an exit while a
    request is held. ``ready_ns`` is when the check itself succeeded."""

    def __init__(self, check: Callable[[float], bool], wait_s: float) -> None:
        self._check = check
        self._wait_s = wait_s
        self._thread: threading.Thread | None = None
        self._result = False
        self._error: RequestRejected | None = None
        self.ready_ns: int | None = None

    def __call__(self, left_s: float) -> bool:
        if self._thread is None:
            self._result, self._error = False, None
            self._thread = threading.Thread(target=self._attempt, args=(left_s,), daemon=True)
            self._thread.start()
        self._thread.join(self._wait_s)
        if self._thread.is_alive():
            return False
        self._thread = None
        if self._error is not None:
            raise self._error
        return self._result

    def _attempt(self, left_s: float) -> None:
        try:
            ok = self._check(left_s)
        except RequestRejected as exc:  # raised again in the poll loop's thread
            self._error = exc
            return
        if ok:
            self.ready_ns = time.perf_counter_ns()
        self._result = ok


class _LogTail:
    """Reads a log incrementally from ``offset``, chunk by chunk (a service flooding its
    output costs bounded memory); each window repeats the end of the one before, so a match
    that straddles two reads is found."""

    def __init__(self, path: Path, offset: int = 0) -> None:
        self._path = path
        self._offset = offset
        self._carry = b""

    @property
    def offset(self) -> int:
        """How far the log has been read."""
        return self._offset

    def windows(self) -> Iterator[bytes]:
        try:
            with open(self._path, "rb") as f:
                f.seek(self._offset)
                while data := f.read(LOG_CHUNK_BYTES):
                    self._offset += len(data)
                    window = self._carry + data
                    yield window
                    self._carry = window[-_CARRY_BYTES:]
        except OSError:
            return


# A pattern gets this long on one window of the log (up to 1 MB): a backtracking pattern
# (``(a|aa)+$``) could otherwise hold the poll loop past every timeout. Python's ``re``
# cannot be interrupted; the ``regex`` engine takes a timeout.
MATCH_TIMEOUT_S = 0.1


def compile_log_pattern(pattern: str) -> regex.Pattern[bytes]:
    return regex.compile(pattern.encode("utf-8"), regex.MULTILINE)


class LogCheck:
    """Looks for the pattern in what is new in the log since ``offset`` (where the log
    ended when this process was spawned: a restarted service appends to the log of the
    instance before it, whose ready line must not count). A search that runs out of time
    counts as no match (:attr:`timed_out` says so), and a call reads no longer than the
    time left."""

    def __init__(self, path: Path, pattern: str, offset: int = 0) -> None:
        self._regex = compile_log_pattern(pattern)
        self._tail = _LogTail(path, offset)
        self.timed_out = False

    @property
    def read_offset(self) -> int:
        return self._tail.offset

    def __call__(self, left_s: float = MATCH_TIMEOUT_S) -> bool:
        until = time.monotonic() + max(left_s, MATCH_TIMEOUT_S)
        for window in self._tail.windows():
            try:
                if self._regex.search(window, timeout=MATCH_TIMEOUT_S):
                    return True
            except TimeoutError:
                self.timed_out = True
            if time.monotonic() >= until:
                return False
        return False


class LogMarks:
    """When each pattern's first line appeared in a service's log, for start-up phases read
    from the output of a server that reports none. Called from the readiness poll loop:
    each call reads what is new and stamps the patterns it finds with the time the read
    began (by then the line had been written), so a mark is late by at most one poll. A
    pattern's ``seconds`` or ``ms`` group is the server's own figure for that phase. A
    pattern that runs out of time on the log is given up (:attr:`timed_out`)."""

    def __init__(self, path: Path, patterns: dict[str, str], offset: int = 0) -> None:
        self._patterns = {name: compile_log_pattern(p) for name, p in patterns.items()}
        self._tail = _LogTail(path, offset)
        self.seen_ns: dict[str, int] = {}
        self.reported_ms: dict[str, float] = {}
        self.timed_out: set[str] = set()

    @property
    def read_offset(self) -> int:
        return self._tail.offset

    def __call__(self, now_ns: int) -> None:
        if len(self.seen_ns) + len(self.timed_out) == len(self._patterns):
            return
        for window in self._tail.windows():
            for name, pattern in self._patterns.items():
                if name in self.seen_ns or name in self.timed_out:
                    continue
                try:
                    match = pattern.search(window, timeout=MATCH_TIMEOUT_S)
                except TimeoutError:
                    self.timed_out.add(name)
                    continue
                if match is None:
                    continue
                self.seen_ns[name] = now_ns
                reported = _reported_ms(match)
                if reported is not None:
                    self.reported_ms[name] = reported


def _reported_ms(match: regex.Match[bytes]) -> float | None:
    """The duration a matched line printed, from its ``seconds`` or ``ms`` group."""
    for group, scale in (("seconds", 1000.0), ("ms", 1.0)):
        if group in match.re.groupindex and match.group(group) is not None:
            try:
                return float(match.group(group)) * scale
            except ValueError:  # e.g. "1.2.3": not a figure
                return None
    return None


def describe_rule(spec: ReadySpec) -> str:
    if spec.kind == "http":
        scheme = "https" if spec.https else "http"
        return f"GET {scheme}://{spec.host}:{spec.port}{spec.path} → {spec.status}"
    if spec.kind == "first-token":
        scheme = "https" if spec.https else "http"
        return f"first streamed token from POST {scheme}://{spec.host}:{spec.port}{spec.path}"
    if spec.kind == "log":
        return f"log line matching {spec.pattern!r}"
    if spec.kind == "exit":
        return f"exit with code {spec.exit_code}"
    return f"TCP connect to {spec.host}:{spec.port}"
