# Longer than 400 lines: every record of the results format, each field documented where it
# is defined (the results reference is generated from them).
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
  ``load_settings``). A version 1 line is read into the same fields. Later in version 2
  (compatible): ``machine``, the calibration and load around each trial, and in it
  ``others_busy_share``, the other work just before the trial; a service's ``cpu``, the
  CPU work and memory of its start-up.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import msgspec

from coldstart_bench.scenario.settings import LoadSettings

SCHEMA_VERSION = 2
READABLE_VERSIONS = (1, 2)

# A time the harness measured (a duration, or a point from t0): never negative — a negative
# one is no measurement. Checked by msgspec as a line is decoded, and by _check.
MeasuredMs = Annotated[float, msgspec.Meta(ge=0)]

Status = Literal["ok", "failed", "timeout", "skipped"]
STATUSES: tuple[str, ...] = ("ok", "failed", "timeout", "skipped")
FAILED_STATUSES: tuple[str, ...] = ("failed", "timeout")  # the trial ran and did not succeed


def instance_name(service: str, restarts: int) -> str:
    """How a service's instance is named in the records: a chaos restart's new instance is
    "NAME (restart K)", so its phases and ready time never merge with the cold start's."""
    return service if not restarts else f"{service} (restart {restarts})"


@dataclass(frozen=True, slots=True)
class PhaseRecord:
    """A span a target reported about itself via ``COLDSTART_PHASES``."""

    service: str
    """The service (instance) that reported it; a chaos restart's is `NAME (restart K)`."""
    phase: str
    """Its name, e.g. `import`, `model_read`, `to_device`, `listen`."""
    start_ms: float
    """When it began, from t0."""
    end_ms: float
    """When it ended, from t0."""
    bytes: int | None = None
    """How much data it handled, where the target says (model-load throughput)."""
    reported_ms: float | None = None
    """A phase read from the log: the duration the server printed for it itself (e.g. vLLM's
    "Loading weights took 0.28 seconds"), beside ours from the lines' arrival."""
    source: str | None = None
    """Where it came from where not the phases file or the log: `otel` for a span the
    service exported over OTLP."""
    span_id: str | None = None
    """A span's id (hex)."""
    parent_span_id: str | None = None
    """Its parent span's id: another phase's, or the trial's own (the `TRACEPARENT` the
    service was given) for a span at the top."""
    depth: int | None = None
    """How deep a span is nested among the trial's spans: 0 at the top."""
    process: str | None = None
    """Which process sent a span (`pid N`, from its resource attributes)."""
    attributes: dict[str, str] | None = None
    """A span's attributes (at most 32, values cut to 200 characters)."""

    @property
    def duration_ms(self) -> float:
        return self.end_ms - self.start_ms


@dataclass(frozen=True, slots=True)
class CpuWork:
    """What a service's start-up cost in CPU work and memory: its whole process tree, every
    descendant (and escapee, where a cgroup counted it) included."""

    source: str
    """Where the figures come from: `cgroup-v2`, `cgroup-v1` (a cgroup made for the service,
    exact) or `proc` (the process table: the living tree and its reaped children, 10 ms
    ticks)."""
    ready_ms: MeasuredMs | None = None
    """CPU time (user + system) from spawn to ready."""
    user_ready_ms: float | None = None
    """Of which in user space."""
    first_token_ms: float | None = None
    """CPU time from spawn to the first token of the trial's first request."""
    total_ms: MeasuredMs | None = None
    """CPU time from spawn to the stop signal."""
    peak_rss_mib: float | None = None
    """The main process's peak resident memory (VmHWM), MiB."""
    memory_peak_mib: float | None = None
    """The cgroup's peak memory, MiB: every process of the tree, and the page cache its reads
    brought in (what model loading costs the machine)."""
    read_mib_ready: float | None = None
    """What its main process (and the children it reaped) read from storage until ready, MiB:
    its page-cache misses (`read_bytes` of /proc/PID/io)."""


