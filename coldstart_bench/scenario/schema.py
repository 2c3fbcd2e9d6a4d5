# Longer than 400 lines: one pydantic model per table of a scenario file, in the order a
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

from coldstart_bench.scenario.messages import PathError, did_you_mean
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
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


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

    kind: Literal["tcp", "http", "log", "exit"] = "tcp"
    path: str = "/health"
    status: int = Field(200, ge=100, le=599)
    scheme: Literal["auto", "http", "https"] = "auto"
    pattern: str | None = None
    exit_code: int = 0
    timeout_s: float = Field(60.0, gt=0, le=86_400)
    interval_ms: float = Field(1.0, gt=0, le=10_000)

    _KEYS_OF_KIND: typing.ClassVar[dict[str, set[str]]] = {
        "http": {"path", "status", "scheme"},
        "log": {"pattern"},
        "exit": {"exit_code"},
        "tcp": set(),
    }

    @model_validator(mode="after")
    def _keys_fit_kind(self) -> ReadyRule:
        for kind, keys in self._KEYS_OF_KIND.items():
            if kind == self.kind:
                continue
            for key in sorted(keys & self.model_fields_set):
                raise PathError(key, f"applies only to kind = {kind!r}, not {self.kind!r}")
        if self.kind == "log":
            if not self.pattern:
                raise PathError("pattern", "kind = 'log' needs a regular expression")
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise PathError("pattern", f"not a valid regular expression: {exc}") from None
        if self.kind == "http" and not self.path.startswith("/"):
            raise PathError("path", f"must start with '/', got {self.path!r}")
        return self


class LogPhase(_Model):
    """A start-up phase read from a server's own output, for servers that do not report
    phases: it ends when a line matching ``until`` first appears in the log (seen at the
    readiness poll, so to within its interval) and begins where the phase before it ended
    (the first, at spawn)."""

    name: str
    until: str

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
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


class ConditionalArgs(_Model):
    """Extra arguments and environment for the variants that match, e.g. TLS flags."""

    match: dict[str, Scalar | list[Scalar]]
    args: list[str] = []
    env: dict[str, str] = {}

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
    program: str | None = None
    command: list[str] | None = None
    reason: str | None = None

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
    command: Annotated[list[str], Field(min_length=1)]
    env: dict[str, str] = {}
    inherit_env: bool = True
    cwd: str | None = None
    port: int | None = Field(None, ge=1, le=65_535)
    ready: ReadyRule = ReadyRule()
    stop_signal: str = "SIGTERM"
    stop_grace_s: float = Field(10.0, ge=0, le=3_600)
    when: list[ConditionalArgs] = []
    only: dict[str, Scalar | list[Scalar]] = {}  # start it only in the variants that match
    log_phases: list[LogPhase] = []  # start-up phases marked by lines of its output, in order

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
    count: int = Field(1, ge=0, le=100_000)
    stream: bool = True
    prompt: str = "Write one sentence about a cold start."
    prompts: list[str] | None = Field(None, min_length=1)
    system: str | None = None  # openai-chat: a system message before each prompt
    model: str = "default"
    max_tokens: int = Field(16, ge=1, le=1_000_000)
    temperature: float | None = 0.0
    extra_body: dict[str, Any] = {}
    method: str | None = None
    path: str | None = None
    body: str | None = None
    headers: dict[str, str] = {}
    expect_status: int = Field(200, ge=100, le=599)
    timeout_s: float = Field(60.0, gt=0, le=86_400)
    service: str | None = None
    host: str = "127.0.0.1"
    pause_ms: float = Field(0.0, ge=0, le=600_000)

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
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    insecure: bool = False
    server_name: str | None = None

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
    max_regression: float | None = None
    confidence: float | None = Field(None, gt=0.5, lt=1.0)
    budgets: dict[str, float] = {}
    factor: str | None = None  # A/B within one run: the factor whose levels are compared
    baseline_level: str | None = None

    @field_validator("max_regression", mode="before")
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

    ttft_ms: float | None = Field(None, gt=0)  # from arrival: waiting + time to first token
    total_ms: float | None = Field(None, gt=0)  # from arrival to the end of the answer


