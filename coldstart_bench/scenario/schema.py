# Longer than 400 lines: one pydantic model per table of a scenario file, each key documented
# where it is defined (the scenario reference is generated from them), in the order a
# reader meets them in the README's reference; splitting them would scatter that reference.
"""The scenario file's schema: one pydantic model per table, strict and frozen.

A scenario is one experiment: the services to start (in order), the requests to send
once the last one is ready, a matrix of factors, repetitions and hooks. Each model checks
its own table; :mod:`~coldstart_bench.scenario.checks` then checks references across
tables (loading a file runs both).
"""

from __future__ import annotations

import re
import shlex
import signal
import typing
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from coldstart_bench.engines import PRESETS
from coldstart_bench.scenario.messages import PathError, did_you_mean
from coldstart_bench.scenario.patterns import PATTERNS
from coldstart_bench.scenario.settings import LoadSettings
from coldstart_bench.scenario.vocabulary import (
    MAX_REPETITIONS,
    SERVICE_NAME,
    Scalar,
    as_list,
    check_matrix,
    match_levels,
    normalise_level,
)


class _Model(BaseModel):
    # Each field's docstring is its description: the scenario reference is generated from
    # them (docs/hooks/reference.py).
    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, use_attribute_docstrings=True
    )


def _argv(value: Any) -> Any:
    """Commands may be written as an argv list or as one string split like a shell would."""
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as exc:
            raise ValueError(f"cannot split the command string: {exc}") from None
    return value


def _str_values(value: Any) -> Any:
    """TOML lets users write ``OMP_NUM_THREADS = 1``; environment values are strings."""
    if isinstance(value, Mapping):
        return {
            k: ("true" if v is True else "false" if v is False else str(v))
            if isinstance(v, int | float)
            else v
            for k, v in value.items()
        }
    return value


class ReadyRule(_Model):
    """When a service counts as ready. One rule per service."""

    kind: Literal["tcp", "http", "first-token", "log", "exit"] = "tcp"
    """How readiness is detected: `tcp` (a TCP connect succeeds), `http` (GET `path` answers
    `status`), `first-token` (a streamed POST of `body` to `path` returns its first token: for
    servers whose health endpoint says ready before they can answer), `log` (a line of the
    service's output matches `pattern`), `exit` (a one-shot command exits with `exit_code`;
    its time to exit is the measurement, no requests)."""
    path: str | None = None
    """`kind = "http"`: the path polled (default `/health`); `kind = "first-token"`: the
    streaming endpoint (default `/v1/completions`)."""
    status: int = Field(200, ge=100, le=599)
    """`kind = "http"`: the status code that means ready."""
    scheme: Literal["auto", "http", "https"] = "auto"
    """`kind = "http"` or `"first-token"`: `auto` speaks https when TLS is on for the measured
    service, else http."""
    body: dict[str, Any] = {"prompt": "Hello", "max_tokens": 1}
    """`kind = "first-token"`: the JSON request (templated; `stream` is set to true), e.g.
    `{ model = "smollm2", prompt = "Hello", max_tokens = 1 }`. It is the server's first request:
    the `[requests]` after it are no longer the very first."""
    pattern: str | None = None
    """`kind = "log"`: a regular expression; the first line of the service's output (stdout and
    stderr) that matches it marks ready."""
    exit_code: int = 0
    """`kind = "exit"`: the exit code that means success."""
    timeout_s: float = Field(60.0, gt=0, le=86_400)
    """Not ready this long after its spawn: the trial ends as `timeout`."""
    interval_ms: float = Field(1.0, gt=0, le=10_000)
    """How often readiness is checked (and `log_phases` read): a readiness time is at most this
    late."""

    _KEYS_OF_KIND: typing.ClassVar[dict[str, set[str]]] = {
        "http": {"path", "status", "scheme"},
        "first-token": {"path", "scheme", "body"},
        "log": {"pattern"},
        "exit": {"exit_code"},
        "tcp": set(),
    }
    _DEFAULT_PATH: typing.ClassVar[dict[str, str]] = {
        "http": "/health",
        "first-token": "/v1/completions",
    }

    @property
    def url_path(self) -> str:
        """The path an `http` or `first-token` rule requests."""
        return self.path if self.path is not None else self._DEFAULT_PATH.get(self.kind, "/")

    @model_validator(mode="after")
    def _keys_fit_kind(self) -> ReadyRule:
        for key in sorted(self.model_fields_set):
            kinds = [k for k, keys in self._KEYS_OF_KIND.items() if key in keys]
            if kinds and self.kind not in kinds:
                where = " or ".join(repr(k) for k in kinds)
                raise PathError(key, f"applies only to kind = {where}, not {self.kind!r}")
        if self.kind == "log":
            if not self.pattern:
                raise PathError("pattern", "kind = 'log' needs a regular expression")
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise PathError("pattern", f"not a valid regular expression: {exc}") from None
        if not self.url_path.startswith("/"):
            raise PathError("path", f"must start with '/', got {self.url_path!r}")
        return self


