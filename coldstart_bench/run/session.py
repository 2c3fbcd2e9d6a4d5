"""Run a scenario: plan its trials (variant × repetition, in a seeded interleaved order),
check what can run here, run the setup, hand the trials to an executor, and append each
record to ``trials.jsonl`` the moment it is finished."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import random
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from coldstart_bench._version import __version__
from coldstart_bench.errors import ColdstartError, ResultsNotWritable
from coldstart_bench.host.accounting import remove_stale, support
from coldstart_bench.plan.order import TrialSpec, check_size, plan_trials, shard_trials
from coldstart_bench.plan.render import needs_tls_files, run_level_context, uses_cpu_variables
from coldstart_bench.plan.specs import TlsFiles
from coldstart_bench.proc.guardian import Guardian
from coldstart_bench.proc.signals import Interrupted, interrupts_as_exceptions
from coldstart_bench.results.environment import environment
from coldstart_bench.results.redact import redact_argv, redact_scenario
from coldstart_bench.results.schema import (
    BUSY_OTHERS_SHARE,
    FAILED_STATUSES,
    STATUSES,
    TrialRecord,
)
from coldstart_bench.results.store import (
    UNWRITABLE_ERRNOS,
    RunWriter,
    new_run_dir,
    not_writable,
    utc_now,
)
from coldstart_bench.run.executors import Executor, LocalExecutor
from coldstart_bench.run.give_up import GiveUp
from coldstart_bench.run.machine import CpuShare, cpu_share
from coldstart_bench.run.setup import SetupError, check_programs, run_setup, unmet_requirements
from coldstart_bench.run.tls import make_throwaway_tls
from coldstart_bench.run.trial import RunContext, skipped_trial
from coldstart_bench.scenario.matrix import Variant, filter_variants
from coldstart_bench.scenario.reader import LoadedScenario, read_scenario


class RunObserver(Protocol):
    """Told about progress; the CLI draws a progress bar with it. ``trial_started`` comes
    only where the executor knows when a trial starts (not on a Ray cluster)."""

    def run_started(self, run_dir: Path, trials: Sequence[TrialSpec]) -> None: ...
    def setup_started(self, argv: Sequence[str]) -> None: ...
    def trial_started(self, trial: TrialSpec) -> None: ...
    def trial_finished(self, trial: TrialSpec, record: TrialRecord) -> None: ...


class StopRule(Protocol):
    """Decides, from the records so far, whether the run has measured enough."""

    def describe(self) -> dict[str, Any]: ...
    def __call__(self, records: Sequence[TrialRecord]) -> str | None: ...


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
    executor: Executor | None = None  # where trials run; None: LocalExecutor()
    allow_large: bool = False  # run more than MAX_VARIANTS variants or MAX_TRIALS trials
    calibrate: bool = True  # measure the machine's speed before each trial (run/machine.py)
    # Asked after every trial with the records so far; a reason to stop ends the run there
    # (a sequential A/B that has decided). Its description goes into run.json.
    stop_rule: StopRule | None = None
    # Run every trial even when they keep failing the same way (run/give_up.py).
    keep_going: bool = False
    # The services' CPU work and memory: "auto" (a cgroup per service where one can be
    # made, else the process table), "proc" (the process table), "off".
    accounting: str = "auto"


@dataclass
class RunOutcome:
    run_dir: Path
    run_id: str
    status: str  # "complete" or "interrupted" (the others raise: see run.json's status)
    trials: list[TrialRecord]
    variants: list[str]
    interrupted_by: str | None = None
    exit_code: int = 0
    stopped_early: str | None = None  # why the stop rule ended the run before its plan did
    gave_up: str | None = None  # why the run stopped: its trials kept failing the same way


@dataclass(frozen=True)
class _Plan:
    variants: list[Variant]
    seed: int
    repetitions: int
    warmups: int
    trials: list[TrialSpec]


def run_scenario(
    scenario: LoadedScenario | str | Path,
    options: RunOptions | None = None,
    observer: RunObserver | None = None,
) -> RunOutcome:
    """Run every trial of a scenario and write ``results/<run-id>/``. Returns when all trials
    are done or the run was interrupted (SIGINT/SIGTERM); finished trials are kept either way."""
    loaded = scenario if isinstance(scenario, LoadedScenario) else read_scenario(scenario)
    options = options or RunOptions()
    executor = options.executor or LocalExecutor()
    if options.stop_rule is not None and (executor.name == "ray" or options.shard):
        raise ColdstartError(
            "a run that stops itself (--sequential) runs its trials here, one after another: "
            "not with --executor ray or --shard"
        )
    plan = _plan(loaded, options)
    # Measured before anything of the run starts, so that only other work counts as busy.
    named = uses_cpu_variables(loaded)
    share = cpu_share() if named or options.calibrate else None
    cpus = (share.usable, share.free) if share is not None and named else None
    guardian = Guardian()  # started before the first process of the run, whichever it is
    if options.accounting == "auto":
        remove_stale()  # groups a killed harness could not remove
    try:
        run_dir, skipped = _checked_run_dir(loaded, options, plan.variants, guardian, cpus)
        tls = _tls_files(loaded, run_dir)
        metadata = _metadata(loaded, plan, options, executor, skipped, run_dir.name)
        if share is not None:
            metadata["cpus"] = dataclasses.asdict(share)
        writer = RunWriter(run_dir, metadata)
    except BaseException:
        guardian.close(kill_leftovers=True)
        raise
    context = RunContext(
        loaded, run_dir, run_dir.name, tls, guardian, options.calibrate, cpus, options.accounting
    )
    records: list[TrialRecord] = []
    by_index = {t.index: t for t in plan.trials}

    def started(trial: TrialSpec) -> None:
        if observer:
            observer.trial_started(trial)

    def finished(record: TrialRecord) -> None:
        writer.append(record)
        records.append(record)
        if observer:
            observer.trial_finished(by_index[record.trial], record)

    if observer:
        observer.run_started(run_dir, plan.trials)
        for line in start_notes(share, named, options.accounting):
            getattr(observer, "note", lambda _text: None)(line)
    status, interrupted_by, exit_code = "complete", None, 0
    stopped_early: str | None = None
    gave_up: str | None = None
    give_up = None if options.keep_going else GiveUp()
    try:
        with interrupts_as_exceptions():
            _setup(loaded, plan, skipped, context, observer)
            for trial in plan.trials:  # nothing to run: recorded at once
                if trial.variant.id in skipped:
                    started(trial)
                    finished(skipped_trial(trial, context.run_id, skipped[trial.variant.id]))
            runnable = [t for t in plan.trials if t.variant.id not in skipped]
            with contextlib.closing(executor.execute(context, runnable, started)) as results:
                for record in results:
                    finished(record)
                    if give_up is not None:
                        gave_up = give_up.after(record)
                        if gave_up is not None:
                            status = "gave-up"
                            break
                    if options.stop_rule is not None:
                        stopped_early = options.stop_rule(records)
                        if stopped_early is not None:
                            break
    except Interrupted as exc:
        status, interrupted_by, exit_code = "interrupted", str(exc), exc.exit_code
    except KeyboardInterrupt:
        status, interrupted_by, exit_code = "interrupted", "SIGINT", 130
    except SetupError:
        status = "setup-failed"
        raise
    except (ResultsNotWritable, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno not in UNWRITABLE_ERRNOS:
            status = "crashed"
            raise
        status = "results-unwritable"
        cause = exc if isinstance(exc, ResultsNotWritable) else not_writable(exc, run_dir)
        raise ResultsNotWritable(
            f"{cause} — the run stopped after {len(records)} trial(s), kept whole in "
            f"{run_dir / 'trials.jsonl'}; run.json says how it ended"
        ) from None
    except BaseException:
        status = "crashed"
        raise
    finally:
        if context.guardian is not None:
            context.guardian.close(kill_leftovers=status in ("crashed", "setup-failed"))
        try:
            _finish(writer, records, status, interrupted_by, stopped_early, gave_up)
        except ResultsNotWritable:
            if status != "results-unwritable":  # else the error on its way out says it
                raise
    failed = any(r.status in FAILED_STATUSES for r in records if not r.warmup)
    if status == "gave-up" or (status == "complete" and failed):
        exit_code = 1
    return RunOutcome(
        run_dir=run_dir,
        run_id=context.run_id,
        status=status,
        trials=records,
        variants=[v.id for v in plan.variants],
        interrupted_by=interrupted_by,
        exit_code=exit_code,
        stopped_early=stopped_early,
        gave_up=gave_up,
    )


def _plan(loaded: LoadedScenario, options: RunOptions) -> _Plan:
    """The trials this run (or this shard of it) will run, in order."""
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
    check_size(len(variants), len(variants) * (repetitions + warmups), options.allow_large)
    trials = plan_trials(variants, repetitions, warmups, seed)
    if options.shard is not None:
        index, count = options.shard
        if not 1 <= index <= count:
            raise ColdstartError(f"--shard {index}/{count}: I must be between 1 and N")
        if options.seed is None and spec.seed is None:
            raise ColdstartError(
                "--shard needs a fixed trial order: give --seed S (the same for every shard) "
                "or set seed in the scenario"
            )
        trials = shard_trials(trials, index, count)
    return _Plan(variants, seed, repetitions, warmups, trials)


def start_notes(share: CpuShare | None, named: bool, accounting: str = "off") -> list[str]:
    """What the run says of its machine as it starts: what {free_cpus} came to, a machine
    already busy with other work, and how the services' CPU work will be counted."""
    notes = [share.sentence()] if share is not None and named else []
    if accounting == "auto":
        notes.append(support())
    if share is not None and share.busy_share is not None and share.busy_share >= BUSY_OTHERS_SHARE:
        notes.append(
            f"the machine is busy: other work keeps {share.busy_share:.0%} of its CPUs busy; "
            "times will be inflated, and comparisons with runs on a quieter machine unreliable"
        )
    return notes


