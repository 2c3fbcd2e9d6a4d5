"""The results format: one :class:`TrialRecord` per line of ``trials.jsonl``.

All times are milliseconds. t0 is the moment just before the trial's first spawn.
Points in time are measured from t0: ``spawn_ms``, ``ready_ms``, ``cold_ttft_ms``, a
request's ``start_ms`` and a phase's ``start_ms``/``end_ms``. Every other ``*_ms`` field
is a duration (a request's ``connect_ms`` ... ``total_ms`` run from its ``start_ms``).

Schema history (bump :data:`SCHEMA_VERSION` when a field changes meaning or goes away;
adding a field is compatible and needs no bump). Every version listed here is still read:

- 1: first version.
- 2: what a trial recorded beside its measurements is typed: ``node``,
  ``load_settings``, ``page_cache``, ``compile_cache``, ``chaos`` and ``escaped``, which
  version 1 kept as untyped keys of ``extra`` (``extra["load"]`` became
  ``load_settings``). A version 1 line is read into the same fields.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

from coldstart_bench.scenario.settings import LoadSettings

SCHEMA_VERSION = 2
READABLE_VERSIONS = (1, 2)

Status = Literal["ok", "failed", "timeout", "skipped"]
STATUSES: tuple[str, ...] = ("ok", "failed", "timeout", "skipped")


def instance_name(service: str, restarts: int) -> str:
    """How a service's instance is named in the records: a chaos restart's new instance is
    "NAME (restart K)", so its phases and ready time never merge with the cold start's."""
    return service if not restarts else f"{service} (restart {restarts})"


@dataclass(frozen=True, slots=True)
class PhaseRecord:
    """A span a target reported about itself via ``COLDSTART_PHASES``."""

    service: str
    phase: str
    start_ms: float
    end_ms: float
    bytes: int | None = None  # how much data the phase handled, when the target says

    @property
    def duration_ms(self) -> float:
        return self.end_ms - self.start_ms