class LogPhase(_Model):
    """A start-up phase read from a server's own output, for servers that do not report
    phases: it ends when a line matching ``until`` first appears in the log (seen at the
    readiness poll, so to within its interval) and begins where the phase before it ended
    (the first, at spawn)."""

    name: str
    """The phase's name on the waterfall and in the phase tables."""
    until: str
    """A regular expression: the phase ends when a line matching it first appears in the service's
    output. A named group `seconds` or `ms` (e.g. `took (?P<seconds>[\\d.]+) s`) also records the
    duration the server printed for it, beside ours."""

    @field_validator("name")
    @classmethod
    def _valid_phase_name(cls, value: str) -> str:
        if not SERVICE_NAME.match(value):
            raise ValueError(f"must be letters, digits, '_', '-' or '.'; got {value!r}")
        return value

    @field_validator("until")
    @classmethod
    def _valid_regex(cls, value: str) -> str:
        try:
            groups = re.compile(value).groupindex
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        if {"seconds", "ms"} <= set(groups):
            raise ValueError("give the server's figure as one group, 'seconds' or 'ms'")
        return value


class ConditionalArgs(_Model):
    """Extra arguments and environment for the variants that match, e.g. TLS flags."""

    match: dict[str, Scalar | list[Scalar]]
    """Which variants: factor → level, or a list of levels (e.g. `{ tls = "on" }`)."""
    args: list[str] = []
    """Arguments appended to the service's command in those variants (templated)."""
    env: dict[str, str] = {}
    """Environment set for the service in those variants (templated)."""

    _env_strings = field_validator("env", mode="before")(_str_values)

    @property
    def levels(self) -> dict[str, tuple[str, ...]]:
        """The match as factor → levels in their normalised text form."""
        return match_levels(self.match)


class Requirement(_Model):
    """A condition for running the variants that ``match`` (all variants without a match):
    a program on PATH, or a command that must exit 0. Where it fails, those trials are
    recorded as ``skipped`` with ``reason``, not run."""

    match: dict[str, Scalar | list[Scalar]] = {}
    """Which variants need it: factor → level(s); empty: every variant."""
    program: str | None = None
    """A program that must be on PATH (give this or `command`)."""
    command: list[str] | None = None
    """A command that must exit 0 (give this or `program`); an argv list, or one string split like a
    shell would."""
    reason: str | None = None
    """Recorded on the skipped trials (default: the check's last output line)."""

    _command_argv = field_validator("command", mode="before")(_argv)

    @model_validator(mode="after")
    def _one_check(self) -> Requirement:
        if (self.program is None) == (self.command is None):
            raise PathError("command", "give either 'program' or 'command' (one of them)")
        if self.command is not None and not self.command:
            raise PathError("command", "an empty command")
        return self

    @property
    def levels(self) -> dict[str, tuple[str, ...]]:
        """The match as factor → levels in their normalised text form."""
        return match_levels(self.match)