def _checked_run_dir(
    loaded: LoadedScenario,
    options: RunOptions,
    variants: Sequence[Variant],
    guardian: Guardian,
    cpus: tuple[int, int] | None,
) -> tuple[Path, dict[str, str]]:
    """Run the ``requires`` checks and refuse missing programs, then (only then) create
    the run directory. Returns it and the variants that cannot run here, with why."""
    with tempfile.TemporaryDirectory(prefix="coldstart-requires-") as tmp:
        checks_log = Path(tmp) / "requires.log"
        context = run_level_context(loaded, Path(tmp), None, cpus)
        skipped = unmet_requirements(loaded, variants, context, checks_log, guardian)
        check_programs(loaded, [v for v in variants if v.id not in skipped])
        run_dir = new_run_dir(options.results_dir, loaded.name, options.run_id).resolve()
        (run_dir / "logs").mkdir()
        if checks_log.exists():
            shutil.copyfile(checks_log, run_dir / "logs" / "requires.log")
    return run_dir, skipped


def _tls_files(loaded: LoadedScenario, run_dir: Path) -> TlsFiles | None:
    cfg = loaded.scenario.tls
    if not needs_tls_files(loaded) or (cfg.cert_file and cfg.key_file and cfg.ca_file):
        return None
    return make_throwaway_tls(run_dir / "tls")


