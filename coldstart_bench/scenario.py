"""Scenario files: TOML → a validated, immutable :class:`Scenario`, and its matrix of variants.

A scenario is one experiment: the services to start (in order), the requests to send
once the last one is ready, a matrix of factors, repetitions and hooks. Every problem
is reported as ``file: key.path: what was expected``, with the nearest valid key for a
misspelt one, and never as a traceback.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import shlex
import signal
import tomllib
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from coldstart_bench.errors import ScenarioError
from coldstart_bench.templating import nearest, variables_in

# Factors the harness itself acts on; any other factor is only a template variable.
HARNESS_FACTORS: dict[str, tuple[str, ...]] = {
    "pooling": ("on", "off"),
    "tls": ("on", "off"),
    "http2": ("on", "off"),
    "page_cache": ("cold", "warm"),
}

# Variables every template may use, besides the matrix factors and [vars].
BUILTIN_VARIABLES: dict[str, str] = {
    "port": "the port of this service (in [requests]: of the measured service)",
    "host": "the host the probe connects to (127.0.0.1 unless [requests] host is set)",
    "scheme": "http, or https when TLS is on",
    "python": "the Python interpreter running coldstart",
    "run_dir": "absolute path of this run's results directory",
    "trial_dir": "absolute path of this trial's directory (logs, phase files)",
    "scenario_dir": "absolute path of the directory holding the scenario file",
    "cache_dir": "a per-user cache for generated models ($COLDSTART_CACHE_DIR, else "
    "$XDG_CACHE_HOME/coldstart-bench, else ~/.cache/coldstart-bench)",
    "tls_cert": "server certificate (PEM): [tls] cert_file, or one generated for the run",
    "tls_key": "server private key (PEM): [tls] key_file, or one generated for the run",
    "tls_ca": "CA certificate that signed tls_cert: [tls] ca_file, or the generated one",
    "service": "the name of this service",
    "variant": "the variant id, e.g. pooling=on,tls=off",
    "repetition": "the repetition number of this trial (0-based)",
    "trial": "the trial's position in the run (0-based)",
}

_ON_OFF_ALIASES = {True: "on", False: "off", "true": "on", "false": "off", "on": "on", "off": "off"}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_FACTOR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MAX_REPETITIONS = 10_000

Scalar = str | int | float | bool


class _PathError(ValueError):
    """A validation problem at a sub-path of the field being validated."""

    def __init__(self, subpath: str, message: str) -> None:
        self.subpath = subpath
        self.message = message
        super().__init__(message)


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


def _scalar_text(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


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
                raise _PathError(key, f"applies only to kind = {kind!r}, not {self.kind!r}")
        if self.kind == "log":
            if not self.pattern:
                raise _PathError("pattern", "kind = 'log' needs a regular expression")
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise _PathError("pattern", f"not a valid regular expression: {exc}") from None
        if self.kind == "http" and not self.path.startswith("/"):
            raise _PathError("path", f"must start with '/', got {self.path!r}")
        return self


def match_levels(match: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    return {k: tuple(_normalise_level(k, v) for v in _as_list(vals)) for k, vals in match.items()}


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
            raise _PathError("command", "give either 'program' or 'command' (one of them)")
        if self.command is not None and not self.command:
            raise _PathError("command", "an empty command")
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

    _command_argv = field_validator("command", mode="before")(_argv)
    _env_strings = field_validator("env", mode="before")(_str_values)

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(
                f"must be letters, digits, '_', '-' or '.', starting with a letter or digit; "
                f"got {value!r}"
            )
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
            hint = nearest(name, allowed)
            extra = f" (did you mean {hint!r}?)" if hint else ""
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
            raise _PathError("prompts", "give either 'prompt' or 'prompts', not both")
        if self.path is not None and not self.path.startswith("/"):
            raise _PathError("path", f"must start with '/', got {self.path!r}")
        if self.kind != "http":
            for key in ("method", "body"):
                if key in self.model_fields_set:
                    raise _PathError(key, f"applies only to kind = 'http', not {self.kind!r}")
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
            raise _PathError(missing, "cert_file and key_file go together; give both or neither")
        if self.cert_file is not None and self.ca_file is None and not self.insecure:
            raise _PathError(
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
            raise _PathError("baseline_level", "factor and baseline_level go together")
        return self


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
    repetitions: int = Field(5, ge=1, le=_MAX_REPETITIONS)
    warmup_trials: int = Field(0, ge=0, le=1_000)
    seed: int | None = None
    vars: dict[str, str] = {}
    services: Annotated[list[Service], Field(min_length=1)]
    requests: Requests | None = None
    matrix: dict[str, Any] = {}
    setup: list[list[str]] = []
    prepare: list[list[str]] = []
    requires: list[Requirement] = []
    page_cache: PageCacheConfig | None = None
    tls: TlsConfig = TlsConfig()
    gate: GateConfig = GateConfig()
    chaos: ChaosConfig | None = None

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
                raise _PathError(f"[{i}]", "an empty command")
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
        _check_matrix(value)
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> Scenario:
        _check_cross_references(self)
        return self

    # Derived views -----------------------------------------------------------------

    @property
    def factors(self) -> dict[str, tuple[str, ...]]:
        """Matrix factors with their levels as text, in file order."""
        return {
            name: tuple(_normalise_level(name, v) for v in _as_list(levels))
            for name, levels in self.matrix.items()
            if name != "exclude"
        }

    @property
    def exclude(self) -> list[dict[str, tuple[str, ...]]]:
        rules = self.matrix.get("exclude", [])
        return [
            {k: tuple(_normalise_level(k, v) for v in _as_list(vals)) for k, vals in rule.items()}
            for rule in rules
        ]

    @property
    def measured_service(self) -> Service:
        wanted = self.requests.service if self.requests else None
        if wanted is None:
            return self.services[-1]
        return next(s for s in self.services if s.name == wanted)


@dataclass(frozen=True)
class Variant:
    """One combination of factor levels."""

    index: int
    factors: Mapping[str, str]

    @property
    def id(self) -> str:
        return variant_id(self.factors)

    def matches(self, rule: Mapping[str, tuple[str, ...]]) -> bool:
        return all(self.factors.get(k) in levels for k, levels in rule.items())


def variant_id(factors: Mapping[str, str]) -> str:
    if not factors:
        return "default"
    return ",".join(f"{k}={v}" for k, v in factors.items())


def expand_variants(scenario: Scenario) -> list[Variant]:
    """The matrix as a list of variants, excluded combinations removed, in file order."""
    factors = scenario.factors
    names = list(factors)
    rules = scenario.exclude
    variants: list[Variant] = []
    for combo in itertools.product(*(factors[n] for n in names)):
        candidate = Variant(index=len(variants), factors=dict(zip(names, combo, strict=True)))
        if not any(candidate.matches(rule) for rule in rules):
            variants.append(candidate)
    return variants


# Loading -------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario together with where it came from."""

    scenario: Scenario
    path: Path
    text: str
    variants: tuple[Variant, ...]

    @property
    def name(self) -> str:
        return self.scenario.name or self.path.stem