class Service(_Model):
    name: str = "server"
    """The service's name in records and reports, `{ports.NAME}` and `[requests] service`."""
    command: Annotated[list[str], Field(min_length=1)]
    """The program and its arguments (templated): an argv list, or one string split like a shell
    would (no shell runs it)."""
    env: dict[str, str] = {}
    """Environment variables for it (templated); values that look secret are hidden in run.json."""
    inherit_env: bool = True
    """Start from coldstart's own environment (else only `env`)."""
    cwd: str | None = None
    """Its working directory (default: where coldstart runs)."""
    port: int | None = Field(None, ge=1, le=65_535)
    """A fixed port (default: a free port per trial, as `{port}`)."""
    ready: ReadyRule = ReadyRule()
    """When it counts as ready (an inline table: `ready = { kind = "http", path = "/health" }`)."""
    stop_signal: str = "SIGTERM"
    """The signal that asks it to stop at teardown."""
    stop_grace_s: float = Field(10.0, ge=0, le=3_600)
    """How long it may take to stop before SIGKILL."""
    when: list[ConditionalArgs] = []
    """Extra arguments and environment for the variants that match (`[[services.when]]`)."""
    only: dict[str, Scalar | list[Scalar]] = {}
    """Start it only in the variants that match: factor → level(s) (e.g. Redis only where `cache =
    "redis"`)."""
    log_phases: list[LogPhase] = []
    """Start-up phases read from its output, in order: each `{ name, until }` ends when a line
    matching `until` first appears; the first starts at spawn. Or the name of a preset written
    for a server: `"vllm"`, `"llama.cpp"` (see the guide to real servers)."""

    spans: Literal["off", "otlp"] = "off"
    """`otlp`: take phases from the OpenTelemetry spans it exports. The trial runs an OTLP/HTTP
    receiver and gives the service `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `..._PROTOCOL =
    http/protobuf`, `OTEL_SERVICE_NAME` and a `TRACEPARENT` in the trial's trace (its `env`
    wins over these); also as `{otlp_endpoint}`, `{otlp_traces_endpoint}`, `{traceparent}`."""

    _command_argv = field_validator("command", mode="before")(_argv)
    _env_strings = field_validator("env", mode="before")(_str_values)

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not SERVICE_NAME.match(value):
            raise ValueError(
                f"must be letters, digits, '_', '-' or '.', starting with a letter or digit; "
                f"got {value!r}"
            )
        return value

    @field_validator("log_phases", mode="before")
    @classmethod
    def _preset(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        preset = PRESETS.get(value)
        if preset is None:
            names = ", ".join(map(repr, PRESETS))
            raise ValueError(
                f"no preset named {value!r} (presets: {names})" + did_you_mean(value, PRESETS)
            )
        return [{"name": p.name, "until": p.until} for p in preset.phases]

    @field_validator("log_phases")
    @classmethod
    def _distinct_phases(cls, value: list[LogPhase]) -> list[LogPhase]:
        names = [p.name for p in value]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"phase names must differ; {', '.join(map(repr, twice))} repeats")
        return value

    @field_validator("command")
    @classmethod
    def _non_empty_program(cls, value: list[str]) -> list[str]:
        if not value or not value[0].strip():
            raise ValueError("needs a program to run (the first element is empty)")
        return value

    @field_validator("stop_signal")
    @classmethod
    def _known_signal(cls, value: str) -> str:
        name = value.upper()
        if not name.startswith("SIG"):
            name = "SIG" + name
        if not hasattr(signal.Signals, name) or name in {"SIGKILL", "SIGSTOP"}:
            allowed = ("SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGUSR1")
            extra = did_you_mean(name, allowed)
            raise ValueError(
                f"expected a catchable signal name like 'SIGTERM', got {value!r}{extra}"
            )
        return name

    @property
    def signal_number(self) -> int:
        return int(getattr(signal.Signals, self.stop_signal))


