"""Readiness rules as checks the service's poll loop calls: each returns True once the
service is ready (a TCP connect, an HTTP status, a log line). A check is given the time
left before the rule's deadline, and waits no longer than that."""

from __future__ import annotations

import http.client
import re
import socket
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path

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


def http_check(spec: ReadySpec) -> Callable[[float], bool]:
    context = None
    if spec.https:
        # Readiness only asks "does it answer?"; certificate checks are the probe's job.
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE

    def check(left_s: float) -> bool:
        wait = max(min(_HTTP_ATTEMPT_S, left_s), _MIN_ATTEMPT_S)
        if context is not None:
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                spec.host, spec.port, timeout=wait, context=context
            )
        else:
            conn = http.client.HTTPConnection(spec.host, spec.port, timeout=wait)
        try:
            conn.request("GET", spec.path, headers={"Connection": "close"})
            response = conn.getresponse()
            response.read()
            return response.status == spec.status
        except (OSError, http.client.HTTPException):
            return False
        finally:
            conn.close()

    return check


class _LogTail:
    """Reads a log incrementally from ``offset``, chunk by chunk (a service flooding its
    output costs bounded memory); each window repeats the end of the one before, so a match
    that straddles two reads is found."""

    def __init__(self, path: Path, offset: int = 0) -> None:
        self._path = path
        self._offset = offset
        self._carry = b""

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


class LogCheck:
    """Looks for the pattern in what is new in the log since ``offset`` (where the log
    ended when this process was spawned: a restarted service appends to the log of the
    instance before it, whose ready line must not count)."""

    def __init__(self, path: Path, pattern: str, offset: int = 0) -> None:
        self._regex = re.compile(pattern.encode("utf-8"), re.MULTILINE)
        self._tail = _LogTail(path, offset)

    def __call__(self, _left_s: float = 0.0) -> bool:
        return any(self._regex.search(window) for window in self._tail.windows())


class LogMarks:
    """When each pattern's first line appeared in a service's log, for start-up phases read
    from the output of a server that reports none. Called from the readiness poll loop:
    each call reads what is new and stamps the patterns it finds with the time the read
    began (by then the line had been written), so a mark is late by at most one poll."""

    def __init__(self, path: Path, patterns: dict[str, str], offset: int = 0) -> None:
        self._patterns = {
            name: re.compile(p.encode("utf-8"), re.MULTILINE) for name, p in patterns.items()
        }
        self._tail = _LogTail(path, offset)
        self.seen_ns: dict[str, int] = {}

    def __call__(self, now_ns: int) -> None:
        if len(self.seen_ns) == len(self._patterns):
            return
        for window in self._tail.windows():
            for name, regex in self._patterns.items():
                if name not in self.seen_ns and regex.search(window):
                    self.seen_ns[name] = now_ns


def describe_rule(spec: ReadySpec) -> str:
    if spec.kind == "http":
        scheme = "https" if spec.https else "http"
        return f"GET {scheme}://{spec.host}:{spec.port}{spec.path} → {spec.status}"
    if spec.kind == "log":
        return f"log line matching {spec.pattern!r}"
    if spec.kind == "exit":
        return f"exit with code {spec.exit_code}"
    return f"TCP connect to {spec.host}:{spec.port}"