@dataclass(frozen=True, slots=True)
class ServiceRecord:
    """What happened to one service process of a trial, from spawn to teardown."""

    name: str
    """The service's name (a chaos restart adds a second record of the same name)."""
    status: Status
    """`ok`, `failed`, `timeout` or `skipped`."""
    pid: int | None = None
    """Its process id."""
    port: int | None = None
    """Its port in this trial."""
    spawn_ms: MeasuredMs | None = None
    """Popen returned, from t0."""
    ready_ms: MeasuredMs | None = None
    """Its readiness rule first held, from t0."""
    exit_code: int | None = None
    """How its process ended (negative: killed by that signal)."""
    stopped_by: str | None = None
    """`exited`, the stop signal's name, or `SIGKILL` (the grace period ran out)."""
    teardown_ms: MeasuredMs | None = None
    """From the stop signal to no process of it left."""
    leftover_pids: tuple[int, ...] = ()
    """Processes that outlived the stop signal and were killed."""
    survivors: tuple[int, ...] = ()
    """Processes still alive after teardown (always empty unless something is badly wrong)."""
    log: str | None = None
    """Its output (stdout and stderr), relative to the run directory."""
    error: str | None = None
    """Why it is not ok."""
    cpu: CpuWork | None = None
    """Its start-up's CPU work and memory (None: not measured)."""


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request of a trial. Durations run from the moment the request was started."""

    index: int
    """Its position in the trial (0: the first request after ready)."""
    status: Status
    """`ok`, `failed` or `timeout`."""
    start_ms: float
    """The client's first network action (connect, or send on a reused connection), from t0; the
    request's other times run from here."""
    status_code: int | None = None
    """The HTTP status code."""
    http_version: str | None = None
    """`HTTP/1.1` or `HTTP/2`."""
    reused: bool | None = None
    """It went over a pooled connection (no connect)."""
    dns_ms: MeasuredMs | None = None
    """Name resolution."""
    connect_ms: MeasuredMs | None = None
    """The TCP connect."""
    tls_ms: MeasuredMs | None = None
    """The TLS handshake."""
    ttfb_ms: MeasuredMs | None = None
    """Until the response headers were received."""
    ttft_ms: MeasuredMs | None = None
    """Until the first SSE chunk with non-empty content (a role-only chunk does not count); for a
    non-streaming answer, the complete body."""
    total_ms: MeasuredMs | None = None
    """Until the end of the answer."""
    tokens: int | None = None
    """Content chunks received."""
    usage_tokens: int | None = None
    """`completion_tokens` as the server reported it."""
    itl_ms: tuple[float, ...] = ()
    """Gaps between content chunks."""
    bytes: int = 0
    """Body bytes received."""
    error: str | None = None
    """Why it is not ok."""
    client_ms: float | None = None
    """The probe's own request building before `start_ms` (not charged to the server)."""
    replica: str | None = None
    """In a fleet: the replica that answered (HAProxy's `X-Coldstart-Replica` header, or the
    replica the client sent it to)."""


@dataclass(frozen=True, slots=True)
class LoadRecord:
    """One request of a load trial: when it arrived, what happened before it could be sent
    (held until ready, or retried), and the request itself as it was finally sent (its
    ``start_ms`` is the send, from t0; its durations run from there)."""

    index: int
    """Its number within its phase."""
    phase: Literal["cold", "warm"]
    """`cold` (from spawn or ready) or `warm` (the same load on the warm replica)."""
    arrival_ms: float
    """When it arrived (was scheduled), from t0."""
    request: RequestRecord
    """The request as it was finally sent; its `start_ms` is the send, from t0."""
    attempts: int = 1
    """Sends; more than one only with `before_ready = "retry"`."""
    held: bool = False
    """It arrived before ready and waited (`before_ready = "hold"`)."""
    first_error: str | None = None
    """The error of a failed attempt before the last one."""
    lag_ms: float = 0.0
    """The client's own lateness: it was dispatched this long after its arrival."""

    @property
    def wait_ms(self) -> float:
        """Arrival → the send that counted (held, retried, or the client's own lag)."""
        return self.request.start_ms - self.arrival_ms