class Requests(_Model):
    """The requests sent, one after another, once every service is ready."""

    kind: Literal["openai-chat", "openai-completions", "http"] = "openai-chat"
    """`openai-chat` (POST /v1/chat/completions), `openai-completions` (POST /v1/completions) or
    `http` (any request)."""
    count: int = Field(1, ge=0, le=100_000)
    """Requests per trial, sent one after another once every service is ready (0: none)."""
    stream: bool = True
    """Ask for a streamed (SSE) answer; TTFT is then the first content token."""
    prompt: str = "Write one sentence about a cold start."
    """The prompt of every request (or give `prompts`)."""
    prompts: list[str] | None = Field(None, min_length=1)
    """Prompts, cycled over the requests (request 3 of two prompts repeats the first)."""
    system: str | None = None
    """`openai-chat`: a system message before each prompt."""
    model: str = "default"
    """The `model` field of the request body."""
    max_tokens: int = Field(16, ge=1, le=1_000_000)
    """The `max_tokens` field of the request body."""
    temperature: float | None = 0.0
    """The `temperature` field (0: greedy; unset with no value)."""
    extra_body: dict[str, Any] = {}
    """More fields merged into the request body (templated), e.g. `{ ignore_eos = true }`."""
    method: str | None = None
    """`kind = "http"`: the method (default GET)."""
    path: str | None = None
    """The request path (default: the kind's endpoint; `/` for `http`)."""
    body: str | None = None
    """`kind = "http"`: the request body (templated)."""
    headers: dict[str, str] = {}
    """Request headers (templated); secret-looking ones are hidden in run.json."""
    expect_status: int = Field(200, ge=100, le=599)
    """The status code a successful answer has."""
    timeout_s: float = Field(60.0, gt=0, le=86_400)
    """Bounds each whole request, first byte sent → end of the answer (a stream that never ends is a
    timeout)."""
    service: str | None = None
    """Which service the requests go to (default: the last one)."""
    host: str = "127.0.0.1"
    """The address requests are sent to."""
    pause_ms: float = Field(0.0, ge=0, le=600_000)
    """Silence between requests (the `idle_s` factor overrides it)."""

    _header_strings = field_validator("headers", mode="before")(_str_values)

    @model_validator(mode="after")
    def _consistent(self) -> Requests:
        if self.prompts is not None and "prompt" in self.model_fields_set:
            raise PathError("prompts", "give either 'prompt' or 'prompts', not both")
        if self.path is not None and not self.path.startswith("/"):
            raise PathError("path", f"must start with '/', got {self.path!r}")
        if self.kind != "http":
            for key in ("method", "body"):
                if key in self.model_fields_set:
                    raise PathError(key, f"applies only to kind = 'http', not {self.kind!r}")
        return self

    @property
    def http_method(self) -> str:
        if self.kind == "http":
            return (self.method or "GET").upper()
        return "POST"

    @property
    def default_path(self) -> str:
        return {
            "openai-chat": "/v1/chat/completions",
            "openai-completions": "/v1/completions",
            "http": "/",
        }[self.kind]

    def prompt_for(self, index: int) -> str:
        if self.prompts:
            return self.prompts[index % len(self.prompts)]
        return self.prompt


class TlsConfig(_Model):
    """Certificates for TLS variants. Without files, the harness makes a throw-away CA."""

    enabled: bool = False
    """TLS for every variant (or make `tls` a matrix factor)."""
    ca_file: str | None = None
    """The CA that signed `cert_file` (default: a throw-away CA made for the run)."""
    cert_file: str | None = None
    """The server certificate (default: one made for the run, as `{tls_cert}`)."""
    key_file: str | None = None
    """Its private key (as `{tls_key}`)."""
    insecure: bool = False
    """Skip certificate verification."""
    server_name: str | None = None
    """SNI and the certificate's hostname, where it differs from the URL's host."""

    @model_validator(mode="after")
    def _pairs(self) -> TlsConfig:
        if (self.cert_file is None) != (self.key_file is None):
            missing = "key_file" if self.key_file is None else "cert_file"
            raise PathError(missing, "cert_file and key_file go together; give both or neither")
        if self.cert_file is not None and self.ca_file is None and not self.insecure:
            raise PathError(
                "ca_file",
                "with your own cert_file, give the ca_file that signed it "
                "(or set insecure = true to skip verification)",
            )
        return self