@dataclass(frozen=True, slots=True)
class ServiceRecord:
    """What happened to one service process of a trial, from spawn to teardown."""

    name: str
    status: Status
    pid: int | None = None
    port: int | None = None
    spawn_ms: float | None = None  # Popen returned
    ready_ms: float | None = None  # readiness rule first satisfied
    exit_code: int | None = None
    stopped_by: str | None = None  # "exited", the stop signal name, or "SIGKILL"
    teardown_ms: float | None = None
    leftover_pids: tuple[int, ...] = ()  # processes that outlived the stop signal and were killed
    survivors: tuple[int, ...] = ()  # processes still alive after teardown (must stay empty)
    log: str | None = None  # path relative to the run directory
    error: str | None = None


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request of a trial. Durations run from the moment the request was started."""

    index: int
    status: Status
    start_ms: float  # the client's first network action (connect, or send when reused)
    status_code: int | None = None
    http_version: str | None = None
    reused: bool | None = None  # the connection came from the pool
    dns_ms: float | None = None
    connect_ms: float | None = None
    tls_ms: float | None = None
    ttfb_ms: float | None = None  # response headers received
    ttft_ms: float | None = None  # first content token (streaming) or complete body
    total_ms: float | None = None
    tokens: int | None = None
    usage_tokens: int | None = None  # completion_tokens as reported by the server
    itl_ms: tuple[float, ...] = ()
    bytes: int = 0
    error: str | None = None
    client_ms: float | None = None  # the probe's own preparation before start_ms


@dataclass(frozen=True, slots=True)
class LoadRecord:
    """One request of a load trial: when it arrived, what happened before it could be sent
    (held until ready, or retried), and the request itself as it was finally sent (its
    ``start_ms`` is the send, from t0; its durations run from there)."""

    index: int  # within its phase
    phase: Literal["cold", "warm"]
    arrival_ms: float  # when it arrived (was scheduled), from t0
    request: RequestRecord
    attempts: int = 1  # sends; more than one only with before_ready = "retry"
    held: bool = False  # it arrived before ready and waited (before_ready = "hold")
    first_error: str | None = None  # of a failed attempt before the last one
    lag_ms: float = 0.0  # the client's own lateness: dispatched this long after arrival

    @property
    def wait_ms(self) -> float:
        """Arrival → the send that counted (held, retried, or the client's own lag)."""
        return self.request.start_ms - self.arrival_ms


@dataclass(frozen=True, slots=True)
class NodeIdentity:
    """Which machine ran a trial, so that runs spanning several are never averaged across
    machine types."""

    hostname: str
    cpu_model: str | None = None
    gpus: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PageCacheState:
    """What the ``page_cache`` factor did to the ``[page_cache]`` files before the spawn."""

    mode: Literal["cold", "warm"]
    files: int
    bytes: int
    resident_before_spawn: float | None  # the fraction of their pages in memory at spawn


@dataclass(frozen=True, slots=True)
class CompileCacheState:
    """The ``compile_cache`` factor's directory: what it held at spawn, what the server added."""

    mode: Literal["cold", "warm"]
    dir: str
    files_at_spawn: int
    bytes_at_spawn: int
    files_added: int
    bytes_added: int


@dataclass(frozen=True, slots=True)
class ChaosOutcome:
    """A service restarted (or killed) in the middle of a trial, and the recovery."""

    service: str
    action: Literal["restart", "kill"]
    at_request: int
    recovered: bool
    restart_ms: float | None = None  # the restart itself (stop, spawn, ready)
    recovery_ms: float | None = None  # the action → the end of the first answer after it
    failed_requests: int = 0  # failed in between
    first_errors: tuple[str, ...] = ()
    at_ms: float | None = None  # under load: when the action began, from t0
    old_gone_ms: float | None = None  # under load: when the old instance was gone, from t0


@dataclass(frozen=True, slots=True)
class EscapedProcess:
    """A process that outlived its service's teardown and was killed before the trial ended."""

    pid: int
    comm: str


@dataclass(frozen=True, slots=True)
class TrialRecord:
    schema_version: int
    run_id: str
    trial: int  # position in the run's execution order
    variant: str
    factors: dict[str, str]
    repetition: int
    warmup: bool
    status: Status
    started_at: str  # wall clock, ISO 8601
    t0_ns: int  # CLOCK_MONOTONIC at t0, to place phases reported by targets
    error: str | None = None
    spawn_ms: float | None = None  # the first service's Popen returned
    ready_ms: float | None = None  # the last service became ready
    cold_ttft_ms: float | None = None  # t0 → first token of the first request
    prepare_ms: float | None = None
    page_cache_ms: float | None = None
    teardown_ms: float | None = None
    wall_ms: float | None = None  # the whole trial as the harness spent it
    services: tuple[ServiceRecord, ...] = ()
    requests: tuple[RequestRecord, ...] = ()
    phases: tuple[PhaseRecord, ...] = ()
    load: tuple[LoadRecord, ...] = ()  # a load trial's requests, cold phase then warm
    notes: tuple[str, ...] = ()
    node: NodeIdentity | None = None
    load_settings: LoadSettings | None = None  # a load trial's [load], as it ran
    page_cache: PageCacheState | None = None
    compile_cache: CompileCacheState | None = None
    chaos: ChaosOutcome | None = None
    escaped: tuple[EscapedProcess, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)  # keys of newer versions, kept

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrialRecord:
        """Build a record from a parsed JSON line of any readable version; unknown keys (from
        newer versions) are kept in ``extra`` rather than rejected."""
        data = dict(data)
        if data.get("schema_version") == 1:
            data = _from_version_1(data)
        known = {f.name for f in dataclasses.fields(cls)}
        extra = {k: data.pop(k) for k in list(data) if k not in known}
        record: TrialRecord = _build(cls, data)
        if extra:
            record = dataclasses.replace(record, extra={**record.extra, **extra})
        return record


# Version 1 kept these in ``extra``; version 2 has a typed field for each.
_TYPED_SINCE_2 = {
    "node": "node",
    "load": "load_settings",
    "page_cache": "page_cache",
    "compile_cache": "compile_cache",
    "chaos": "chaos",
    "escaped": "escaped",
}


def _from_version_1(data: dict[str, Any]) -> dict[str, Any]:
    extra = dict(data.get("extra") or {})
    moved = {new: extra.pop(old) for old, new in _TYPED_SINCE_2.items() if old in extra}
    return {**data, **moved, "extra": extra, "schema_version": SCHEMA_VERSION}


@dataclass(frozen=True)
class ConnectionSamples:
    """Requests ``coldstart connbench`` timed against one endpoint (not stored in a run)."""

    url: str
    n: int
    tls: bool
    fresh: list[RequestRecord]  # each on a new connection
    fresh_s: float  # wall time of the fresh requests
    pooled: list[RequestRecord]  # over one kept-alive connection
    pooled_s: float


@functools.cache
def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _build(cls: type, data: dict[str, Any]) -> Any:
    """A record class from its JSON form: nested records built, lists made tuples, keys
    this version does not know dropped."""
    types_of = _field_types(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: _typed(types_of[k], v) for k, v in data.items() if k in known})


def _typed(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return _typed(inner[0], value) if len(inner) == 1 else value
    if origin is tuple and isinstance(value, list | tuple):
        item = typing.get_args(hint)[0]
        return tuple(_typed(item, v) for v in value)
    if dataclasses.is_dataclass(hint) and isinstance(value, dict):
        return _build(hint, value)  # type: ignore[arg-type]
    return value


def ns_to_ms(ns: int) -> float:
    return round(ns / 1e6, 4)