@dataclass(frozen=True, slots=True)
class NodeIdentity:
    """Which machine ran a trial, so that runs spanning several are never averaged across
    machine types."""

    hostname: str
    """The machine's host name."""
    cpu_model: str | None = None
    """Its CPU model."""
    gpus: tuple[str, ...] = ()
    """Its NVIDIA GPUs' models."""


@dataclass(frozen=True, slots=True)
class PageCacheState:
    """What the ``page_cache`` factor did to the ``[page_cache]`` files before the spawn."""

    mode: Literal["cold", "warm"]
    """`cold` (evicted) or `warm` (read first)."""
    files: int
    """How many files."""
    bytes: int
    """Their size."""
    resident_before_spawn: float | None
    """The fraction of their pages in memory at spawn."""


@dataclass(frozen=True, slots=True)
class CompileCacheState:
    """The ``compile_cache`` factor's directory: what it held at spawn, what the server added."""

    mode: Literal["cold", "warm"]
    """`cold` (a new, empty directory for the trial) or `warm` (one for the run)."""
    dir: str
    """The directory (`{compile_cache_dir}`)."""
    files_at_spawn: int
    """Files it held at spawn."""
    bytes_at_spawn: int
    """Bytes it held at spawn."""
    files_added: int
    """Files the server added."""
    bytes_added: int
    """Bytes the server added."""


@dataclass(frozen=True, slots=True)
class ChaosOutcome:
    """A service restarted (or killed) in the middle of a trial, and the recovery."""

    service: str
    """The service restarted or killed."""
    action: Literal["restart", "kill"]
    """`restart` or `kill`."""
    at_request: int
    """Before (or under load: once the load had sent) this request."""
    recovered: bool
    """A request was answered again."""
    restart_ms: float | None = None
    """The restart itself (stop, spawn, ready)."""
    recovery_ms: float | None = None
    """The action → the end of the first answer after it."""
    failed_requests: int = 0
    """Requests that failed in between."""
    first_errors: tuple[str, ...] = ()
    """The first of their errors."""
    at_ms: float | None = None
    """Under load: when the action began, from t0."""
    old_gone_ms: float | None = None
    """Under load: when the old instance was gone, from t0 (an answer before it does not count as a
    recovery)."""


@dataclass(frozen=True, slots=True)
class EscapedProcess:
    """A process that outlived its service's teardown and was killed before the trial ended."""

    pid: int
    """Its process id."""
    comm: str
    """Its command name."""


# Other work keeping this share of the CPUs busy makes a machine busy: times are inflated.
# The run says so as it starts, the analysis over the run (from ``others_busy_share``).
BUSY_OTHERS_SHARE = 0.5


@dataclass(frozen=True, slots=True)
class MachineSample:
    """The machine around one trial: a fixed calibration run just before it (so a run
    measures its machine's speed as it goes) and how busy the CPUs were during it."""

    calibration_ms: MeasuredMs | None
    """The median of the calibration runs: spawn a fresh interpreter that imports a fixed
    set of standard-library modules, and wait for it to exit."""
    calibration_runs: tuple[float, ...] = ()
    """Each calibration run, in ms."""
    load_1m: float | None = None
    """The 1-minute load average when the trial began."""
    cpus: int | None = None
    """CPUs this process may run on."""
    busy_share: float | None = None
    """The share of all CPUs' time spent not idle during the trial (the trial's own work
    included)."""
    steal_share: float | None = None
    """The share of all CPUs' time stolen by the hypervisor during the trial."""
    cpu_quota: float | None = None
    """The cgroup's CPU limit, in CPUs (None: no limit, or not readable)."""
    cpu_mhz: float | None = None
    """The mean clock of the CPUs when the trial began, where the kernel says."""
    others_busy_share: float | None = None
    """The share of all CPUs' time spent not idle just before the trial (50 ms, before the
    calibration, when no process of the run is running): other work on the machine."""
    calibration_cpu_ms: float | None = None
    """The calibration's CPU time (user + system of its process; the median of its runs):
    what the machine's speed means for CPU work, which other work on the machine moves far
    less than the wall clock."""