def parse_fraction(value: Any) -> float:
    """``"5%"``, ``5%``-style strings or a plain fraction (``0.05``) → 0.05."""
    if isinstance(value, str):
        text = value.strip()
        try:
            number = float(text.rstrip("%").strip())
        except ValueError:
            raise ValueError(
                f"expected a percentage like '5%' or a fraction like 0.05, got {value!r}"
            ) from None
        return number / 100 if text.endswith("%") else number
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise ValueError(f"expected a percentage like '5%' or a fraction like 0.05, got {value!r}")


class GateConfig(_Model):
    """Defaults for ``coldstart gate`` on runs of this scenario (the command line wins)."""

    metrics: list[str] | None = None
    """The metrics `coldstart gate` and `compare` judge (default: `cold_ttft_ms`); a start-up
    phase as `phase:NAME`."""
    max_regression: float | None = None
    """The largest slowdown tolerated, e.g. `"5%"` or `0.05` (default 5 %)."""
    confidence: float | None = Field(None, gt=0.5, lt=1.0)
    """Confidence of the tests and intervals (default 0.95)."""
    max_detectable: float | None = None
    """A pass needs the comparison to have been able to find a slowdown this large (80 %
    power), e.g. `"15%"` (default: 2 × `max_regression`); else it is inconclusive."""
    budgets: dict[str, float] = {}
    """Absolute limits on a metric's median, in ms: `{ cold_ttft_ms = 1500 }`."""
    factor: str | None = None
    """A/B inside one run: the factor whose levels are compared."""
    baseline_level: str | None = None
    """With `factor`: the level the others are compared with."""

    @field_validator("max_regression", "max_detectable", mode="before")
    @classmethod
    def _fraction(cls, value: Any) -> Any:
        if value is None:
            return value
        fraction = parse_fraction(value)
        if not 0 <= fraction < 10:
            raise ValueError(f"must be between 0% and 1000%, got {value!r}")
        return fraction

    @model_validator(mode="after")
    def _levels(self) -> GateConfig:
        if (self.factor is None) != (self.baseline_level is None):
            raise PathError("baseline_level", "factor and baseline_level go together")
        return self


class SloConfig(_Model):
    """What counts as a good answer under load (goodput): every limit set must hold."""

    ttft_ms: float | None = Field(None, gt=0)
    """From arrival: the wait plus the time to the first token."""
    total_ms: float | None = Field(None, gt=0)
    """From arrival to the end of the answer."""


# The most requests one load phase may send, by count or by rate × duration.
MAX_ARRIVALS = 1_000_000


# What a pattern's required key is, in words.
_NEEDED = {"rate": "a rate (requests/s)", "requests": "requests (how many at once)"}
# The keys that belong to some patterns only.
_PATTERN_KEYS = frozenset().union(*(p.keys for p in PATTERNS.values()))


