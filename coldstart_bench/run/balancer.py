"""HAProxy in front of a trial's fleet: its configuration generated from the replicas, the
process started (before t0: in a real fleet the balancer is already there when the
replicas scale out) and stopped like a service, and its own log read back.

Each replica is a server with an active health check (HTTP on the readiness path, else
TCP) every ``health_check_ms``, marked up after one good check and down after two bad;
HAProxy names the server that answered in an ``X-Coldstart-Replica`` header (what the
client records) and in its log (the cross-check)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from coldstart_bench.plan.render import LOCAL_HOST
from coldstart_bench.plan.specs import FleetSpec, ReadySpec, ServiceSpec
from coldstart_bench.probe.client import REPLICA_HEADER

LOG_MARK = "coldstart-request"  # the start of each request's line in HAProxy's log
START_TIMEOUT_S = 10.0


class BalancerMissing(Exception):
    """No haproxy program here."""


def haproxy_config(
    fleet: FleetSpec, replicas: Sequence[ServiceSpec], hosts: Mapping[str, str] | None = None
) -> str:
    """HAProxy's configuration for the trial: the replicas on this machine, or each on the
    host ``hosts`` names (a Ray node's)."""
    every = f"{fleet.health_check_ms}ms"
    check = (
        f"  option httpchk GET {fleet.check_path}\n  http-check expect status 200\n"
        if fleet.check_path
        else ""
    )
    where = hosts or {}
    servers = "".join(
        f"  server {s.name} {where.get(s.name, LOCAL_HOST)}:{s.port} check\n" for s in replicas
    )
    return (
        "global\n"
        "  log stdout format raw daemon\n"
        "  maxconn 1024\n"
        f"  stats socket abns@{stats_socket(fleet)} level user\n"
        "defaults\n"
        "  mode http\n"
        "  log global\n"
        "  timeout connect 2s\n"
        "  timeout client 600s\n"
        "  timeout server 600s\n"
        "  timeout check 5s\n"
        "  option dontlognull\n"
        "  retries 3\n"
        "  option redispatch\n"
        "frontend fleet\n"
        f"  bind {LOCAL_HOST}:{fleet.balancer_port}\n"
        f'  log-format "{LOG_MARK} %s %ST %Tw %Tc %Tr %Ta"\n'
        f"  http-response set-header {REPLICA_HEADER} %s\n"
        "  default_backend replicas\n"
        "backend replicas\n"
        "  balance leastconn\n"
        f"{check}"
        f"  default-server inter {every} fastinter {every} downinter {every} rise 1 fall 2\n"
        f"{servers}"
    )


def stats_socket(fleet: FleetSpec) -> str:
    """The name of HAProxy's stats socket (abstract: no path to outlive the trial)."""
    return f"coldstart-haproxy-{os.getpid()}-{fleet.balancer_port}"


def servers_up(fleet: FleetSpec, timeout_s: float = 1.0) -> list[str] | None:
    """The replicas HAProxy has up now (its ``show stat``), or None if it did not answer."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(timeout_s)
            # HAProxy's abstract names fill the whole sun_path (108 bytes), NUL-padded
            conn.connect(("\0" + stats_socket(fleet)).ljust(108, "\0"))
            conn.sendall(b"show stat\n")
            chunks = []
            while chunk := conn.recv(65536):
                chunks.append(chunk)
    except OSError:
        return None
    rows = b"".join(chunks).decode("utf-8", errors="replace").splitlines()
    if not rows or not rows[0].startswith("# "):
        return None
    head = rows[0][2:].split(",")
    name, status = head.index("svname"), head.index("status")
    up = []
    for row in rows[1:]:
        cells = row.split(",")
        server = len(cells) > status and cells[name] not in ("FRONTEND", "BACKEND")
        if server and cells[status].startswith("UP"):
            up.append(cells[name])
    return up


def wait_until_up(fleet: FleetSpec, deadline_ns: int, every_s: float = 0.005) -> bool:
    """Poll HAProxy until it has a replica up (True), or the deadline passes (False)."""
    while time.perf_counter_ns() < deadline_ns:
        if servers_up(fleet):
            return True
        time.sleep(every_s)
    return False


def haproxy_spec(fleet: FleetSpec, trial_dir: Path) -> ServiceSpec:
    """HAProxy as a process of the trial (in the foreground, its log on its output)."""
    program = shutil.which("haproxy") or next(
        (p for p in ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy") if os.path.exists(p)), None
    )
    if program is None:
        raise BalancerMissing(
            "balancer = 'haproxy' needs HAProxy (Debian: apt-get install haproxy)"
        )
    assert fleet.balancer_port is not None
    return ServiceSpec(
        name="haproxy",
        argv=(program, "-db", "-f", str(fleet.config_path)),
        env=dict(os.environ),
        cwd=None,
        port=fleet.balancer_port,
        ready=ReadySpec("tcp", LOCAL_HOST, fleet.balancer_port, START_TIMEOUT_S, 20.0),
        stop_signal=int(signal.SIGTERM),
        stop_grace_s=5.0,
        log_path=fleet.log_path,
        phases_path=trial_dir / "phases-haproxy.jsonl",
    )


def logged_answers(log_path: Path) -> list[tuple[str, int | None]]:
    """(server, status) of each request in HAProxy's log, in the order it logged them."""
    try:
        text = log_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    answers = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] == LOG_MARK:
            answers.append((parts[1], int(parts[2]) if parts[2].lstrip("-").isdigit() else None))
    return answers