@dataclass(frozen=True, slots=True)
class FleetRecord:
    """A trial's fleet: N replicas of one service started at t0, behind a balancer."""

    replicas: tuple[str, ...]
    """The replicas' names, replica 1 first (their service records have the same names)."""
    balancer: str
    """`haproxy`, `first-ready`, `round-robin` or `least-outstanding`."""
    ready_ms: tuple[float | None, ...] = ()
    """When each replica was ready, from t0 (None: it never was), in the order of `replicas`."""
    first_ready: str | None = None
    """The replica ready first (with `first-ready`, the one the requests went to)."""
    balancer_ready_ms: float | None = None
    """With `haproxy`: when HAProxy first had a replica up, from t0 (its health checks lag the
    replicas' own readiness); the requests are sent from then."""
    balancer_log: str | None = None
    """HAProxy's own log of the trial, relative to the run directory."""
    balancer_answers: tuple[str, ...] = ()
    """The replica HAProxy's log names for each request, in order (`<NOSRV>`: none)."""
    queue_at_start: tuple[int | None, ...] = ()
    """With `scale_at_queue`: the requests outstanding when each replica was started, in the
    order of `replicas` (replica 1, started at t0: 0; None: the queue never asked for it,
    and it has no service record)."""
    nodes: tuple[str, ...] = ()
    """With `placement = "ray"`: the Ray node of each replica (its host name and node id),
    in the order of `replicas`."""
    clock_offset_ms: tuple[float, ...] = ()
    """With `placement = "ray"`: each replica's node clock minus the harness's, as measured
    before t0 (its times are joined to the trial's t0 by it)."""
    clock_error_ms: tuple[float, ...] = ()
    """Half the round trip that measured each offset: how far a joined time may be off."""


