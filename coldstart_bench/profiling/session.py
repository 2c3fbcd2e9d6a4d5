"""``coldstart profile``: cold trials of one variant with a profiler attached from the
first instruction, stopped at ready or at the first token, and the hot spots it found.

Each profiler gets its own trials (they would distort each other), plus as many without
any, so the profiler's own overhead is on the table too (medians over ``repetitions``
trials each). py-spy's samples are pooled over its trials; pyinstrument and the import
times come from the trial with the median time. Everything lands in ``results/<run-id>/``:
``profiles/`` holds the artifacts, ``runs/<profiler>/`` the ordinary run directories of the
trials (``coldstart report`` works on them).
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from coldstart_bench.analysis.stats import median
from coldstart_bench.errors import ColdstartError
from coldstart_bench.profiling.importtime import import_chart, import_times
from coldstart_bench.profiling.stacks import (
    HotSpot,
    flame_svg,
    hot_spots,
    read_collapsed,
    write_collapsed,
    write_speedscope,
)
from coldstart_bench.profiling.wrap import profiled_scenario, trial_file
from coldstart_bench.results.redact import redact_argv, redact_text
from coldstart_bench.results.schema import TrialRecord
from coldstart_bench.results.store import atomic_write_text, new_run_dir
from coldstart_bench.run.session import RunOptions, run_scenario
from coldstart_bench.scenario.matrix import filter_variants
from coldstart_bench.scenario.reader import LoadedScenario

PROFILERS: tuple[str, ...] = ("py-spy", "pyinstrument", "importtime")
UNTIL: tuple[str, ...] = ("ready", "first-token")


@dataclass
class ProfileResult:
    profiler: str
    status: str  # "ok", "skipped", "failed"
    message: str = ""
    files: list[Path] = field(default_factory=list)
    hot: list[HotSpot] = field(default_factory=list)
    trials: list[TrialRecord] = field(default_factory=list)
    unit: str = "samples"

    @property
    def trial(self) -> TrialRecord | None:
        """The trial whose artifacts are shown: the one with the median time."""
        return _median_trial(self.trials)


@dataclass
class ProfileSession:
    run_dir: Path
    variant: str
    until: str
    baselines: list[TrialRecord]
    results: list[ProfileResult]

    @property
    def baseline(self) -> TrialRecord | None:
        return _median_trial(self.baselines)

    def measured_ms(self, trials: Sequence[TrialRecord]) -> float | None:
        """Median time to ready (``--until ready``) or cold TTFT over the ok trials."""
        values = [v for v in (_measured(t, self.until) for t in trials) if v is not None]
        return median(values)


def _measured(trial: TrialRecord, until: str) -> float | None:
    if trial.status != "ok":
        return None
    return trial.cold_ttft_ms if until == "first-token" else trial.ready_ms


def _median_trial(trials: Sequence[TrialRecord], until: str | None = None) -> TrialRecord | None:
    """The ok trial with the median time (the lower middle of an even count), else the last
    trial; ``until`` None ranks by cold TTFT where every ok trial has one, else by ready."""
    ok = [t for t in trials if t.status == "ok"]
    if not ok:
        return trials[-1] if trials else None
    if until is None:
        until = "first-token" if all(t.cold_ttft_ms is not None for t in ok) else "ready"
    ranked = sorted(ok, key=lambda t: _measured(t, until) or 0.0)
    return ranked[(len(ranked) - 1) // 2]


# The session ----------------------------------------------------------------------------


def _trials(
    loaded: LoadedScenario,
    variant_filters: Mapping[str, Sequence[str]],
    runs: Path,
    name: str,
    repetitions: int,
) -> list[TrialRecord]:
    outcome = run_scenario(
        loaded,
        RunOptions(
            results_dir=runs,
            run_id=name,
            repetitions=repetitions,
            warmup_trials=0,
            variants=variant_filters,
            record_torch=False,
        ),
    )
    return list(outcome.trials)


def run_profile(
    loaded: LoadedScenario,
    variant_filters: Mapping[str, Sequence[str]],
    profilers: Sequence[str],
    until: str = "ready",
    results_dir: Path = Path("results"),
    run_id: str | None = None,
    top: int = 15,
    repetitions: int = 1,
) -> ProfileSession:
    if repetitions < 1:
        raise ColdstartError("--repetitions must be at least 1")
    variants = filter_variants(loaded.variants, variant_filters)
    if not variants:
        choices = ", ".join(v.id for v in loaded.variants)
        raise ColdstartError(f"--variant matches none of the scenario's variants ({choices})")
    variant = variants[0]
    pinned = {k: [v] for k, v in variant.factors.items()}  # exactly this one variant
    run_dir = new_run_dir(results_dir, f"{loaded.name}-profile", run_id).resolve()
    profiles, runs = run_dir / "profiles", run_dir / "runs"
    profiles.mkdir()

    plain = profiled_scenario(loaded, None, profiles, until)
    assert not isinstance(plain, str)
    baselines = _trials(plain, pinned, runs, "none", repetitions)
    results = []
    for profiler in profilers:
        wrapped = profiled_scenario(loaded, profiler, profiles, until)
        if isinstance(wrapped, str):
            results.append(ProfileResult(profiler, "skipped", wrapped))
            continue
        trials = _trials(wrapped, pinned, runs, profiler, repetitions)
        ok = any(t.status == "ok" for t in trials)
        result = ProfileResult(profiler, "ok" if ok else "failed", trials=trials)
        try:
            _collect(result, run_dir, profiles, top)
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            result.status, result.message = "failed", f"{type(exc).__name__}: {exc}"
        results.append(result)
    session = ProfileSession(run_dir, variant.id, until, baselines, results)
    atomic_write_text(run_dir / "profile.json", json.dumps(_summary(session), indent=2))
    from coldstart_bench.report.build import build_report

    # One report with the timings of the plain trials and the profiles beside them.
    build_report(runs / "none", run_dir / "report", ["html"])
    return session


def _log_of(trial: TrialRecord, run_dir: Path, profiler: str) -> Path | None:
    service = trial.services[-1] if trial.services else None
    if service is None or not service.log:
        return None
    return run_dir / "runs" / profiler / service.log


def _collect(result: ProfileResult, run_dir: Path, profiles: Path, top: int) -> None:
    shown = result.trial
    if shown is None:
        return
    log = _log_of(shown, run_dir, result.profiler)
    log_text = log.read_text(errors="replace") if log and log.exists() else ""
    if result.profiler == "py-spy":
        # Pooled over every trial: more samples, the same cold start each time.
        stacks: Counter[tuple[str, ...]] = Counter()
        for trial in result.trials:
            part = trial_file(profiles, "py-spy", "raw.txt", trial)
            if part.exists():
                stacks.update(read_collapsed(part))
                part.unlink()  # it holds py-spy's recorded command lines (secrets, maybe)
        if not stacks:
            result.status = "failed"
            result.message = _py_spy_problem(log_text)
            return
        raw = profiles / "py-spy.raw.txt"
        write_collapsed(stacks, raw)
        result.hot = hot_spots(stacks, top)
        speedscope, svg = profiles / "py-spy.speedscope.json", profiles / "py-spy.flame.svg"
        runs = f"{len(result.trials)} cold starts" if len(result.trials) > 1 else "cold start"
        write_speedscope(stacks, speedscope, f"{runs} of {shown.variant}")
        atomic_write_text(
            svg,
            flame_svg(stacks, f"py-spy: {runs} of {shown.variant}, {sum(stacks.values())} samples"),
        )
        result.files = [raw, speedscope, svg]
    elif result.profiler == "pyinstrument":
        chosen = trial_file(profiles, "pyinstrument", "pyisession", shown)
        if not chosen.exists():
            result.status, result.message = "failed", "pyinstrument wrote no profile"
            return
        session_file = profiles / "pyinstrument.pyisession"
        _redact_pyinstrument_session(chosen, session_file)
        for trial in result.trials:  # the others' command lines would stay unredacted
            trial_file(profiles, "pyinstrument", "pyisession", trial).unlink(missing_ok=True)
        outputs = []
        for renderer, suffix in (("html", "html"), ("text", "txt")):
            out = profiles / f"pyinstrument.{suffix}"
            subprocess.run(
                [*_pyinstrument_cmd(), "--load", str(session_file), "-r", renderer, "-o", str(out)],
                check=True,
                capture_output=True,
                timeout=120,
            )
            outputs.append(out)
        result.files = [session_file, *outputs]
        result.message = f"text summary: {outputs[1]}"
    elif result.profiler == "importtime":
        result.unit = "µs"
        result.hot = import_times(log_text, top)
        if not result.hot:
            result.status, result.message = "failed", "no -X importtime lines in the service log"
            return
        chart = profiles / "importtime.png"
        import_chart(result.hot, chart)
        table = profiles / "importtime.txt"
        atomic_write_text(
            table,
            "\n".join(f"{h.total_value:>10.0f} {h.self_value:>10.0f}  {h.name}" for h in result.hot)
            + "\n",
        )
        result.files = [table, chart]


def _redact_pyinstrument_session(source: Path, target: Path) -> None:
    """pyinstrument keeps the profiled command line ("Program: ...") and shows it in its
    HTML and text; secret-looking flag values and tokens are hidden before either is made."""
    data = json.loads(source.read_text(encoding="utf-8"))
    described = data.get("target_description")
    if isinstance(described, str):
        data["target_description"] = redact_text(" ".join(redact_argv(described.split(" "))))
    atomic_write_text(target, json.dumps(data))


def _pyinstrument_cmd() -> list[str]:
    return [sys.executable, "-m", "pyinstrument"]


def _py_spy_problem(log_text: str) -> str:
    text = log_text.lower()
    if "permission" in text or "ptrace" in text or "operation not permitted" in text:
        return (
            "py-spy could not attach: no ptrace permission. In a container, run it with "
            "--cap-add SYS_PTRACE (docker) or securityContext.capabilities.add: [SYS_PTRACE] "
            "(Kubernetes); on a host, sysctl kernel.yama.ptrace_scope=0 or run as root"
        )
    return "py-spy wrote no samples (see the service log in runs/py-spy)"


def ok_count(trials: Sequence[TrialRecord]) -> int:
    return sum(t.status == "ok" for t in trials)


def _summary(session: ProfileSession) -> dict:
    return {
        "schema_version": 1,
        "variant": session.variant,
        "until": session.until,
        "repetitions": len(session.baselines),
        "baseline_ms": session.measured_ms(session.baselines),
        "baseline_n": ok_count(session.baselines),
        "profilers": [
            {
                "profiler": r.profiler,
                "status": r.status,
                "message": r.message,
                "measured_ms": session.measured_ms(r.trials),
                "n": ok_count(r.trials),
                "files": [str(f.relative_to(session.run_dir)) for f in r.files],
                "unit": r.unit,
                "hot": [dataclasses.asdict(h) for h in r.hot],
            }
            for r in session.results
        ],
    }
