"""Fully rendered instructions for one trial: what to start and what to send.

The plan renders a scenario (templates filled, ports chosen) into these plain records;
``proc`` and ``probe`` act on them and know nothing about scenario files.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from coldstart_bench.scenario.settings import LoadSettings

PHASES_ENV = "COLDSTART_PHASES"  # where a target appends its phase records


@dataclass(frozen=True)
class OtlpTarget:
    """Where a trial's services send their spans, and the trace they belong to."""

    endpoint: str  # http://127.0.0.1:PORT
    trace_id: str  # 32 hex digits
    parent_span_id: str  # 16 hex digits: the trial's own span, the parent of theirs

    @property
    def traces_url(self) -> str:
        return self.endpoint + "/v1/traces"

    @property
    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.parent_span_id}-01"

    def environment(self, service: str) -> dict[str, str]:
        """The standard OpenTelemetry variables that point a service's exporter here."""
        return {
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": self.traces_url,
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf",
            "OTEL_SERVICE_NAME": service,
            "OTEL_BSP_SCHEDULE_DELAY": "200",  # ms: spans leave soon, not after 5 s
            "TRACEPARENT": self.traceparent,
        }


@dataclass(frozen=True)
class TlsFiles:
    """A server certificate, its key and the CA that signed it (PEM files)."""

    ca: Path
    cert: Path
    key: Path


@dataclass(frozen=True)
class ReadySpec:
    kind: Literal["tcp", "http", "first-token", "log", "exit"]
    host: str
    port: int
    timeout_s: float
    interval_ms: float
    path: str = "/health"
    status: int = 200
    https: bool = False
    pattern: str | None = None
    exit_code: int = 0
    body: bytes = b""  # first-token: the JSON posted (stream on)


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    argv: tuple[str, ...]
    env: dict[str, str]
    cwd: str | None
    port: int
    ready: ReadySpec
    stop_signal: int
    stop_grace_s: float
    log_path: Path
    phases_path: Path
    # (phase, regex): each phase ends when its line first appears in the log
    log_phases: tuple[tuple[str, str], ...] = ()
    spans: bool = False  # its phases come from the OTLP spans it exports

    def restarted(self, restarts: int) -> ServiceSpec:
        """The same service started again by chaos (restart number ``restarts``): its own
        phases file, so its phases never mix with those of the instance before it."""
        path = self.phases_path.with_name(
            f"{self.phases_path.stem}.restart{restarts}{self.phases_path.suffix}"
        )
        return dataclasses.replace(self, phases_path=path, env={**self.env, PHASES_ENV: str(path)})


@dataclass(frozen=True)
class RequestSpec:
    index: int
    kind: Literal["openai-chat", "openai-completions", "http"]
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None
    stream: bool
    expect_status: int
    timeout_s: float


@dataclass(frozen=True)
class ProbeSettings:
    pooling: bool = True
    pool_size: int | None = None  # with pooling: at most this many connections (None: no cap)
    http2: bool = False
    tls: bool = False
    ca_file: str | None = None
    insecure: bool = False
    server_name: str | None = None  # SNI and certificate hostname when it differs from the URL host
    pause_ms: float = 0.0
    max_body_bytes: int = 64 * 1024 * 1024


@dataclass(frozen=True)
class ChaosSpec:
    service: str
    at_request: int
    action: Literal["restart", "kill"]
    recovery_timeout_s: float
    retry_interval_ms: float


@dataclass(frozen=True)
class LoadSpec:
    """The traffic of a load trial (``[load]``); request ``i`` is a copy of
    ``templates[i % len(templates)]`` (the prompts, cycled)."""

    templates: tuple[RequestSpec, ...]
    settings: LoadSettings  # also stored in the trial's record, for the analysis


@dataclass(frozen=True)
class FleetSpec:
    """A trial's fleet: its replicas (the services of the setup, in order) and where the
    requests go."""

    replicas: tuple[str, ...]  # the replicas' names, replica 1 first
    balancer: Literal["haproxy", "first-ready", "round-robin", "least-outstanding"]
    balancer_port: int | None  # haproxy's front end
    health_check_ms: int
    stagger_ms: float  # replica i spawned (i − 1) × this after t0
    check_path: str | None  # HAProxy's HTTP check (the readiness path), else a TCP check
    config_path: Path  # haproxy.cfg, written for the trial
    log_path: Path  # HAProxy's own log of each request
    scale_at_queue: int | None = None  # replicas 2..N started on the outstanding requests
    placement: Literal["local", "ray"] = "local"  # ray: across a Ray cluster's nodes
    ray_address: str | None = None


@dataclass(frozen=True)
class TrialSetup:
    """Everything needed to run one trial, rendered from the scenario."""

    services: tuple[ServiceSpec, ...]
    requests: tuple[RequestSpec, ...]
    probe: ProbeSettings
    prepare: tuple[tuple[str, ...], ...] = ()
    prepare_timeout_s: float = 600.0
    page_cache_mode: Literal["cold", "warm"] | None = None
    page_cache_files: tuple[str, ...] = ()
    compile_cache_mode: Literal["cold", "warm"] | None = None
    compile_cache_dir: str | None = None
    chaos: ChaosSpec | None = None
    timeout_s: float | None = None  # the whole trial, from t0 to the last response
    load: LoadSpec | None = None  # traffic instead of the requests one after another
    fleet: FleetSpec | None = None  # the services are replicas starting at once
