"""Run a scenario: every trial (variant × repetition) cold, in a seeded interleaved order,
each one appended to ``trials.jsonl`` the moment it is finished.

One trial: prepare hooks → page-cache state → build the HTTP client → t0 → spawn each
service and wait for it to be ready → send the requests → tear everything down → read the
phases the services reported. Only the part from t0 to the last response is the measured
cold start; everything around it is recorded as the harness's own time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from coldstart_bench import __version__, page_cache
from coldstart_bench.errors import ColdstartError
from coldstart_bench.guardian import Guardian
from coldstart_bench.launch import LaunchError, TrialProcesses, cap_log, free_port
from coldstart_bench.plan import (
    RenderContext,
    TrialSpec,
    filter_variants,
    needs_tls_files,
    plan_trials,
    render_trial,
    run_level_context,
    shard_trials,
)
from coldstart_bench.probe import Probe
from coldstart_bench.records import (
    SCHEMA_VERSION,
    PhaseRecord,
    RequestRecord,
    Status,
    TrialRecord,
    instance_name,
    ns_to_ms,
)
from coldstart_bench.results import RunWriter, new_run_dir, utc_now
from coldstart_bench.runsetup import (
    CommandFailed,
    SetupError,
    run_logged,
    run_setup,
    unmet_requirements,
)
from coldstart_bench.scenario import LoadedScenario, Variant
from coldstart_bench.signals import Interrupted, interrupts_as_exceptions
from coldstart_bench.specs import RequestSpec, ServiceSpec, TrialSetup
from coldstart_bench.sysinfo import (
    environment,
    node_identity,
    redact_scenario,
    redact_text,
    secret_values,
)
from coldstart_bench.tlsgen import TlsFiles, make_throwaway_tls

_PREPARE_TIMEOUT_S = 600.0


class RunObserver(Protocol):
    """Told about progress; the CLI draws a progress bar with it."""

    def run_started(self, run_dir: Path, trials: Sequence[TrialSpec]) -> None: ...
    def trial_started(self, trial: TrialSpec) -> None: ...
    def trial_finished(self, trial: TrialSpec, record: TrialRecord) -> None: ...


@dataclass
class RunOptions:
    results_dir: Path = Path("results")
    run_id: str | None = None
    repetitions: int | None = None  # overrides the scenario's
    warmup_trials: int | None = None
    seed: int | None = None
    variants: Mapping[str, Sequence[str]] = field(default_factory=dict)  # only these levels
    record_torch: bool = True  # ask a subprocess for torch/CUDA facts for run.json
    shard: tuple[int, int] | None = None  # (I, N): run only shard I of N
    executor: str = "local"  # or "ray"
    ray_address: str | None = None


@dataclass
class RunOutcome:
    run_dir: Path
    run_id: str
    status: str  # "complete" or "interrupted"
    trials: list[TrialRecord]
    variants: list[str]
    interrupted_by: str | None = None
    exit_code: int = 0


def run_scenario(
    scenario: LoadedScenario | str | Path,
    options: RunOptions | None = None,
    observer: RunObserver | None = None,
) -> RunOutcome:
    """Run every trial of a scenario and write ``results/<run-id>/``. Returns when all trials
    are done or the run was interrupted (SIGINT/SIGTERM); finished trials are kept either way."""
    from coldstart_bench.scenario import load_scenario

    loaded = scenario if isinstance(scenario, LoadedScenario) else load_scenario(scenario)
    options = options or RunOptions()
    spec = loaded.scenario
    variants = filter_variants(loaded.variants, options.variants)
    if not variants:
        choices = ", ".join(v.id for v in loaded.variants)
        raise ColdstartError(f"--variant matches none of the scenario's variants ({choices})")
    seed = options.seed if options.seed is not None else spec.seed
    if seed is None:
        seed = random.SystemRandom().randrange(2**32)
    repetitions = options.repetitions if options.repetitions is not None else spec.repetitions
    warmups = options.warmup_trials if options.warmup_trials is not None else spec.warmup_trials
    if repetitions < 1 or warmups < 0:
        raise ColdstartError("--repetitions must be at least 1 and --warmup-trials at least 0")
    plan = plan_trials(variants, repetitions, warmups, seed)
    if options.shard is not None:
        index, count = options.shard
        if not 1 <= index <= count:
            raise ColdstartError(f"--shard {index}/{count}: I must be between 1 and N")
        if options.seed is None and spec.seed is None:
            raise ColdstartError(
                "--shard needs a fixed trial order: give --seed S (the same for every shard) "
                "or set seed in the scenario"
            )
        plan = shard_trials(plan, index, count)
    with tempfile.TemporaryDirectory(prefix="coldstart-requires-") as tmp:
        checks_log = Path(tmp) / "requires.log"
        skipped = unmet_requirements(
            loaded, variants, run_level_context(loaded, Path(tmp), None), checks_log
        )
        runnable = [v for v in variants if v.id not in skipped]
        _preflight(loaded, runnable)
        run_dir = new_run_dir(options.results_dir, loaded.name, options.run_id).resolve()
        (run_dir / "logs").mkdir()
        if checks_log.exists():
            shutil.copyfile(checks_log, run_dir / "logs" / "requires.log")
    run_id = run_dir.name
    tls = _tls_files(loaded, run_dir)
    writer = RunWriter(
        run_dir,
        {
            "run_id": run_id,
            "tool": "coldstart-bench",
            "tool_version": __version__,
            "status": "running",
            "started_at": utc_now(),
            "finished_at": None,
            "seed": seed,
            "command": sys.argv,
            "scenario": {
                "name": loaded.name,
                "path": str(loaded.path),
                "sha256": hashlib.sha256(loaded.text.encode("utf-8")).hexdigest(),
                "as_run": redact_scenario(spec.model_dump(mode="json")),
            },
            "plan": {
                "variants": [{"id": v.id, "factors": dict(v.factors)} for v in variants],
                "repetitions": repetitions,
                "warmup_trials": warmups,
                "trials": len(plan),
                "order": [[t.variant.id, t.repetition, t.warmup] for t in plan],
                "shard": list(options.shard) if options.shard else None,
            },
            "environment": environment(with_torch=options.record_torch),
            "skipped_variants": skipped,
        },
    )
    records: list[TrialRecord] = []
    status, interrupted_by = "complete", None
    exit_code = 0
    if observer:
        observer.run_started(run_dir, plan)
    guardian = Guardian().start()  # kills the targets if this process is SIGKILLed
    try:
        with interrupts_as_exceptions():
            announce = getattr(observer, "setup_started", None)
            run_setup(
                loaded,
                runnable,
                run_level_context(loaded, run_dir, tls),
                run_dir / "logs" / "setup.log",
                announce,
            )

            def started(trial: TrialSpec) -> None:
                if observer:
                    observer.trial_started(trial)

            def finished(trial: TrialSpec, record: TrialRecord) -> None:
                writer.append(record)
                records.append(record)
                if observer:
                    observer.trial_finished(trial, record)

            if options.executor == "ray":
                from coldstart_bench.ray_executor import run_on_ray

                run_on_ray(
                    loaded,
                    plan,
                    run_dir,
                    run_id,
                    tls,
                    options.ray_address,
                    skipped,
                    started,
                    finished,
                )
            else:
                for trial in plan:
                    started(trial)
                    if trial.variant.id in skipped:
                        record = skipped_trial(trial, run_id, skipped[trial.variant.id])
                    else:
                        record = run_trial(loaded, trial, run_dir, run_id, tls, guardian)
                    finished(trial, record)
    except Interrupted as exc:
        status, interrupted_by, exit_code = "interrupted", str(exc), exc.exit_code
    except KeyboardInterrupt:
        status, interrupted_by, exit_code = "interrupted", "SIGINT", 130
    except SetupError:
        status = "setup-failed"
        raise
    except BaseException:
        status = "crashed"
        raise
    finally:
        guardian.close()
        counts = Counter(r.status for r in records if not r.warmup)
        writer.finish(
            status=status,
            finished_at=utc_now(),
            interrupted_by=interrupted_by,
            counts={s: counts.get(s, 0) for s in ("ok", "failed", "timeout", "skipped")},
            trials_done=len(records),
        )
    if status == "complete" and any(
        r.status in ("failed", "timeout") for r in records if not r.warmup
    ):
        exit_code = 1
    return RunOutcome(
        run_dir=run_dir,
        run_id=run_id,
        status=status,
        trials=records,
        variants=[v.id for v in variants],
        interrupted_by=interrupted_by,
        exit_code=exit_code,
    )


def _tls_files(loaded: LoadedScenario, run_dir: Path) -> TlsFiles | None:
    cfg = loaded.scenario.tls
    if not needs_tls_files(loaded) or (cfg.cert_file and cfg.key_file and cfg.ca_file):
        return None
    return make_throwaway_tls(run_dir / "tls")


def _preflight(loaded: LoadedScenario, variants: Sequence[Variant]) -> None:
    """Fail before the first trial, with exit code 2, on what no trial could survive: a
    program that is not installed."""
    missing: dict[str, str] = {}
    ctx = run_level_context(loaded, Path("/nonexistent-run"), None)
    for variant in variants:
        trial = TrialSpec(0, variant, 0, False)
        for service in render_trial(loaded, trial, ctx).services:
            program = service.argv[0]
            where = (
                service.cwd
                if service.cwd and not os.path.isabs(program) and "/" in program
                else None
            )
            found = shutil.which(program, path=service.env.get("PATH")) or (
                os.path.exists(os.path.join(where, program)) if where else False
            )
            if not found:
                missing.setdefault(program, service.name)
    if missing:
        listing = "; ".join(f"{prog!r} (service {svc!r})" for prog, svc in missing.items())
        raise ColdstartError(
            f"{loaded.path}: program not found: {listing}. Is it installed and on PATH?"
        )


# One trial --------------------------------------------------------------------------


def _identity(trial: TrialSpec, run_id: str) -> dict[str, Any]:
    """The fields that say which trial a record is."""
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "trial": trial.index,
        "variant": trial.variant.id,
        "factors": dict(trial.variant.factors),
        "repetition": trial.repetition,
        "warmup": trial.warmup,
    }


def skipped_trial(trial: TrialSpec, run_id: str, reason: str) -> TrialRecord:
    """The record of a trial that was not run because its variant cannot run here."""
    return TrialRecord(
        **_identity(trial, run_id),
        status="skipped",
        started_at=utc_now(),
        t0_ns=time.perf_counter_ns(),
        error=reason,
    )


def run_trial(
    loaded: LoadedScenario,
    trial: TrialSpec,
    run_dir: Path,
    run_id: str,
    tls: TlsFiles | None,
    guardian: Guardian | None = None,
) -> TrialRecord:
    """Run one trial and return its record. Never raises for a failing target; raises only
    :class:`KeyboardInterrupt` (after tearing everything down)."""
    began = time.perf_counter_ns()
    started_at = utc_now()
    trial_dir = run_dir / "logs" / f"trial-{trial.index:04d}"
    trial_dir.mkdir(parents=True, exist_ok=True)
    ports = {s.name: s.port or free_port() for s in loaded.scenario.services}
    ctx = RenderContext(
        run_dir, trial_dir, loaded.path.parent.resolve(), sys.executable, ports, tls
    )
    setup = render_trial(loaded, trial, ctx)
    state = _TrialState()

    try:
        state.prepare_ms = _run_prepare(setup, trial_dir)
        state.page_cache_ms, state.extra = _set_page_cache(setup)
    except _SetupFailed as exc:
        state.fail("failed", str(exc))
    processes = TrialProcesses(guardian)
    if state.status == "ok":
        with Probe(setup.probe) as probe:
            probe.prime(list(setup.requests))
            try:
                TrialProcesses.check_ports(setup.services)
                t0 = processes.begin()
                for service in setup.services:
                    processes.start(service)
                _send_requests(probe, setup, t0, state, processes)
            except LaunchError as exc:
                state.fail(exc.status, str(exc))
            finally:
                teardown_began = time.perf_counter_ns()
                processes.stop_all()
                state.teardown_ms = ns_to_ms(time.perf_counter_ns() - teardown_began)

    for service in processes.services:
        dropped = cap_log(service.spec.log_path)
        if dropped:
            state.notes.append(
                f"service {service.spec.name!r}: output log capped, {dropped:,} bytes dropped "
                "from its middle"
            )
    t0 = processes.t0_ns if processes.t0_ns is not None else time.perf_counter_ns()
    services = tuple(p.record(run_dir) for p in processes.services)
    instances: Counter[str] = Counter()
    phases: list[PhaseRecord] = []
    for process in processes.services:  # a chaos restart adds a second instance
        name = instance_name(process.spec.name, instances[process.spec.name])
        instances[process.spec.name] += 1
        phases += read_phases(process.spec, t0, state.notes, name)
    for svc in services:
        if svc.survivors:
            state.notes.append(
                f"service {svc.name!r}: processes {list(svc.survivors)} survived teardown"
            )
    # Error messages carry log lines; a server that prints its API key must not put it
    # into trials.jsonl.
    secrets = secret_values(
        *(spec.env for spec in setup.services),
        *(req.headers for req in setup.requests),
        loaded.scenario.vars,
    )
    state.error = redact_text(state.error, secrets) if state.error else state.error
    state.notes = [redact_text(n, secrets) for n in state.notes]
    services = tuple(
        dataclasses.replace(s, error=redact_text(s.error, secrets)) if s.error else s
        for s in services
    )
    state.requests = [
        dataclasses.replace(r, error=redact_text(r.error, secrets)) if r.error else r
        for r in state.requests
    ]
    first = state.requests[0] if state.requests else None
    cold_ttft = None
    if first is not None and first.status == "ok" and first.ttft_ms is not None:
        cold_ttft = round(first.start_ms + first.ttft_ms, 4)
    return TrialRecord(
        **_identity(trial, run_id),
        status=state.status,
        started_at=started_at,
        t0_ns=t0,
        error=state.error,
        spawn_ms=services[0].spawn_ms if services else None,
        # the last service of the start-up (a chaos restart appends instances after it)
        ready_ms=services[len(setup.services) - 1].ready_ms
        if setup.services and len(services) >= len(setup.services)
        else None,
        cold_ttft_ms=cold_ttft,
        prepare_ms=state.prepare_ms,
        page_cache_ms=state.page_cache_ms,
        teardown_ms=state.teardown_ms,
        wall_ms=ns_to_ms(time.perf_counter_ns() - began),
        services=services,
        requests=tuple(state.requests),
        phases=tuple(phases),
        notes=tuple(state.notes),
        extra={**state.extra, "node": node_identity()},
    )


@dataclass
class _TrialState:
    status: Status = "ok"
    error: str | None = None
    prepare_ms: float | None = None
    page_cache_ms: float | None = None
    teardown_ms: float | None = None
    requests: list[RequestRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def fail(self, status: Status, error: str) -> None:
        if self.status == "ok":
            self.status, self.error = status, error


class _SetupFailed(Exception):
    pass


def _send_requests(
    probe: Probe,
    setup: TrialSetup,
    t0: int,
    state: _TrialState,
    processes: TrialProcesses | None = None,
) -> None:
    pause_s = setup.probe.pause_ms / 1000.0
    for i, request in enumerate(setup.requests):
        if i and pause_s:
            time.sleep(pause_s)
        if setup.chaos is not None and processes is not None and i == setup.chaos.at_request:
            record = _chaos(probe, setup, request, t0, state, processes)
        else:
            record = probe.send(request, t0)
        state.requests.append(record)
        if record.status != "ok":
            state.fail(record.status, f"request {record.index}: {record.error}")
            return


def _chaos(
    probe: Probe,
    setup: TrialSetup,
    request: RequestSpec,
    t0: int,
    state: _TrialState,
    processes: TrialProcesses,
) -> RequestRecord:
    """Restart (or kill) a service, then retry ``request`` until it succeeds; the recovery
    time runs from the action to the end of the first successful response."""
    chaos = setup.chaos
    assert chaos is not None
    began = time.perf_counter_ns()
    processes.restart(chaos.service, kill=chaos.action == "kill")
    restarted = time.perf_counter_ns()
    deadline = began + int(chaos.recovery_timeout_s * 1e9)
    failures: list[str] = []
    while True:
        record = probe.send(request, t0)
        if record.status == "ok" or time.perf_counter_ns() >= deadline:
            break
        failures.append(record.error or record.status)
        time.sleep(chaos.retry_interval_ms / 1000.0)
    done = time.perf_counter_ns()
    state.extra["chaos"] = {
        "service": chaos.service,
        "action": chaos.action,
        "at_request": chaos.at_request,
        "restart_ms": ns_to_ms(restarted - began) if chaos.action == "restart" else None,
        "recovered": record.status == "ok",
        "recovery_ms": ns_to_ms(done - began) if record.status == "ok" else None,
        "failed_requests": len(failures),
        "first_errors": failures[:3],
    }
    return record


def _run_prepare(setup: TrialSetup, trial_dir: Path) -> float | None:
    if not setup.prepare:
        return None
    began = time.perf_counter_ns()
    for i, argv in enumerate(setup.prepare):
        try:
            run_logged(argv, trial_dir / "prepare.log", _PREPARE_TIMEOUT_S, f"prepare[{i}]")
        except CommandFailed as exc:
            raise _SetupFailed(str(exc)) from None
    return ns_to_ms(time.perf_counter_ns() - began)


def _set_page_cache(setup: TrialSetup) -> tuple[float | None, dict[str, Any]]:
    if not setup.page_cache_mode:
        return None, {}
    began = time.perf_counter_ns()
    try:
        files = page_cache.expand(setup.page_cache_files)
        nbytes = (
            page_cache.evict(files) if setup.page_cache_mode == "cold" else page_cache.warm(files)
        )
    except (page_cache.PageCacheError, OSError) as exc:
        raise _SetupFailed(str(exc)) from None
    elapsed = ns_to_ms(time.perf_counter_ns() - began)
    resident = page_cache.resident_fraction(files)
    return elapsed, {
        "page_cache": {
            "mode": setup.page_cache_mode,
            "files": len(files),
            "bytes": nbytes,
            "resident_before_spawn": None if resident is None else round(resident, 4),
        }
    }


def read_phases(
    spec: ServiceSpec, t0_ns: int, notes: list[str], service: str | None = None
) -> list[PhaseRecord]:
    """Phases a target appended to its ``COLDSTART_PHASES`` file, placed on the trial's
    timeline and recorded under ``service`` (the instance's name, see
    :func:`records.instance_name`; the spec's name by default). Lines that do not follow
    the protocol are skipped with a note."""
    path = spec.phases_path
    if not path.exists():
        return []
    service = service or spec.name
    phases: list[PhaseRecord] = []
    bad = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            start, end = int(data["start_ns"]), int(data["end_ns"])
            name = str(data["phase"])
            nbytes = data.get("bytes")
            nbytes = int(nbytes) if isinstance(nbytes, int) and nbytes >= 0 else None
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            bad += 1
            continue
        phases.append(
            PhaseRecord(service, name, ns_to_ms(start - t0_ns), ns_to_ms(end - t0_ns), nbytes)
        )
    if bad:
        notes.append(
            f"service {spec.name!r}: {bad} line(s) of its phases file are not "
            '{"phase": ..., "start_ns": ..., "end_ns": ...} and were skipped'
        )
    return phases