def load_scenario(path: str | Path) -> LoadedScenario:
    """Read, parse and validate a scenario file; raise :class:`ScenarioError` on any problem."""
    file = Path(path)
    source = str(path)
    if not file.exists():
        raise ScenarioError(source, ["no such file"])
    if file.is_dir():
        raise ScenarioError(source, ["is a directory; expected a scenario .toml file"])
    try:
        raw = file.read_bytes()
    except PermissionError:
        raise ScenarioError(source, ["cannot read the file: permission denied"]) from None
    except OSError as exc:
        raise ScenarioError(source, [f"cannot read the file: {exc.strerror or exc}"]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(source, [f"not UTF-8 text (byte {exc.start})"]) from None
    return parse_scenario(text, source=source, path=file)


def with_vars(loaded: LoadedScenario, overrides: Mapping[str, str]) -> LoadedScenario:
    """The scenario with some of its ``[vars]`` set to other values (``coldstart run
    --var``). Only declared variables can be set, so a typo cannot pass silently."""
    if not overrides:
        return loaded
    declared = loaded.scenario.vars
    for key in overrides:
        if key not in declared:
            hint = nearest(key, declared)
            extra = f" (did you mean {hint!r}?)" if hint else ""
            known = ", ".join(declared) or "none"
            raise ScenarioError(
                str(loaded.path), [f"--var {key}: not a [vars] name{extra}; declared: {known}"]
            )
    scenario = loaded.scenario.model_copy(update={"vars": {**declared, **overrides}})
    return dataclasses.replace(loaded, scenario=scenario)


def parse_scenario(
    text: str, *, source: str = "<scenario>", path: Path | None = None
) -> LoadedScenario:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(source, [f"TOML syntax error: {exc}"]) from None
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(source, _problems(exc)) from None
    variants = expand_variants(scenario)
    if not variants:
        raise ScenarioError(source, ["matrix.exclude: the exclude rules remove every variant"])
    return LoadedScenario(
        scenario=scenario,
        path=path or Path(source),
        text=text,
        variants=tuple(variants),
    )


# Matrix and cross-reference checks -------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _normalise_level(factor: str, value: Scalar) -> str:
    if factor in HARNESS_FACTORS and HARNESS_FACTORS[factor] == ("on", "off"):
        key = value.lower() if isinstance(value, str) else value
        if key in _ON_OFF_ALIASES:
            return _ON_OFF_ALIASES[key]
    return _scalar_text(value)


def _check_matrix(matrix: dict[str, Any]) -> None:
    levels: dict[str, list[str]] = {}
    for name, values in matrix.items():
        if name == "exclude":
            continue
        if not _FACTOR_NAME.match(name):
            raise _PathError(name, "factor names must be identifiers (letters, digits, '_')")
        if name in BUILTIN_VARIABLES:
            raise _PathError(
                name, f"'{name}' is a built-in template variable; pick another factor name"
            )
        items = _as_list(values)
        if not items:
            raise _PathError(name, "a factor needs at least one level")
        for i, item in enumerate(items):
            if not isinstance(item, str | int | float | bool):
                raise _PathError(
                    f"{name}[{i}]",
                    f"expected a string, number or boolean, got {type(item).__name__}",
                )
        texts = [_normalise_level(name, v) for v in items]
        if len(set(texts)) != len(texts):
            raise _PathError(name, f"levels repeat: {texts}")
        allowed = HARNESS_FACTORS.get(name)
        if allowed:
            for i, t in enumerate(texts):
                if name == "pooling" and t.isdigit() and int(t) >= 1:
                    continue  # pooling on, with a pool of this many connections
                if t not in allowed:
                    raise _PathError(
                        f"{name}[{i}]",
                        f"the harness factor '{name}' takes "
                        f"{' or '.join(map(repr, allowed))}"
                        f"{' (or a pool size, e.g. 4)' if name == 'pooling' else ''}, "
                        f"got {items[i]!r}",
                    )
        levels[name] = texts
    if not levels and "exclude" not in matrix:
        return
    if not levels:
        raise _PathError("exclude", "exclude rules need at least one factor in [matrix]")
    rules = matrix.get("exclude", [])
    if not isinstance(rules, list):
        raise _PathError(
            "exclude", "expected a list of tables like [{ pooling = 'off', tls = 'on' }]"
        )
    for i, rule in enumerate(rules):
        if not isinstance(rule, dict) or not rule:
            raise _PathError(f"exclude[{i}]", "expected a non-empty table like { pooling = 'off' }")
        for key, vals in rule.items():
            if key not in levels:
                hint = nearest(key, levels)
                extra = f" (did you mean {hint!r}?)" if hint else ""
                raise _PathError(f"exclude[{i}].{key}", f"not a factor of the matrix{extra}")
            for v in _as_list(vals):
                if not isinstance(v, str | int | float | bool):
                    raise _PathError(f"exclude[{i}].{key}", "expected a level or a list of levels")
                if _normalise_level(key, v) not in levels[key]:
                    raise _PathError(
                        f"exclude[{i}].{key}",
                        f"{v!r} is not a level of '{key}' (levels: {levels[key]})",
                    )


def _templated_strings(scenario: Scenario) -> Iterator[tuple[str, str, str | None]]:
    """Every templated string as (key path, text, owning service name or None)."""
    for i, svc in enumerate(scenario.services):
        base = f"services[{i}]"
        for j, arg in enumerate(svc.command):
            yield f"{base}.command[{j}]", arg, svc.name
        for key, val in svc.env.items():
            yield f"{base}.env.{key}", val, svc.name
        if svc.cwd is not None:
            yield f"{base}.cwd", svc.cwd, svc.name
        for k, cond in enumerate(svc.when):
            for j, arg in enumerate(cond.args):
                yield f"{base}.when[{k}].args[{j}]", arg, svc.name
            for key, val in cond.env.items():
                yield f"{base}.when[{k}].env.{key}", val, svc.name
    req = scenario.requests
    if req is not None:
        yield "requests.prompt", req.prompt, None
        if req.system is not None:
            yield "requests.system", req.system, None
        for j, p in enumerate(req.prompts or []):
            yield f"requests.prompts[{j}]", p, None
        for key in ("path", "body", "model"):
            val = getattr(req, key)
            if val is not None:
                yield f"requests.{key}", val, None
        for key, val in req.headers.items():
            yield f"requests.headers.{key}", val, None
        yield from _strings_in(req.extra_body, "requests.extra_body")
    for key in ("setup", "prepare"):
        for i, argv in enumerate(getattr(scenario, key)):
            for j, arg in enumerate(argv):
                yield f"{key}[{i}][{j}]", arg, None
    for i, need in enumerate(scenario.requires):
        for j, arg in enumerate(need.command or []):
            yield f"requires[{i}].command[{j}]", arg, None
    if scenario.page_cache is not None:
        for j, f in enumerate(scenario.page_cache.files):
            yield f"page_cache.files[{j}]", f, None
    for key in ("ca_file", "cert_file", "key_file"):
        val = getattr(scenario.tls, key)
        if val is not None:
            yield f"tls.{key}", val, None


def _strings_in(value: Any, path: str) -> Iterator[tuple[str, str, None]]:
    if isinstance(value, str):
        yield path, value, None
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings_in(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings_in(v, f"{path}[{i}]")


def _check_cross_references(scenario: Scenario) -> None:
    names = [s.name for s in scenario.services]
    for i, name in enumerate(names):
        if names.index(name) != i:
            raise _PathError(f"services[{i}].name", f"service name {name!r} is used twice")
    factors = scenario.factors
    for key in scenario.vars:
        if not _FACTOR_NAME.match(key):
            raise _PathError(
                f"vars.{key}", "variable names must be identifiers (letters, digits, '_')"
            )
        if key in BUILTIN_VARIABLES or key in factors:
            raise _PathError(
                f"vars.{key}", f"'{key}' is already a built-in variable or a matrix factor"
            )

    matches = [
        (f"services[{i}].when[{k}].match", cond.match)
        for i, svc in enumerate(scenario.services)
        for k, cond in enumerate(svc.when)
    ]
    matches += [(f"requires[{i}].match", need.match) for i, need in enumerate(scenario.requires)]
    matches += [(f"services[{i}].only", svc.only) for i, svc in enumerate(scenario.services)]
    if scenario.chaos is not None:
        matches.append(("chaos.match", scenario.chaos.match))
        if scenario.chaos.service not in names:
            hint = nearest(scenario.chaos.service, names)
            extra = f" (did you mean {hint!r}?)" if hint else ""
            raise _PathError("chaos.service", f"no service named {scenario.chaos.service!r}{extra}")
        count = scenario.requests.count if scenario.requests else 0
        if scenario.chaos.at_request >= count:
            raise _PathError(
                "chaos.at_request",
                f"the trial sends {count} request(s); at_request must be below that",
            )
    for base, match in matches:
        for key, vals in match.items():
            where = f"{base}.{key}"
            if key not in factors:
                hint = nearest(key, factors)
                extra = f" (did you mean {hint!r}?)" if hint else ""
                raise _PathError(where, f"not a factor of the matrix{extra}")
            for v in _as_list(vals):
                if _normalise_level(key, v) not in factors[key]:
                    raise _PathError(
                        where, f"{v!r} is not a level of '{key}' (levels: {list(factors[key])})"
                    )
    for i, svc in enumerate(scenario.services):
        ports = [s.port for s in scenario.services if s.port is not None]
        if svc.port is not None and ports.count(svc.port) > 1:
            raise _PathError(f"services[{i}].port", f"port {svc.port} is given to two services")

    req = scenario.requests
    if req is not None:
        if req.service is not None and req.service not in names:
            hint = nearest(req.service, names)
            extra = f" (did you mean {hint!r}?)" if hint else ""
            raise _PathError("requests.service", f"no service named {req.service!r}{extra}")
        measured = scenario.measured_service
        if req.count > 0 and measured.ready.kind == "exit":
            where = f"services[{names.index(measured.name)}].ready.kind"
            raise _PathError(
                where,
                "a service with kind = 'exit' has exited when it is ready, so no requests can be "
                "sent to it; set requests.count = 0 or use 'tcp', 'http' or 'log'",
            )
    gate = scenario.gate
    if gate.factor is not None:
        if gate.factor not in factors:
            hint = nearest(gate.factor, factors)
            extra = f" (did you mean {hint!r}?)" if hint else ""
            raise _PathError("gate.factor", f"not a factor of the matrix{extra}")
        if gate.baseline_level not in factors[gate.factor]:
            raise _PathError(
                "gate.baseline_level",
                f"{gate.baseline_level!r} is not a level of '{gate.factor}' "
                f"(levels: {list(factors[gate.factor])})",
            )
    if "page_cache" in factors and scenario.page_cache is None:
        raise _PathError(
            "matrix.page_cache", "the page_cache factor needs [page_cache] files = [...]"
        )
    if "tls" in factors and scenario.tls.enabled:
        raise _PathError("tls.enabled", "TLS is a matrix factor here; remove tls.enabled")

    known = set(BUILTIN_VARIABLES) | set(factors) | set(scenario.vars)
    known |= {f"ports.{n}" for n in names}
    for path, text, _owner in _templated_strings(scenario):
        for var in variables_in(text):
            if var not in known:
                hint = nearest(var, known)
                extra = f"; did you mean {{{hint}}}?" if hint else ""
                raise _PathError(f"@{path}", f"unknown template variable {{{var}}}{extra}")


# Turning pydantic errors into one line each ---------------------------------------


def _format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith("["):
            out += part
        else:
            out += f".{part}" if out else str(part)
    return out


def _join_path(base: str, sub: str) -> str:
    if sub.startswith("@"):  # absolute path from the scenario root
        return sub[1:]
    if not sub:
        return base
    if sub.startswith("["):
        return base + sub
    return f"{base}.{sub}" if base else sub


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class whose keys are valid at ``loc`` (used to suggest the nearest key)."""
    model: type[BaseModel] | None = Scenario
    annotation: Any = Scenario
    for part in loc:
        if isinstance(part, int):
            annotation = _unwrap(annotation, index=True)
        elif model is not None and part in model.model_fields:
            annotation = _unwrap(model.model_fields[part].annotation, index=False)
        else:
            return None
        model = (
            annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel)
            else None
        )
    return model


def _unwrap(annotation: Any, *, index: bool) -> Any:
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _unwrap(typing.get_args(annotation)[0], index=index)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _unwrap(args[0], index=index) if len(args) == 1 else annotation
    if index and origin is list:
        return typing.get_args(annotation)[0]
    return annotation


_TYPE_NAMES = {
    "string_type": "a string",
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
}


_BOUNDS = {
    "greater_than_equal": ">=",
    "greater_than": ">",
    "less_than_equal": "<=",
    "less_than": "<",
}


def _describe_input(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# Pydantic names the member of a union it tried as an extra location step ("str",
# "list[union[str,int]]", "function-after[...]"); a user never wrote those.
_UNION_STEP = re.compile(r"^(str|int|float|bool|none|[a-z-]+\[.*\])$")


def _problems(exc: ValidationError) -> list[str]:
    problems: list[str] = []
    expectations: dict[str, list[str]] = {}  # path → what each union member wanted
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and _UNION_STEP.match(p)))
        kind = err["type"]
        path = _format_loc(loc)
        if kind in _TYPE_NAMES:
            expectations.setdefault(path, [])
            if _TYPE_NAMES[kind] not in expectations[path]:
                expectations[path].append(_TYPE_NAMES[kind])
        ctx = err.get("ctx") or {}
        cause = ctx.get("error")
        if isinstance(cause, _PathError):
            problems.append(f"{_join_path(path, cause.subpath)}: {cause.message}")
        elif kind == "extra_forbidden":
            parent = _model_at(loc[:-1])
            valid = sorted(parent.model_fields) if parent else []
            hint = nearest(str(loc[-1]), valid)
            extra = f"; did you mean '{hint}'?" if hint else ""
            listing = f" (valid keys: {', '.join(valid)})" if valid and not hint else ""
            problems.append(f"{path}: unknown key{extra}{listing}")
        elif kind == "missing":
            problems.append(f"{path}: missing required key")
        elif kind == "literal_error":
            expected = ctx.get("expected", "")
            got = err.get("input")
            options = re.findall(r"'([^']*)'", str(expected))
            hint = nearest(str(got), options) if isinstance(got, str) else None
            extra = f" (did you mean {hint!r}?)" if hint else ""
            problems.append(
                f"{path}: expected one of {expected}, got {_describe_input(got)}{extra}"
            )
        elif kind in _TYPE_NAMES:
            wanted = expectations[path]
            either = wanted[0] if len(wanted) == 1 else ", ".join(wanted[:-1]) + " or " + wanted[-1]
            problems.append(f"{path}: expected {either}, got {_describe_input(err.get('input'))}")
        elif kind in _BOUNDS:
            limit = next(iter(ctx.values()), "?")
            if isinstance(limit, float) and limit.is_integer():
                limit = int(limit)
            problems.append(
                f"{path}: must be {_BOUNDS[kind]} {limit}, got {_describe_input(err.get('input'))}"
            )
        elif kind == "too_short":
            problems.append(f"{path}: must not be empty")
        elif kind == "too_long":
            problems.append(f"{path}: too many items (at most {ctx.get('max_length')})")
        elif kind == "value_error":
            message = str(cause) if cause is not None else err["msg"]
            problems.append(f"{path}: {message}")
        else:
            msg = err["msg"]
            problems.append(
                f"{path}: {msg[0].lower()}{msg[1:]}, got {_describe_input(err.get('input'))}"
            )
    # Pydantic reports a value once per member of a union; keep the first of each path.
    # The last message of a path lists every expectation gathered so far.
    last: dict[str, str] = {}
    for p in problems:
        last[p.split(":", 1)[0]] = p
    return list(last.values())