class LoadConfig(_Model):
    """Traffic on the replica from the moment it starts (or from ready), then the same
    traffic again once it is warm. The requests themselves are ``[requests]``'."""

    pattern: str = "poisson"
    """How the arrivals come: `constant` or `poisson` arrivals at `rate`, a `burst` of
    `requests` at once, or `concurrent` clients in a closed loop (each pattern is one module
    of `coldstart_bench/scenario/patterns/`)."""
    rate: float | None = Field(None, gt=0, le=100_000)
    """Requests per second (`constant`, `poisson`)."""
    concurrency: int = Field(1, ge=1, le=10_000)
    """`concurrent`: requests in flight."""
    requests: int | None = Field(None, ge=1, le=MAX_ARRIVALS)
    """Requests per phase (a `burst`: all at once); or give `duration_s`."""
    duration_s: float | None = Field(None, gt=0, le=86_400)
    """The length of each phase, instead of `requests`."""
    until_after_ready_s: float | None = Field(None, gt=0, le=3_600)
    """`constant` / `poisson`: the cold phase's arrivals go on until this long after every
    service is ready, however slow the start — so the cold phase always reaches the steady
    state — and the warm phase then sends as many; `requests` or `duration_s`, if given,
    still bound it."""
    start: Literal["spawn", "ready"] = "spawn"
    """When the arrivals begin: at spawn (t0), or once every service is ready."""
    before_ready: Literal["hold", "retry"] = "hold"
    """Arrivals before ready: `hold` them until ready (as a gateway would), or send and `retry` (as
    clients do)."""
    retry_interval_ms: float = Field(50.0, gt=0, le=60_000)
    """`retry`: the pause between attempts while nobody listens or a 502/503/504 answers."""
    warm_after_s: float | None = Field(None, ge=0, le=86_400)
    """Then the same load again this long after the cold phase, on the warm replica (unset: no warm
    phase)."""
    slo: SloConfig = SloConfig()
    """What counts as a good answer for goodput (every limit set must hold)."""
    steady_margin: float = Field(0.2, ge=0, le=10)
    """Steady state: every rolling window's p95 within (1 + margin) × the warm phase's p95."""
    steady_window: int = Field(10, ge=2, le=10_000)
    """Requests in the rolling window of the steady-state test."""
    goodput_window_s: float = Field(10.0, gt=0, le=86_400)
    """Goodput counts the answers meeting the SLO among the requests arriving in the phase's first
    seconds."""

    @field_validator("pattern")
    @classmethod
    def _known_pattern(cls, value: str) -> str:
        if value not in PATTERNS:
            raise ValueError(
                f"unknown pattern {value!r}{did_you_mean(value, PATTERNS)}; choose from "
                + ", ".join(sorted(PATTERNS))
            )
        return value

    @model_validator(mode="after")
    def _one_size(self) -> LoadConfig:
        described = PATTERNS[self.pattern]
        for key in described.needs:
            if getattr(self, key) is None:
                raise PathError(key, f"pattern = {self.pattern!r} needs {_NEEDED[key]}")
        problem = described.check(self)
        if problem is not None:
            raise PathError(*problem)
        for key in sorted(self.model_fields_set & _PATTERN_KEYS - described.keys):
            owners = " or ".join(repr(p.name) for p in PATTERNS.values() if key in p.keys)
            raise PathError(key, f"applies only to pattern = {owners}")
        if (
            self.rate is not None
            and self.until_after_ready_s is not None
            and self.requests is None
            and self.duration_s is None
        ):
            after_ready = self.rate * self.until_after_ready_s
            if after_ready > MAX_ARRIVALS:
                raise PathError(
                    "until_after_ready_s",
                    f"rate × until_after_ready_s is {after_ready:,.0f} arrivals after ready "
                    f"alone (and more while the replica starts), over the {MAX_ARRIVALS:,} a "
                    "phase may send: lower the rate, or bound it with requests",
                )
        if self.rate is not None and self.duration_s is not None:
            expected = self.rate * self.duration_s
            if expected > MAX_ARRIVALS:
                raise PathError(
                    "duration_s",
                    f"rate × duration_s is {expected:,.0f} arrivals a phase, more than "
                    f"{MAX_ARRIVALS:,} (each is a request and a record): lower the rate or "
                    "the duration",
                )
        return self

    def settings(
        self, before_ready: Literal["hold", "retry"] | None = None, seed: int = 0
    ) -> LoadSettings:
        """This table as one trial runs it (``before_ready`` may be a factor's level)."""
        table = self.model_dump(exclude={"slo", "before_ready"})
        return LoadSettings(
            **table,
            before_ready=before_ready or self.before_ready,
            slo_ttft_ms=self.slo.ttft_ms,
            slo_total_ms=self.slo.total_ms,
            seed=seed,
        )


MAX_REPLICAS = 32


