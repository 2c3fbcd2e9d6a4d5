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
import html
import json
import os
import re
import shutil
import statistics
import subprocess
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from coldstart_bench.errors import ColdstartError
from coldstart_bench.plan import filter_variants
from coldstart_bench.records import TrialRecord
from coldstart_bench.results import atomic_write_text, new_run_dir
from coldstart_bench.runner import RunOptions, run_scenario
from coldstart_bench.scenario import LoadedScenario
from coldstart_bench.sysinfo import redact_argv, redact_text

PROFILERS: tuple[str, ...] = ("py-spy", "pyinstrument", "importtime")
UNTIL: tuple[str, ...] = ("ready", "first-token")
PY_SPY_RATE = 250  # samples per second


@dataclass(frozen=True)
class HotSpot:
    name: str
    self_value: float  # samples (py-spy) or µs (importtime)
    total_value: float
    self_share: float  # of all samples / of all import time
    total_share: float


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
        return statistics.median(values) if values else None


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


# Wrapping the measured service ------------------------------------------------------------


def _literal(path: Path) -> str:
    """A path as a scenario string: braces escaped so templating leaves it alone."""
    return str(path).replace("{", "{{").replace("}", "}}")


def _is_python(program: str) -> bool:
    name = os.path.basename(program)
    return program == "{python}" or re.fullmatch(r"python[0-9.]*", name) is not None


def pyinstrument_argv(argv: Sequence[str], session_file: str) -> list[str] | None:
    """The command run under pyinstrument, or None for a target that is not Python.
    ``session_file`` is a scenario string (it may hold ``{trial}``)."""
    if not argv or not _is_python(argv[0]) or len(argv) < 2:
        return None
    rest = list(argv[1:])
    if rest[0] != "-m" and not rest[0].endswith(".py"):
        return None
    head = [argv[0], "-m", "pyinstrument", "-r", "pyisession", "-o", session_file]
    return head + rest


def _per_trial(profiles: Path, stem: str, suffix: str) -> str:
    """A scenario string naming one artifact per trial: profiles/STEM.{trial}.SUFFIX."""
    return _literal(profiles / stem) + ".{trial}." + suffix


def _trial_file(profiles: Path, stem: str, suffix: str, trial: TrialRecord) -> Path:
    return profiles / f"{stem}.{trial.trial}.{suffix}"


def _profiled_scenario(
    loaded: LoadedScenario, profiler: str | None, profiles: Path, until: str
) -> LoadedScenario | str:
    """The scenario with its measured service wrapped for ``profiler``; a string says why
    it cannot be done."""
    scenario = loaded.scenario
    measured = scenario.measured_service
    service = measured.model_copy()
    if profiler == "py-spy":
        py_spy = shutil.which("py-spy")
        if py_spy is None:
            return "py-spy is not installed (pip install py-spy)"
        service = service.model_copy(
            update={
                "command": [
                    py_spy,
                    "record",
                    "-f",
                    "raw",
                    "-o",
                    _per_trial(profiles, "py-spy", "raw.txt"),
                    "--rate",
                    str(PY_SPY_RATE),
                    "--subprocesses",
                    "--",
                    *service.command,
                ],
                "stop_signal": "SIGINT",  # py-spy writes its output on SIGINT
                "stop_grace_s": 30.0,
            }
        )
    elif profiler == "pyinstrument":
        argv = pyinstrument_argv(
            service.command, _per_trial(profiles, "pyinstrument", "pyisession")
        )
        if argv is None:
            return (
                f"pyinstrument profiles Python programs started as 'python -m MODULE' or "
                f"'python SCRIPT.py'; service {service.name!r} runs {service.command[0]!r}"
            )
        service = service.model_copy(
            update={"command": argv, "stop_signal": "SIGINT", "stop_grace_s": 30.0}
        )
    elif profiler == "importtime":
        service = service.model_copy(
            update={"env": {**service.env, "PYTHONPROFILEIMPORTTIME": "1"}}
        )
    services = [service if s.name == measured.name else s for s in scenario.services]
    requests = scenario.requests
    if requests is not None:
        if until == "ready":
            requests = requests.model_copy(update={"count": 0})
        else:
            updates: dict[str, object] = {"count": 1}
            if requests.kind != "http":
                updates["max_tokens"] = 1
            requests = requests.model_copy(update=updates)
    new = scenario.model_copy(
        update={"services": services, "requests": requests, "warmup_trials": 0}
    )
    return dataclasses.replace(loaded, scenario=new)


# py-spy samples -------------------------------------------------------------------------


_PROCESS_PREFIX = re.compile(r'^process \d+:(".*?";|[^;]*;)')


def write_collapsed(stacks: Mapping[tuple[str, ...], int], path: Path) -> None:
    atomic_write_text(path, "".join(f"{';'.join(s)} {n}\n" for s, n in stacks.items()))


def read_collapsed(path: Path) -> Counter[tuple[str, ...]]:
    """py-spy's raw output: one ``frame;frame;...;frame COUNT`` line per distinct stack,
    root first. Process and thread markers are dropped."""
    stacks: Counter[tuple[str, ...]] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        # With --subprocesses a stack starts with 'process PID:"its command line";' — the
        # command line may hold ';' (and secrets), so it goes as a whole.
        stack = _PROCESS_PREFIX.sub("", stack)
        frames = tuple(
            f.strip() for f in stack.split(";") if f.strip() and not f.startswith("thread ")
        )
        if frames:
            stacks[frames] += int(count)
    return stacks


def _function(frame: str) -> str:
    """'load_weights (coldstart_bench/target/weights.py:231)' → without the line number."""
    return re.sub(r":\d+\)$", ")", frame)


