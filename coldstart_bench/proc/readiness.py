"""Readiness rules as checks the service's poll loop calls: each returns True once the
service is ready (a TCP connect, an HTTP status, a log line)."""

from __future__ import annotations

import http.client
import re
import socket
import ssl
from collections.abc import Callable
from pathlib import Path

from coldstart_bench.plan.specs import ReadySpec
from coldstart_bench.proc.logs import LOG_CHUNK_BYTES

# A match may straddle two reads: this much of the previous read is searched again.
_CARRY_BYTES = 4096


def tcp_check(spec: ReadySpec) -> Callable[[], bool]:
    address = (spec.host, spec.port)

    def check() -> bool:
        try:
            with socket.create_connection(address, timeout=1.0):
                return True
        except OSError:
            return False

    return check


def http_check(spec: ReadySpec) -> Callable[[], bool]:
    context = None
    if spec.https:
        # Readiness only asks "does it answer?"; certificate checks are the probe's job.
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE

    def check() -> bool:
        if context is not None:
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                spec.host, spec.port, timeout=2.0, context=context
            )
        else:
            conn = http.client.HTTPConnection(spec.host, spec.port, timeout=2.0)
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


class LogCheck:
    """Reads the log file incrementally and looks for the pattern in what is new."""

    def __init__(self, path: Path, pattern: str) -> None:
        self._path = path
        self._regex = re.compile(pattern.encode("utf-8"), re.MULTILINE)
        self._offset = 0
        self._carry = b""

    def __call__(self) -> bool:
        # Chunk by chunk, so a service flooding its output costs bounded memory.
        try:
            with open(self._path, "rb") as f:
                f.seek(self._offset)
                while data := f.read(LOG_CHUNK_BYTES):
                    self._offset += len(data)
                    window = self._carry + data
                    if self._regex.search(window):
                        return True
                    self._carry = window[-_CARRY_BYTES:]
        except OSError:
            return False
        return False


def describe_rule(spec: ReadySpec) -> str:
    if spec.kind == "http":
        scheme = "https" if spec.https else "http"
        return f"GET {scheme}://{spec.host}:{spec.port}{spec.path} → {spec.status}"
    if spec.kind == "log":
        return f"log line matching {spec.pattern!r}"
    if spec.kind == "exit":
        return f"exit with code {spec.exit_code}"
    return f"TCP connect to {spec.host}:{spec.port}"