class FleetConfig(_Model):
    """N replicas of the scenario's service started at once, traffic through a balancer."""

    replicas: int = Field(1, ge=1, le=MAX_REPLICAS)
    """How many replicas start at t0 (the `replicas` factor sets it per variant). Replica 1
    keeps the service's name; replica i is `NAME.i`, on a port of its own (`{port}`;
    `{replica}` is i)."""
    balancer: Literal["haproxy", "first-ready", "round-robin", "least-outstanding"] = "haproxy"
    """Where the requests go (the `balancer` factor sets it per variant): `haproxy`, a real
    HAProxy started for each trial before t0 with active health checks against the replicas
    (its config generated, its log kept); the client's own policies over the replicas
    ready when a request is sent (before any is: replica 1): `first-ready`, every request
    to the replica ready first; `round-robin`, each to the next; `least-outstanding`, each
    to the one with the fewest of the client's requests in flight (ties: the one ready
    first)."""
    health_check_ms: int = Field(100, ge=10, le=10_000)
    """HAProxy's health-check interval (its `inter`, `fastinter` and `downinter`)."""
    stagger_ms: float = Field(0.0, ge=0, le=600_000)
    """Replica i is spawned (i − 1) × stagger_ms after t0 (0: all at t0), as an autoscaler
    that adds one replica at a time."""
    scale_at_queue: int | None = Field(None, ge=1, le=100_000)
    """Start replicas on demand, as Knative's and KEDA's autoscalers do: replica 1 at t0,
    then one more whenever the requests outstanding (arrived and not answered yet: held
    while no replica is up, queued or in flight) exceed this many per replica started
    (checked every 5 ms), up to `replicas`. Needs `[load]`; not with `stagger_ms`."""
    placement: Literal["local", "ray"] = "local"
    """Where the replicas run: `local`, on this machine; `ray`, across the nodes of a Ray
    cluster, replica i on node i mod N (the head first), each started, watched and stopped
    by an actor on its node, its times joined to the trial's clock (the `ray` extra)."""
    ray_address: str | None = None
    """With `placement = "ray"`: the cluster (`HOST:PORT`); default: the one `RAY_ADDRESS`
    names, else a one-node cluster started for the run."""


class ChaosConfig(_Model):
    """Before request ``at_request`` (0-based) of a trial, restart or kill a service, then
    retry that request until it succeeds: the time from the action to the first success is
    the recovery time, the failures in between are counted."""

    service: str
    """The service restarted or killed."""
    at_request: int = Field(1, ge=0, le=100_000)
    """Before request K (0-based) of the trial, or once the load has sent request K."""
    action: Literal["restart", "kill"] = "restart"
    """`restart` it (stop, then start it again and wait for ready) or `kill` it."""
    recovery_timeout_s: float = Field(30.0, gt=0, le=3_600)
    """How long the request is retried before the trial gives up on recovery."""
    retry_interval_ms: float = Field(20.0, ge=0, le=60_000)
    """The pause between retries of the request."""
    match: dict[str, Scalar | list[Scalar]] = {}
    """The variants chaos applies to: factor → level(s); empty: all."""

    @property
    def levels(self) -> dict[str, tuple[str, ...]]:
        return match_levels(self.match)


class PageCacheConfig(_Model):
    """Files whose page-cache state the ``page_cache`` factor sets before each spawn."""

    files: Annotated[list[str], Field(min_length=1)]
    """Files (glob patterns allowed, templated) whose page-cache state the `page_cache` factor sets
    before each spawn: `cold` evicts them, `warm` reads them first."""


