"""``coldstart report``: read a run directory, analyse it, and write the report files.

Works on any run that has a ``run.json``: complete, interrupted, or partly failed (only ok
measured trials feed the figures; failures get their own section).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from coldstart_bench.analysis.digest import read_digest
from coldstart_bench.analysis.fleet import fleet_table
from coldstart_bench.analysis.run_analysis import RunAnalysis, analyse
from coldstart_bench.errors import ColdstartError, ResultsNotWritable
from coldstart_bench.report import plots, tables
from coldstart_bench.report.exporters import Exporter, Output
from coldstart_bench.report.fleetplot import fleet_gantt, fleet_picture
from coldstart_bench.report.headline import headline_text
from coldstart_bench.report.html import HtmlExporter
from coldstart_bench.report.loadplot import load_picture
from coldstart_bench.report.machineplot import machine_picture
from coldstart_bench.report.run_report import Plot, ProfileView, RunReport
from coldstart_bench.report.trace_events import trace_json
from coldstart_bench.report.waterfall import waterfall
from coldstart_bench.results.store import atomic_write_bytes

FORMATS: tuple[str, ...] = ("html", "md", "csv", "png", "trace")

PLOT_TITLES: dict[str, str] = {
    "waterfall": "Where the cold start goes",
    "distribution": "Cold TTFT distribution",
    "requests": "TTFT by request",
    "connect": "Connection set-up: fresh vs reused",
    "idle": "TTFT after an idle gap",
    "effects": "What each toggle buys",
    "model_load": "Model-load throughput",
    "load": "Load on a cold replica",
    "machine": "The machine over the run",
    "fleet": "A fleet scaling out: k of N replicas ready",
    "fleet_gantt": "A fleet scaling out: the replicas and the requests",
}


@dataclass
class Report:
    """A run's analysis and the files its report was written to."""

    analysis: RunAnalysis
    out_dir: Path
    headline: str
    files: list[Path] = field(default_factory=list)


def parse_formats(text: str | Iterable[str]) -> list[str]:
    items = text.split(",") if isinstance(text, str) else list(text)
    wanted = [f.strip().lower() for f in items if f.strip()]
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown or not wanted:
        raise ColdstartError(
            f"--format: unknown {', '.join(unknown) or '(empty)'}; choose from {', '.join(FORMATS)}"
        )
    return wanted


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
    """Analyse a run and write its report (see :func:`write_report`)."""
    return write_report(analyse(read_digest(run_dir)), out_dir, formats)


def write_report(
    analysis: RunAnalysis, out_dir: str | Path | None = None, formats: Sequence[str] = FORMATS
) -> Report:
    """Write the report of an analysed run into ``out_dir`` (default: the run's
    ``report/``): only drawing and writing, every figure read from ``analysis``. Raises
    :class:`ResultsNotWritable` where it cannot be written (a file in the way, a read-only
    or full disk)."""
    out = Path(out_dir) if out_dir is not None else analysis.summary.run.run_dir / "report"
    try:
        return _write_report(analysis, out, formats)
    except OSError as exc:
        raise ResultsNotWritable(
            f"cannot write the report in {out}: {exc.strerror or exc}"
        ) from None


class MarkdownExporter:
    """``summary.md``: the tables and findings as GitHub Markdown (a CI step summary)."""

    format = "md"

    def export(self, result: RunReport) -> list[Output]:
        status = f"{result.headline} Run status: {result.analysis.summary.status}."
        return [Output.text("summary.md", tables.summary_markdown(result.analysis, status))]


class CsvExporter:
    """The statistics, trials, effects, phases and requests by position as CSV files."""

    format = "csv"

    def export(self, result: RunReport) -> list[Output]:
        analysis = result.analysis
        summary = analysis.summary
        tables_out = [
            ("summary.csv", summary.stats),
            # a sample's requests beside every trial would read as trials that sent none
            ("trials.csv", tables.flat_trials(summary.frame, requests_beside_trials(analysis))),
            ("effects.csv", analysis.effects_table),
        ]
        if analysis.phase_effects:
            tables_out.append(("phase_effects.csv", analysis.phase_effects_table))
        if not analysis.phase_stats.empty:
            tables_out.append(("phases.csv", analysis.phase_stats))
        tables_out.append(("requests_by_index.csv", analysis.by_index))
        if analysis.fleet:
            tables_out.append(("fleet.csv", fleet_table(analysis.fleet)))
        return [Output.text(name, table.to_csv(index=False)) for name, table in tables_out]


class PngExporter:
    """Every plot the run has something to show in, one PNG each."""

    format = "png"

    def export(self, result: RunReport) -> list[Output]:
        return [Output(f"{plot.name}.png", plot.png) for plot in result.plots]


class TraceExporter:
    """``trace.json``: every trial as a trace (Trace Event JSON, for Perfetto)."""

    format = "trace"

    def export(self, result: RunReport) -> list[Output]:
        run = result.analysis.summary.run
        return [Output.text("trace.json", trace_json(run.trials, run.metadata.run_id))]


def requests_beside_trials(analysis: RunAnalysis) -> pd.DataFrame:
    """The requests trials.csv puts beside each trial: all of them, or none where only a
    sample of a large run's trials kept theirs."""
    return analysis.requests.iloc[0:0] if analysis.summary.detail_note else analysis.requests


EXPORTERS: dict[str, Exporter[RunReport]] = {
    e.format: e
    for e in (HtmlExporter(), MarkdownExporter(), CsvExporter(), PngExporter(), TraceExporter())
}


def _write_report(analysis: RunAnalysis, out: Path, formats: Sequence[str]) -> Report:
    summary = analysis.summary
    out.mkdir(parents=True, exist_ok=True)
    busy = summary.machine.busy_line()
    headline = " ".join(filter(None, [busy, headline_text(analysis.headline)]))
    result = RunReport(analysis, headline, _profile_view(summary.run.run_dir, out), _plots)
    report = Report(analysis, out, headline)
    # The page last: a reader who opens it finds the files it stands beside.
    for fmt in sorted(formats, key=lambda f: f == "html"):
        for output in EXPORTERS[fmt].export(result):
            path = out / output.name
            atomic_write_bytes(path, output.data)
            report.files.append(path)
    return report


def _plots(analysis: RunAnalysis) -> list[Plot]:
    order = analysis.summary.order
    effects = [e for e in analysis.effects if not e.by_construction]
    drawn = {
        "waterfall": waterfall(analysis.timelines, order),
        "distribution": plots.distribution(analysis.summary.ok, analysis.cold_ttft_boxes, order),
        "requests": plots.requests_by_index(analysis.by_index, order, analysis.repeats),
        "connect": plots.connections(analysis.connections, analysis.connections_cover, order),
        "idle": plots.ttft_vs_idle(analysis.ok_requests, analysis.idle, order),
        "effects": plots.effects(effects),
        "model_load": plots.model_load(analysis.throughput, order),
        "load": load_picture(
            analysis.load_points,
            analysis.load_rolling,
            analysis.load_drain,
            analysis.load_good,
            analysis.load_warm,
            order,
        )
        if not analysis.load_points.empty
        else None,
        "machine": machine_picture(analysis.machine_trace, analysis.summary.machine),
        "fleet": fleet_picture(analysis.fleet),
        "fleet_gantt": fleet_gantt(analysis.fleet_trials),
    }
    return [Plot(name, PLOT_TITLES[name], png) for name, png in drawn.items() if png]
