"""``coldstart report``: read a run directory, analyse it, and write the report files.

Works on any run that has a ``run.json``: complete, interrupted, or partly failed (only ok
measured trials feed the figures; failures get their own section).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from coldstart_bench.analysis import frames
from coldstart_bench.analysis.diagnostics import Diagnosis, diagnose
from coldstart_bench.analysis.effects import (
    Effect,
    declared_levels,
    effects_frame,
    factor_effects,
)
from coldstart_bench.analysis.load import load_points, rolling_latency
from coldstart_bench.analysis.phase_effects import phase_effects
from coldstart_bench.analysis.phases import (
    load_throughput,
    median_timelines,
    throughput_summary,
)
from coldstart_bench.analysis.requests import (
    connection_setup,
    request_index_summary,
)
from coldstart_bench.analysis.stats import BOOTSTRAP_RESAMPLES
from coldstart_bench.analysis.summary import (
    VariantSummary,
    failures,
    metric_summary,
    skipped_variants,
    stratify_by_node,
    summarise,
)
from coldstart_bench.errors import ColdstartError
from coldstart_bench.report import plots, tables
from coldstart_bench.report.headline import headline
from coldstart_bench.report.html import FailureView, Plot, ProfileView, render_html
from coldstart_bench.report.loadplot import load_picture
from coldstart_bench.report.waterfall import waterfall
from coldstart_bench.results.logs import log_tail
from coldstart_bench.results.redact import redact_text
from coldstart_bench.results.schema import TrialRecord
from coldstart_bench.results.store import RunData, atomic_write_bytes, atomic_write_text, load_run

FORMATS: tuple[str, ...] = ("html", "md", "csv", "png")

PLOT_TITLES: dict[str, str] = {
    "waterfall": "Where the cold start goes",
    "distribution": "Cold TTFT distribution",
    "requests": "TTFT by request",
    "connect": "Connection set-up: fresh vs reused",
    "idle": "TTFT after an idle gap",
    "effects": "What each toggle buys",
    "model_load": "Model-load throughput",
    "load": "Load on a cold replica",
}


@dataclass
class Report:
    run: RunData
    out_dir: Path
    rows: list[VariantSummary]
    effects: list[Effect]
    files: list[Path] = field(default_factory=list)
    phase_effects: list[Effect] = field(default_factory=list)  # on each start-up phase
    headline: str = ""
    diagnoses: list[Diagnosis] = field(default_factory=list)


def parse_formats(text: str | Iterable[str]) -> list[str]:
    items = text.split(",") if isinstance(text, str) else list(text)
    wanted = [f.strip().lower() for f in items if f.strip()]
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown or not wanted:
        raise ColdstartError(
            f"--format: unknown {', '.join(unknown) or '(empty)'}; choose from {', '.join(FORMATS)}"
        )
    return wanted


def _failure_views(run: RunData, found: Sequence) -> list[FailureView]:  # type: ignore[type-arg]
    by_trial = {t.trial: t for t in run.trials}
    views = []
    for f in found[:50]:
        tail = ""
        trial = by_trial.get(f.trial)
        if trial is not None:
            for svc in trial.services:
                if svc.log and svc.status != "ok":
                    tail = redact_text(log_tail(run.run_dir / svc.log))
                    break
        views.append(FailureView(f.trial, f.variant, f.status, f.error, tail))
    return views


def _profile_view(run_dir: Path, out: Path) -> ProfileView | None:
    """The profile session this run belongs to (``coldstart profile`` writes its baseline
    run under ``<session>/runs/none``), if any. The flame graph is embedded as an image
    (an SVG in an <img> runs no script), the pyinstrument page linked."""
    import json

    session = run_dir.parent.parent
    summary = session / "profile.json"
    if run_dir.parent.name != "runs" or not summary.exists():
        return None
    data = json.loads(summary.read_text(encoding="utf-8"))

    def fmt(value: float | None) -> str:
        return "—" if value is None else f"{value:,.1f}"

    def count(ok: int | None, total: int | None) -> str:
        return "—" if ok is None else f"{ok}/{total}"

    runs = data.get("repetitions")
    overhead = [("none", "ok", count(data.get("baseline_n"), runs), fmt(data.get("baseline_ms")))]
    hot, images, links, messages = [], [], [], []
    for p in data.get("profilers", []):
        overhead.append(
            (p["profiler"], p["status"], count(p.get("n"), runs), fmt(p.get("measured_ms")))
        )
        if p.get("message"):
            messages.append(f"{p['profiler']}: {p['message']}")
        if p.get("hot"):
            if p.get("unit") == "samples":
                rows = [
                    (h["name"], f"{h['self_share']:.1%}", f"{h['total_share']:.1%}")
                    for h in p["hot"]
                ]
            else:
                rows = [
                    (
                        h["name"],
                        f"{h['self_value'] / 1000:,.1f} ms",
                        f"{h['total_value'] / 1000:,.1f} ms",
                    )
                    for h in p["hot"]
                ]
            hot.append((p["profiler"], rows))
        for rel in p.get("files", []):
            path = session / rel
            if path.suffix == ".svg":
                images.append(
                    Plot(
                        path.stem,
                        "py-spy flame graph (root on top)",
                        path.read_bytes(),
                        "image/svg+xml",
                    )
                )
            elif path.suffix == ".png":
                images.append(Plot(path.stem, "slowest imports", path.read_bytes()))
            elif path.suffix in (".html", ".json", ".txt"):
                links.append((path.name, os.path.relpath(path, out)))
    return ProfileView(
        data.get("variant", ""), data.get("until", ""), overhead, hot, images, links, messages
    )


def build_report(
    run_dir: str | Path, out_dir: str | Path | None = None, formats: Sequence[str] = FORMATS
) -> Report:
    run = load_run(run_dir)
    out = Path(out_dir) if out_dir is not None else run.run_dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    planned = run.metadata.get("plan", {}).get("variants", [])
    declared = [v["id"] for v in planned]
    trials: list[TrialRecord] = stratify_by_node(run.trials)
    frame = frames.trials_frame(trials)
    order = frames.variant_order(frame, declared)
    stats = metric_summary(frame, order=order)
    rows = summarise(frame, stats, order)
    levels = declared_levels(planned)
    effects = factor_effects(frame, declared=levels)
    requests = frames.requests_frame(trials)
    phases = frames.phases_frame(trials)
    points = load_points(trials)
    report = Report(run, out, rows, effects)
    report.phase_effects = phase_effects(trials, levels)
    report.headline = headline(frame, rows, effects)
    report.diagnoses = diagnose(requests)
    title = str(run.metadata.get("scenario", {}).get("name") or run.run_dir.name)
    status = str(run.metadata.get("status", "unknown"))
    if run.problems:
        status += f"; {len(run.problems)} unreadable line(s) in trials.jsonl skipped"

    def write_text(name: str, text: str) -> None:
        path = out / name
        atomic_write_text(path, text)
        report.files.append(path)

    def write_csv(name: str, table) -> None:  # type: ignore[no-untyped-def]
        write_text(name, table.to_csv(index=False))

    by_index = request_index_summary(requests)
    found_failures = failures(trials)
    skipped = skipped_variants(trials)
    skipped = {v: skipped[v] for v in order if v in skipped}

    if "md" in formats:
        status_line = f"{report.headline} Run status: {status}."
        write_text(
            "summary.md",
            tables.summary_markdown(
                title,
                rows,
                effects,
                found_failures,
                skipped,
                status_line,
                report.diagnoses,
                report.phase_effects,
            ),
        )
    if "csv" in formats:
        write_csv("summary.csv", stats)
        write_csv("trials.csv", tables.flat_trials(trials, requests))
        write_csv("effects.csv", effects_frame(effects))
        if report.phase_effects:
            write_csv("phase_effects.csv", effects_frame(report.phase_effects))
        write_csv("requests_by_index.csv", by_index)

    pngs: list[Plot] = []
    if "png" in formats or "html" in formats:
        drawn = {
            "waterfall": waterfall(median_timelines(trials), order),
            "distribution": plots.distribution(frame, order),
            "requests": plots.requests_by_index(by_index, order),
            "connect": plots.connections(*connection_setup(requests), order),
            "idle": plots.ttft_vs_idle(requests, order),
            "effects": plots.effects([e for e in effects if not e.by_construction]),
            "model_load": plots.model_load(throughput_summary(load_throughput(phases)), order),
            "load": load_picture(points, rolling_latency(points), order)
            if not points.empty
            else None,
        }
        pngs = [Plot(name, PLOT_TITLES[name], png) for name, png in drawn.items() if png]
        if "png" in formats:
            for plot in pngs:
                path = out / f"{plot.name}.png"
                atomic_write_bytes(path, plot.png)
                report.files.append(path)
    if "html" in formats:
        html = render_html(
            title=title,
            meta={**run.metadata, "status": status},
            headline=report.headline,
            rows=rows,
            effects=effects,
            phase_effects=report.phase_effects,
            diagnoses=report.diagnoses,
            stats=stats.to_dict("records"),
            by_index=by_index.to_dict("records"),
            plots=pngs,
            failures=_failure_views(run, found_failures),
            skipped=skipped,
            resamples=BOOTSTRAP_RESAMPLES,
            profile=_profile_view(run.run_dir, out),
        )
        write_text("report.html", html)
    return report