@dataclass(frozen=True, slots=True)
class TrialRecord:
    schema_version: int
    """The results format's version (see the history above)."""
    run_id: str
    """The run it belongs to."""
    trial: int
    """Its position in the run's execution order."""
    variant: str
    """The variant's id: `factor=level,...` (`default` without a matrix)."""
    factors: dict[str, str]
    """The variant's levels, factor → level."""
    repetition: int
    """Which repetition of its variant."""
    warmup: bool
    """A discarded warm-up trial."""
    status: Status
    """`ok`, `failed`, `timeout` or `skipped`; `error` says why when not ok."""
    started_at: str
    """Wall clock, ISO 8601."""
    t0_ns: int
    """CLOCK_MONOTONIC at t0, to place the phases targets report."""
    error: str | None = None
    """Why it is not ok."""
    spawn_ms: MeasuredMs | None = None
    """The first service's Popen returned, from t0."""
    ready_ms: MeasuredMs | None = None
    """The last service's readiness rule first held, from t0."""
    cold_ttft_ms: MeasuredMs | None = None
    """t0 → the first content token of the first request (under load: of the first answer): the
    headline."""
    prepare_ms: float | None = None
    """The `prepare` commands (before t0)."""
    page_cache_ms: float | None = None
    """Setting the page-cache state (before t0)."""
    teardown_ms: MeasuredMs | None = None
    """Stopping every service."""
    wall_ms: MeasuredMs | None = None
    """The whole trial as the harness spent it."""
    services: tuple[ServiceRecord, ...] = ()
    """What happened to each service, in start order."""
    requests: tuple[RequestRecord, ...] = ()
    """The requests, in order."""
    phases: tuple[PhaseRecord, ...] = ()
    """The start-up phases the services reported (or `log_phases` marked)."""
    load: tuple[LoadRecord, ...] = ()
    """A load trial's requests: the cold phase, then the warm."""
    notes: tuple[str, ...] = ()
    """What the harness noticed: a capped log, a missing phase line, an escaped process."""
    node: NodeIdentity | None = None
    """The machine that ran it."""
    load_settings: LoadSettings | None = None
    """A load trial's `[load]` as it ran (what its figures are judged by)."""
    page_cache: PageCacheState | None = None
    """What the `page_cache` factor did."""
    compile_cache: CompileCacheState | None = None
    """What the `compile_cache` factor's directory held."""
    chaos: ChaosOutcome | None = None
    """A restart or kill in the middle of the trial, and the recovery."""
    escaped: tuple[EscapedProcess, ...] = ()
    """Processes that outlived their service's teardown and were killed before the trial ended."""
    machine: MachineSample | None = None
    """The machine's speed and load around the trial (runs before the calibration have none)."""
    fleet: FleetRecord | None = None
    """With `[fleet]`: its replicas, when each was ready and who answered each request."""
    trace_id: str | None = None
    """The trial's trace id (hex), given to services that export spans (in `TRACEPARENT`)
    and used for the trial's trace when it is exported."""
    trace_span_id: str | None = None
    """The trial's own span id (hex): the parent in the `TRACEPARENT` a service was given,
    so the spans it exported nest under the trial's."""
    t0_unix_ns: int | None = None
    """t0 on the wall clock (Unix nanoseconds), for exporting the trial's spans."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Keys from newer versions of the format, kept as they were."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrialRecord:
        """Build a record from a parsed JSON line of any readable version; unknown keys (from
        newer versions) are kept in ``extra`` rather than rejected."""
        if not isinstance(data, dict):
            raise RecordError(f"{_shown(data)} is not a trial record (a JSON object)")
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
def _fast_decoders() -> tuple[Any, Any]:
    """msgspec's decoders: one into the record, and one that accepts exactly its keys (an
    object with another key is refused, so that the careful path keeps it in ``extra``)."""
    keys = msgspec.defstruct(
        "TrialKeys",
        [(f.name, msgspec.Raw, msgspec.UNSET) for f in dataclasses.fields(TrialRecord)],
        forbid_unknown_fields=True,
    )
    return msgspec.json.Decoder(TrialRecord), msgspec.json.Decoder(keys)


def decode_trial(line: bytes | str) -> TrialRecord:
    """One line of ``trials.jsonl`` as its record: msgspec decodes and type-checks it in one
    step (JSON has no NaN or infinity, so a number is finite; a measured time is checked
    not negative); what it cannot take as is (a version-1 line, a key of a newer version,
    any error) goes the careful way of :meth:`TrialRecord.from_dict`, whose message names
    the field. Raises :class:`RecordError`, :class:`UnreadableVersion`, or ValueError for a
    line that is no JSON."""
    record_decoder, keys_decoder = _fast_decoders()
    try:
        keys_decoder.decode(line)
        record: TrialRecord = record_decoder.decode(line)
    except (msgspec.DecodeError, msgspec.ValidationError):
        record = None  # type: ignore[assignment]
    if record is not None and record.schema_version == SCHEMA_VERSION:
        return record
    import json

    data = json.loads(line)
    version = data.get("schema_version") if isinstance(data, dict) else None
    if version not in READABLE_VERSIONS:
        raise UnreadableVersion(version)
    return TrialRecord.from_dict(data)


class UnreadableVersion(Exception):
    """A line of a schema version this version does not read (``args[0]``: the version)."""


@functools.cache
def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, include_extras=True)


class RecordError(ValueError):
    """A line of ``trials.jsonl`` whose shape or types are not a trial record's; the
    message says which field and what it held."""


def _build(cls: type, data: dict[str, Any], where: tuple[str, ...] = ()) -> Any:
    """A record class from its JSON form, every field checked against its type (a number
    is finite, a measured time not negative): nested records built, lists made tuples, keys
    this version does not know dropped. Raises :class:`RecordError`."""
    if not isinstance(data, dict):
        raise RecordError(f"{_path(where) or cls.__name__}: {_shown(data)} is not an object")
    checks, required = _checks(cls)
    missing = [name for name in required if name not in data]
    if missing:
        raise RecordError(f"{_path(where) or cls.__name__}: no {', '.join(missing)}")
    return cls(**{k: checks[k](v, (*where, k)) for k, v in data.items() if k in checks})


Check = Callable[[Any, tuple[str, ...]], Any]


@functools.cache
def _checks(cls: type) -> tuple[dict[str, Check], tuple[str, ...]]:
    """Each field's check, made once per record type, and the fields it cannot go without."""
    hints = _field_types(cls)
    fields = dataclasses.fields(cls)
    checks = {f.name: _check(hints[f.name]) for f in fields}
    required = tuple(
        f.name
        for f in fields
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    )
    return checks, required


