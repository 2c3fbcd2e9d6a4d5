"""Hostile targets: each case is a toy-server misbehaviour, the scenario around it, and
what the harness must report. Shared by tests/test_hostile.py and
benchmarks/hostile_table.py (which prints the table of what happened)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from helpers import toy_command


@dataclass(frozen=True)
class Case:
    name: str
    flags: tuple[str, ...]
    status: str  # the trial status the harness must report
    reason: str  # a piece of the reason it must give ("" when the trial is ok)
    requests: str = 'kind = "openai-chat"\ncount = 1\ntokens_hint = 0'
    ready: str = '{ kind = "tcp", timeout_s = 5 }'
    extra: str = ""
    grace_s: float = 0.5

    def scenario(self, pidfile: Path, port: int | None = None) -> str:
        command = toy_command(*self.flags, "--pidfile", str(pidfile), "--tokens", "6")
        port_line = f"port = {port}" if port else ""
        requests = self.requests.replace("\ntokens_hint = 0", "")
        return f"""
repetitions = 1
[[services]]
command = {command}
ready = {self.ready}
stop_grace_s = {self.grace_s}
{port_line}
{self.extra}
[requests]
{requests}
"""


CASES: tuple[Case, ...] = (
    Case(
        "never becomes ready",
        ("--never-listen",),
        "timeout",
        "was not ready within 1 s",
        ready='{ kind = "tcp", timeout_s = 1 }',
    ),
    Case("crashes at start", ("--crash-before-ready",), "failed", "planted crash before ready"),
    Case("crashes mid-stream", ("--crash-after-tokens", "2"), "failed", "request 1"),
    Case(
        "hangs mid-stream",
        ("--hang-after-tokens", "2"),
        "timeout",
        "no complete answer within 1 s",
        requests='kind = "openai-chat"\ncount = 1\ntimeout_s = 1',
    ),
    Case("ignores SIGTERM", ("--ignore-sigterm",), "ok", ""),
    Case(
        "forks children and a setsid escapee",
        ("--fork-children", "2", "--escape-session"),
        "ok",
        "",
    ),
    Case("floods 100 MB to stdout and stderr", ("--flood-mb", "100"), "ok", ""),
    Case(
        "malformed SSE (a data line that is not JSON)",
        ("--malformed-sse",),
        "failed",
        "malformed response",
    ),
    Case("HTTP 500", ("--status", "500"), "failed", "HTTP 500"),
    Case(
        "answers with a 50 MB body",
        ("--body-mb", "50"),
        "ok",
        "",
        requests='kind = "http"\npath = "/"\ncount = 1',
    ),
    Case("binds a port already taken", (), "failed", "already in use"),
    Case(
        "streams forever (never [DONE])",
        ("--endless-stream", "--itl-ms", "50"),
        "timeout",
        "no complete answer within 1 s",
        requests='kind = "openai-completions"\ncount = 1\ntimeout_s = 1',
    ),
    Case(
        "double-forks a sleeper on each request",
        ("--escape-on-request",),
        "ok",
        "",
    ),
    Case(
        "leaves a sleeper behind when told to stop",
        ("--escape-on-sigterm",),
        "ok",
        "",
    ),
    Case(
        "daemonizes (its first process exits 0)",
        ("--daemonize", "--startup-delay-ms", "300"),
        "failed",
        "looks like a daemon",
    ),
    Case(
        "stops itself (SIGSTOP) on a request",
        ("--stop-self-on-request",),
        "timeout",
        "no complete answer within 1 s",
        requests='kind = "openai-chat"\ncount = 1\ntimeout_s = 1',
        grace_s=10.0,
    ),
)


@contextmanager
def taken_port() -> Iterator[int]:
    """A port something else already listens on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]
