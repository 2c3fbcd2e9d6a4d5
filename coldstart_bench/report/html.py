"""The self-contained HTML report: one file, no external resources (plots embedded as data
URIs, styles inline). Rendered with Jinja2 autoescaping, so every string from a scenario,
a server or a log is escaped."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import jinja2

from coldstart_bench.analysis.diagnostics import Diagnosis
from coldstart_bench.analysis.effects import Effect
from coldstart_bench.analysis.summary import Failure, VariantSummary
from coldstart_bench.report.columns import caption_for, plain_grid, repeats_text


@dataclass(frozen=True)
class ProfileView:
    """What the report shows of a ``coldstart profile`` session."""

    variant: str
    until: str
    overhead: list[tuple[str, str, str, str]]  # profiler, status, ok/n, median ms
    hot: list[tuple[str, list[tuple[str, str, str]]]]  # profiler, rows (name, self, total)
    images: list[Plot]
    links: list[tuple[str, str]]  # label, relative href
    messages: list[str]


@dataclass(frozen=True)
class Plot:
    name: str
    title: str
    png: bytes

    mime: str = "image/png"

    @property
    def data_uri(self) -> str:
        return f"data:{self.mime};base64," + base64.b64encode(self.png).decode("ascii")


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
        "ci": f"[{format_cell(row['ci_low'])}, {format_cell(row['ci_high'])}]",
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


def _scenario_text(meta: Mapping[str, Any]) -> str:
    """The scenario as its file says it, as readable UTF-8 (a run recorded before
    ``as_written`` existed shows every value, defaults included)."""
    scenario = meta.get("scenario", {})
    written = scenario.get("as_written", scenario.get("as_run", {}))
    return json.dumps(written, indent=2, ensure_ascii=False)


def render_html(
    *,
    title: str,
    meta: Mapping[str, Any],
    headline: str,
    rows: Sequence[VariantSummary],
    effects: Sequence[Effect],
    stats: Sequence[Mapping[str, Any]],
    phase_stats: Sequence[Mapping[str, Any]] = (),
    phase_effects: Sequence[Effect] = (),
    diagnoses: Sequence[Diagnosis] = (),
    by_index: Sequence[Mapping[str, Any]],
    repeats: Mapping[int, int] | None = None,
    plots: Sequence[Plot],
    failures: Sequence[Failure],
    skipped: Mapping[str, str],
    resamples: int,
    profile: Mapping[str, Any] | None = None,
    machine: str | None = None,
) -> str:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    heads, grid = plain_grid(rows)
    table_rows = [{"labels": labels, "cells": cells} for labels, cells in grid]
    plan = meta.get("plan", {})
    meta_rows = [
        ("run id", meta.get("run_id")),
        ("status", meta.get("status")),
        ("started / finished", f"{meta.get('started_at')} / {meta.get('finished_at')}"),
        ("seed", meta.get("seed")),
        ("repetitions × variants", f"{plan.get('repetitions')} × {len(plan.get('variants', []))}"),
        ("warm-up trials per variant", plan.get("warmup_trials")),
        ("command", " ".join(str(a) for a in meta.get("command", []))),
        ("scenario file", meta.get("scenario", {}).get("path")),
    ]
    if machine:
        meta_rows.append(("machine over the run", machine))
    if meta.get("stopped_early"):
        meta_rows.append(("stopped early", meta.get("stopped_early")))
    return env.from_string(_template()).render(
        title=title,
        run_id=meta.get("run_id", ""),
        status=meta.get("status", ""),
        started=meta.get("started_at", ""),
        version=meta.get("tool_version", ""),
        headline=headline,
        effects=effects,
        phase_effects=phase_effects,
        diagnoses=diagnoses,
        heads=heads,
        table_rows=table_rows,
        caption=caption_for(rows),
        plots=plots,
        stats=[
            {
                "variant": s["variant"],
                "metric": s["metric"],
                **_spread_cells(s),
                "p95": format_cell(s["p95"]),
                "mad": format_cell(s["mad"]),
            }
            for s in stats
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
        by_index_repeats=repeats_text(repeats or {}, sorted({int(r["request"]) for r in by_index})),
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
        failures=failures,
        skipped=skipped,
        meta_rows=[(k, format_cell(v)) for k, v in meta_rows],
        environment=json.dumps(meta.get("environment", {}), indent=2, sort_keys=True),
        scenario=_scenario_text(meta),
        variants=[v.get("id", "") for v in plan.get("variants", [])],
        resamples=resamples,
        profile=profile,
    )