class Scenario(_Model):
    name: str | None = None
    """The experiment's name (default: the file's name)."""
    description: str = ""
    """What the experiment asks, shown by `coldstart validate` and in the report."""
    repetitions: int = Field(5, ge=1, le=MAX_REPETITIONS)
    """Measured trials per variant."""
    warmup_trials: int = Field(0, ge=0, le=1_000)
    """Discarded trials per variant, run first."""
    seed: int | None = None
    """The trial order's seed (default: random, recorded in run.json)."""
    vars: dict[str, str] = {}
    """Your own template variables: `{name}` anywhere templated; `coldstart run --var name=value`
    sets one. A value may use built-in variables and factors (`"{cache_dir}/models"`)."""
    services: Annotated[list[Service], Field(min_length=1)]
    """The services to start, in order (`[[services]]`); the last one is measured by default."""
    requests: Requests | None = None
    """The requests sent once every service is ready (`[requests]`)."""
    load: LoadConfig | None = None
    """Traffic instead of requests one after another (`[load]`): from spawn or ready, then warm."""
    matrix: dict[str, Any] = {}
    """Factors and their levels: every combination is a variant. Each factor is a template variable;
    `pooling`, `tls`, `http2`, `page_cache`, `compile_cache`, `before_ready` and `idle_s` the
    harness acts on itself; `exclude = [{ ... }]` drops combinations."""
    setup: list[list[str]] = []
    """Commands run once per run before the first trial (per distinct rendering), like hyperfine's
    --setup."""
    prepare: list[list[str]] = []
    """Commands run before every trial's spawn, like hyperfine's --prepare (not timed as cold
    start)."""
    setup_timeout_s: float = Field(1800.0, gt=0, le=86_400)
    """How long each `setup` command may run before the run stops with an error (its whole
    process group is killed)."""
    prepare_timeout_s: float = Field(600.0, gt=0, le=86_400)
    """How long each `prepare` command may run before its trial fails."""
    requires: list[Requirement] = []
    """Conditions for running variants (`[[requires]]`): where one fails, those trials are skipped
    with its reason."""
    page_cache: PageCacheConfig | None = None
    """The files the `page_cache` factor acts on (`[page_cache]`)."""
    tls: TlsConfig = TlsConfig()
    """Certificates for TLS variants (`[tls]`)."""
    gate: GateConfig = GateConfig()
    """Defaults for `coldstart gate` and `compare` on runs of this scenario (`[gate]`; the command
    line wins)."""
    chaos: ChaosConfig | None = None
    """Restart or kill a service in the middle of a trial (`[chaos]`)."""
    fleet: FleetConfig | None = None
    """N replicas of the service starting at once behind a balancer (`[fleet]`)."""
    # From t0 to the last response: past it, the trial ends as a timeout. Unset, a trial
    # is bounded by its parts' own limits (readiness timeout_s, each request's timeout_s).
    trial_timeout_s: float | None = Field(None, gt=0, le=86_400)
    """From t0 to the last response: past it, the trial ends as a timeout (unset: each part's own
    limit bounds it)."""

    _var_strings = field_validator("vars", mode="before")(_str_values)

    @field_validator("setup", "prepare", mode="before")
    @classmethod
    def _prepare_argv(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            return [_argv(item) for item in value]
        return value

    @field_validator("setup", "prepare")
    @classmethod
    def _prepare_non_empty(cls, value: list[list[str]]) -> list[list[str]]:
        for i, argv in enumerate(value):
            if not argv:
                raise PathError(f"[{i}]", "an empty command")
        return value

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("matrix")
    @classmethod
    def _valid_matrix(cls, value: dict[str, Any]) -> dict[str, Any]:
        check_matrix(value)
        return value

    # Derived views -----------------------------------------------------------------

    @property
    def factors(self) -> dict[str, tuple[str, ...]]:
        """Matrix factors with their levels as text, in file order."""
        return {
            name: tuple(normalise_level(name, v) for v in as_list(levels))
            for name, levels in self.matrix.items()
            if name != "exclude"
        }

    @property
    def exclude(self) -> list[dict[str, tuple[str, ...]]]:
        rules = self.matrix.get("exclude", [])
        return [
            {k: tuple(normalise_level(k, v) for v in as_list(vals)) for k, vals in rule.items()}
            for rule in rules
        ]

    @property
    def measured_service(self) -> Service:
        wanted = self.requests.service if self.requests else None
        if wanted is None:
            return self.services[-1]
        return next(s for s in self.services if s.name == wanted)