def hot_spots(stacks: Mapping[tuple[str, ...], int], top: int = 15) -> list[HotSpot]:
    total = sum(stacks.values()) or 1
    self_counts: Counter[str] = Counter()
    total_counts: Counter[str] = Counter()
    for stack, count in stacks.items():
        names = [_function(f) for f in stack]
        self_counts[names[-1]] += count
        for name in set(names):
            total_counts[name] += count
    ranked = sorted(total_counts, key=lambda n: (-self_counts[n], -total_counts[n]))
    return [
        HotSpot(n, self_counts[n], total_counts[n], self_counts[n] / total, total_counts[n] / total)
        for n in ranked[:top]
    ]


def write_speedscope(stacks: Mapping[tuple[str, ...], int], path: Path, name: str) -> None:
    frames: dict[str, int] = {}
    samples, weights = [], []
    for stack, count in stacks.items():
        samples.append([frames.setdefault(f, len(frames)) for f in stack])
        weights.append(count)
    document = {
        "$schema": "https://www.speedscope.app/file-format-schema.json",
        "shared": {"frames": [{"name": f} for f in frames]},
        "profiles": [
            {
                "type": "sampled",
                "name": name,
                "unit": "none",
                "startValue": 0,
                "endValue": sum(weights),
                "samples": samples,
                "weights": weights,
            }
        ],
        "exporter": "coldstart-bench",
    }
    atomic_write_text(path, json.dumps(document))


def flame_svg(stacks: Mapping[tuple[str, ...], int], title: str, width: int = 1200) -> str:
    """An icicle-style flame graph (root on top), every frame name escaped; no script."""
    tree: dict = {"count": 0, "children": {}}
    for stack, count in stacks.items():
        node = tree
        node["count"] += count
        for frame in stack:
            node = node["children"].setdefault(frame, {"count": 0, "children": {}})
            node["count"] += count
    total = tree["count"] or 1
    row, rects = 16, []
    palette = ("#E69F00", "#F0C05A", "#D55E00", "#E8A87C", "#CC79A7")

    def walk(node: dict, x: float, depth: int) -> int:
        deepest = depth
        for i, (frame, child) in enumerate(sorted(node["children"].items())):
            w = child["count"] / total * width
            if w >= 0.5:
                label = html.escape(
                    frame if len(frame) * 6.5 < w else frame[: max(int(w / 6.5) - 1, 0)]
                )
                tip = html.escape(
                    f"{frame} — {child['count']} samples ({child['count'] / total:.1%})"
                )
                y = 24 + depth * row
                rects.append(
                    f'<g><title>{tip}</title><rect x="{x:.1f}" y="{y}" width="{w:.1f}" '
                    f'height="{row - 1}" fill="{palette[(depth + i) % len(palette)]}"/>'
                    + (f'<text x="{x + 2:.1f}" y="{y + 12}">{label}</text>' if label else "")
                    + "</g>"
                )
                deepest = max(deepest, walk(child, x, depth + 1))
            x += w
        return deepest

    depth = walk(tree, 0.0, 0)
    height = 24 + (depth + 1) * row + 8
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="monospace" font-size="11">'
        f'<text x="4" y="16" font-size="13">{html.escape(title)}</text>'
        + "".join(rects)
        + "</svg>\n"
    )


# importtime -----------------------------------------------------------------------------

_IMPORT_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S.*)$")


def import_times(log_text: str, top: int = 20) -> list[HotSpot]:
    """``-X importtime`` lines → the slowest imports by cumulative time (µs)."""
    rows = []
    for line in log_text.splitlines():
        match = _IMPORT_LINE.match(line)
        if match:
            rows.append(
                (
                    match.group(4).strip(),
                    int(match.group(1)),
                    int(match.group(2)),
                    len(match.group(3)),
                )
            )
    total = sum(self_us for _name, self_us, _cum, _indent in rows) or 1
    ranked = sorted(rows, key=lambda r: -r[2])[:top]
    return [HotSpot(n, s, c, s / total, c / total) for n, s, c, _i in ranked]


def import_chart(hot: Sequence[HotSpot], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from coldstart_bench.report.plots import OKABE_ITO

    fig, ax = plt.subplots(figsize=(10, max(3.0, 0.35 * len(hot) + 1.2)), layout="constrained")
    names = [h.name for h in hot]
    ax.barh(
        range(len(hot)), [h.total_value / 1000 for h in hot], color=OKABE_ITO[0], label="cumulative"
    )
    ax.barh(range(len(hot)), [h.self_value / 1000 for h in hot], color=OKABE_ITO[1], label="self")
    ax.set_yticks(range(len(hot)), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("milliseconds (python -X importtime)")
    ax.set_title("Slowest imports of the server's start-up")
    ax.legend()
    ax.grid(axis="x", alpha=0.3)
    fig.savefig(path, dpi=110)
    plt.close(fig)


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

    plain = _profiled_scenario(loaded, None, profiles, until)
    assert not isinstance(plain, str)
    baselines = _trials(plain, pinned, runs, "none", repetitions)
    results = []
    for profiler in profilers:
        wrapped = _profiled_scenario(loaded, profiler, profiles, until)
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
            part = _trial_file(profiles, "py-spy", "raw.txt", trial)
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
        chosen = _trial_file(profiles, "pyinstrument", "pyisession", shown)
        if not chosen.exists():
            result.status, result.message = "failed", "pyinstrument wrote no profile"
            return
        session_file = profiles / "pyinstrument.pyisession"
        _redact_pyinstrument_session(chosen, session_file)
        for trial in result.trials:  # the others' command lines would stay unredacted
            _trial_file(profiles, "pyinstrument", "pyisession", trial).unlink(missing_ok=True)
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
    import sys

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