class LoadConfig(_Model):
    """Traffic on the replica from the moment it starts (or from ready), then the same
    traffic again once it is warm. The requests themselves are ``[requests]``'."""

    pattern: Literal["concurrent", "constant", "poisson", "burst"] = "poisson"
    rate: float | None = Field(None, gt=0, le=100_000)  # requests/s: constant, poisson
    concurrency: int = Field(1, ge=1, le=10_000)  # concurrent: requests in flight
    requests: int | None = Field(None, ge=1, le=1_000_000)  # per phase; burst: all at once
    duration_s: float | None = Field(None, gt=0, le=86_400)  # per phase, instead of requests
    start: Literal["spawn", "ready"] = "spawn"  # when the arrivals begin
    before_ready: Literal["hold", "retry"] = "hold"  # arrivals before the server accepts
    retry_interval_ms: float = Field(50.0, gt=0, le=60_000)
    warm_after_s: float | None = Field(None, ge=0, le=86_400)  # then the warm phase; None: none
    slo: SloConfig = SloConfig()
    steady_margin: float = Field(0.2, ge=0, le=10)  # steady: rolling p95 ≤ (1 + margin) × warm
    steady_window: int = Field(10, ge=2, le=10_000)  # requests in the rolling window
    goodput_window_s: float = Field(10.0, gt=0, le=86_400)  # goodput over the first N seconds

    @model_validator(mode="after")
    def _one_size(self) -> LoadConfig:
        if self.pattern in ("constant", "poisson") and self.rate is None:
            raise PathError("rate", f"pattern = {self.pattern!r} needs a rate (requests/s)")
        if self.pattern == "burst":
            if self.requests is None:
                raise PathError("requests", "pattern = 'burst' needs requests (how many at once)")
            if self.duration_s is not None:
                raise PathError("duration_s", "a burst has no duration: it is all at once")
        elif (self.requests is None) == (self.duration_s is None):
            raise PathError("requests", "give either requests or duration_s (one of them)")
        if self.pattern != "concurrent" and "concurrency" in self.model_fields_set:
            raise PathError("concurrency", "applies only to pattern = 'concurrent'")
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


class ChaosConfig(_Model):
    """Before request ``at_request`` (0-based) of a trial, restart or kill a service, then
    retry that request until it succeeds: the time from the action to the first success is
    the recovery time, the failures in between are counted."""

    service: str
    at_request: int = Field(1, ge=0, le=100_000)
    action: Literal["restart", "kill"] = "restart"
    recovery_timeout_s: float = Field(30.0, gt=0, le=3_600)
    retry_interval_ms: float = Field(20.0, ge=0, le=60_000)
    match: dict[str, Scalar | list[Scalar]] = {}

    @property
    def levels(self) -> dict[str, tuple[str, ...]]:
        return match_levels(self.match)


class PageCacheConfig(_Model):
    """Files whose page-cache state the ``page_cache`` factor sets before each spawn."""

    files: Annotated[list[str], Field(min_length=1)]


class Scenario(_Model):
    name: str | None = None
    description: str = ""
    repetitions: int = Field(5, ge=1, le=MAX_REPETITIONS)
    warmup_trials: int = Field(0, ge=0, le=1_000)
    seed: int | None = None
    vars: dict[str, str] = {}
    services: Annotated[list[Service], Field(min_length=1)]
    requests: Requests | None = None
    load: LoadConfig | None = None
    matrix: dict[str, Any] = {}
    setup: list[list[str]] = []
    prepare: list[list[str]] = []
    requires: list[Requirement] = []
    page_cache: PageCacheConfig | None = None
    tls: TlsConfig = TlsConfig()
    gate: GateConfig = GateConfig()
    chaos: ChaosConfig | None = None
    # From t0 to the last response: past it, the trial ends as a timeout. Unset, a trial
    # is bounded by its parts' own limits (readiness timeout_s, each request's timeout_s).
    trial_timeout_s: float | None = Field(None, gt=0, le=86_400)

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