def _check(hint: Any, non_negative: bool = False) -> Check:
    """The function that checks (and shapes) one value of type ``hint``; an error names
    the value's path, made only when there is one."""
    origin = typing.get_origin(hint)
    if origin is Annotated:  # MeasuredMs
        inner, *meta = typing.get_args(hint)
        at_least = [m.ge for m in meta if isinstance(m, msgspec.Meta) and m.ge is not None]
        return _check(inner, non_negative or any(g == 0 for g in at_least))
    if origin in (types.UnionType, typing.Union):
        options = typing.get_args(hint)
        inner = [a for a in options if a is not type(None)]
        optional = type(None) in options
        if len(inner) != 1:
            return lambda value, _where: value
        one = _check(inner[0], non_negative)
        if not optional:
            return one
        return lambda value, where: None if value is None else one(value, where)
    if hint is Any:
        return lambda value, _where: value
    if origin is Literal:
        allowed = typing.get_args(hint)

        def literal(value: Any, where: tuple[str, ...]) -> Any:
            if value not in allowed:
                words = ", ".join(map(str, allowed))
                raise RecordError(f"{_path(where)}: {_shown(value)} is not one of {words}")
            return value

        return literal
    if origin in (tuple, list):
        item = _check(typing.get_args(hint)[0])
        as_tuple = origin is tuple

        def sequence(value: Any, where: tuple[str, ...]) -> Any:
            if not isinstance(value, list | tuple):
                raise RecordError(f"{_path(where)}: {_shown(value)} is not a list")
            made = [item(v, (*where, f"[{i}]")) for i, v in enumerate(value)]
            return tuple(made) if as_tuple else made

        return sequence
    if origin is dict:
        return _typed_as(dict, "an object")
    if dataclasses.is_dataclass(hint):
        return lambda value, where: _build(hint, value, where)  # type: ignore[arg-type]
    if hint is float:

        def number(value: Any, where: tuple[str, ...]) -> Any:
            if value.__class__ is not float and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                raise RecordError(f"{_path(where)}: {_shown(value)} is not a number")
            if not math.isfinite(value):
                raise RecordError(f"{_path(where)}: {_shown(value)} is not a finite number")
            if non_negative and value < 0:
                raise RecordError(f"{_path(where)}: {_shown(value)} is a negative time")
            return value

        return number
    if hint is int:

        def whole(value: Any, where: tuple[str, ...]) -> Any:
            if value.__class__ is not int:
                raise RecordError(f"{_path(where)}: {_shown(value)} is not a whole number")
            return value

        return whole
    if hint is bool:
        return _typed_as(bool, "true or false")
    if hint is str:
        return _typed_as(str, "a string")
    return lambda value, _where: value


def _typed_as(kind: type, words: str) -> Check:
    def check(value: Any, where: tuple[str, ...]) -> Any:
        if not isinstance(value, kind):
            raise RecordError(f"{_path(where)}: {_shown(value)} is not {words}")
        return value

    return check


def _path(where: tuple[str, ...]) -> str:
    return ".".join(where).replace(".[", "[")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def ns_to_ms(ns: int) -> float:
    return round(ns / 1e6, 4)
