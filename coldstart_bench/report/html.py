"""The self-contained HTML report: one file, no external resources (plots embedded as data
URIs, styles inline). Rendered with Jinja2 autoescaping, so every string from a scenario,
a server or a log is escaped."""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

import jinja2

from coldstart_bench.analysis.stats import BOOTSTRAP_RESAMPLES, LARGE_SAMPLE
from coldstart_bench.analysis.summary import LOG_TAILS_SHOWN
from coldstart_bench.report.columns import caption_for, plain_grid, repeats_text
from coldstart_bench.report.exporters import Output
from coldstart_bench.report.run_report import RunReport
from coldstart_bench.results.run_file import ScenarioInfo


def _template() -> str:
    return resources.files("coldstart_bench.report").joinpath("report.html.j2").read_text("utf-8")


def format_cell(value: Any) -> str:
    """A number as the page's statistics tables show it."""
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.2f}"
    return str(value)


def _spread_cells(row: Mapping[str, Any]) -> dict[str, Any]:
    """A statistics row's count, median with its interval, min and max, as shown."""
    return {
        "n": row["n"],
        "median": format_cell(row["median"]),
        "ci": "—"
        if int(row["n"]) < 2
        else f"[{format_cell(row['ci_low'])}, {format_cell(row['ci_high'])}]",
        "min": format_cell(row["min"]),
        "max": format_cell(row["max"]),
    }


def _number_or_none(value: Any) -> float | None:
    """A table cell that may be missing (pandas' NA or NaN) as a float or None."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else number


def _scenario_text(scenario: ScenarioInfo) -> str:
    """The scenario as its file says it, as readable UTF-8 (a run recorded before
    ``as_written`` existed shows every value, defaults included)."""
    written = scenario.as_written or scenario.as_run
    return json.dumps(written, indent=2, ensure_ascii=False)


def render_html(report: RunReport) -> str:
    """The report's one HTML page."""
    analysis = report.analysis
    summary = analysis.summary
    meta = summary.run.metadata
    rows = summary.rows
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    heads, grid = plain_grid(rows)
    table_rows = [{"labels": labels, "cells": cells} for labels, cells in grid]
    plan = meta.plan
    meta_rows = [
        ("run id", meta.run_id),
        ("status", summary.status),
        ("started / finished", f"{meta.started_at} / {meta.finished_at}"),
        ("seed", meta.seed),
        ("repetitions × variants", f"{plan.repetitions} × {len(plan.variants)}"),
        ("warm-up trials per variant", plan.warmup_trials),
        ("command", " ".join(str(a) for a in meta.command)),
        ("scenario file", meta.scenario.path),
    ]
    machine = summary.machine.text()
    if machine:
        meta_rows.append(("machine over the run", machine))
    if meta.stopped_early:
        meta_rows.append(("stopped early", meta.stopped_early))
    phase_stats = analysis.phase_stats.to_dict("records")
    by_index = analysis.by_index.to_dict("records")
    return env.from_string(_template()).render(
        title=summary.title,
        run_id=meta.run_id,
        status=summary.status,
        started=meta.started_at or "",
        version=meta.tool_version or "",
        headline=report.headline,
        findings=[e for e in analysis.effects if e.finding],
        unclear=[e for e in analysis.effects if not e.finding],
        phase_effects=analysis.phase_effects,
        phase_findings=[e for e in analysis.phase_effects if e.finding],
        phase_unclear=[e for e in analysis.phase_effects if not e.finding],
        diagnoses=analysis.diagnoses,
        heads=heads,
        table_rows=table_rows,
        caption=caption_for(rows),
        plots=report.plots,
        stats=[
            {
                "variant": s["variant"],
                "metric": s["metric"],
                **_spread_cells(s),
                "p95": format_cell(s["p95"]),
                "mad": format_cell(s["mad"]),
            }
            for s in summary.stats.to_dict("records")
        ],
        phase_own=any(_number_or_none(p["reported_median"]) is not None for p in phase_stats),
        phase_stats=[
            {
                "variant": p["variant"],
                "phase": p["phase"],
                **_spread_cells(p),
                "own": format_cell(_number_or_none(p["reported_median"])),
            }
            for p in phase_stats
        ],
        by_index_repeats=repeats_text(
            analysis.repeats, sorted({int(r["request"]) for r in by_index})
        ),
        by_index=[
            {
                "variant": r["variant"],
                "index": int(r["request"]),
                "n": r["n"],
                "connect": format_cell(r["connect_ms"]),
                "ttfb": format_cell(r["ttfb_ms"]),
                "ttft": format_cell(r["ttft_ms"]),
                "total": format_cell(r["total_ms"]),
                "reused": f"{r['reused_share']:.0%}",
            }
            for r in by_index
        ],
        failures=summary.failures[:LOG_TAILS_SHOWN],
        skipped=summary.skipped,
        meta_rows=[(k, format_cell(v)) for k, v in meta_rows],
        environment=json.dumps(meta.environment, indent=2, sort_keys=True),
        scenario=_scenario_text(meta.scenario),
        variants=[v.id for v in plan.variants],
        resamples=BOOTSTRAP_RESAMPLES,
        large_sample=LARGE_SAMPLE,
        profile=report.profile,
    )


class HtmlExporter:
    """``report.html``: the whole report in one self-contained page."""

    format = "html"

    def export(self, result: RunReport) -> list[Output]:
        return [Output.text("report.html", render_html(result))]