def _metadata(
    loaded: LoadedScenario,
    plan: _Plan,
    options: RunOptions,
    executor: Executor,
    skipped: Mapping[str, str],
    run_id: str,
) -> dict[str, Any]:
    """``run.json`` as the run starts."""
    return {
        "run_id": run_id,
        "tool": "coldstart-bench",
        "tool_version": __version__,
        "status": "running",
        "started_at": utc_now(),
        "finished_at": None,
        "seed": plan.seed,
        "command": redact_argv(sys.argv),
        "executor": executor.name,
        "scenario": {
            "name": loaded.name,
            "path": str(loaded.path),
            "sha256": hashlib.sha256(loaded.text.encode("utf-8")).hexdigest(),
            # what the file says (defaults left out), and every value as run
            "as_written": redact_scenario(
                loaded.scenario.model_dump(mode="json", exclude_unset=True)
            ),
            "as_run": redact_scenario(loaded.scenario.model_dump(mode="json")),
        },
        "plan": {
            "variants": [{"id": v.id, "factors": dict(v.factors)} for v in plan.variants],
            "repetitions": plan.repetitions,
            "warmup_trials": plan.warmups,
            "trials": len(plan.trials),
            "order": [[t.variant.id, t.repetition, t.warmup] for t in plan.trials],
            "shard": list(options.shard) if options.shard else None,
        },
        "environment": environment(with_torch=options.record_torch),
        "skipped_variants": dict(skipped),
        "stop_rule": options.stop_rule.describe() if options.stop_rule is not None else None,
    }


def _setup(
    loaded: LoadedScenario,
    plan: _Plan,
    skipped: Mapping[str, str],
    context: RunContext,
    observer: RunObserver | None,
) -> None:
    runnable = [v for v in plan.variants if v.id not in skipped]
    run_setup(
        loaded,
        runnable,
        run_level_context(loaded, context.run_dir, context.tls, context.cpus),
        context.run_dir / "logs" / "setup.log",
        getattr(observer, "setup_started", None),
        context.guardian,
    )


def _finish(
    writer: RunWriter,
    records: Sequence[TrialRecord],
    status: str,
    interrupted_by: str | None,
    stopped_early: str | None = None,
    gave_up: str | None = None,
) -> None:
    """``run.json`` as the run ends: how it ended, the counts, and every variant skipped
    (an executor may skip more than the ``requires`` checks did, e.g. no GPU on a cluster)."""
    measured = [r for r in records if not r.warmup]
    counts = Counter(r.status for r in measured)
    skipped = dict(writer.metadata.get("skipped_variants") or {})
    for record in records:
        if record.status == "skipped":
            skipped.setdefault(record.variant, record.error or "")
    writer.finish(
        status=status,
        finished_at=utc_now(),
        interrupted_by=interrupted_by,
        counts={s: counts.get(s, 0) for s in STATUSES},
        trials_done=len(records),
        skipped_variants=skipped,
        stopped_early=stopped_early,
        gave_up=gave_up,
    )
