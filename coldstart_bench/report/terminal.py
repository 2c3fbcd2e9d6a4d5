"""The run summary as a rich table in the terminal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from coldstart_bench.analysis.diagnostics import Diagnosis
from coldstart_bench.analysis.effects import Effect
from coldstart_bench.analysis.fleet import FleetRow
from coldstart_bench.analysis.run_analysis import RunSummary
from coldstart_bench.analysis.summary import Failure, VariantSummary
from coldstart_bench.report.columns import (
    _DASH,
    STARTUP_COLUMNS,
    SummaryColumn,
    caption_for,
    count_text,
    detail_columns,
    factor_names,
    shown_columns,
)
from coldstart_bench.report.exporters import STREAM, Output
from coldstart_bench.report.run_report import RunReport


def _count(row: VariantSummary) -> str:
    text = count_text(row)
    if text == "skipped":
        return "[yellow]skipped[/]"
    if row.ok != row.trials - row.skipped:
        return f"[red]{text}[/]"
    return text


def summary_table(
    rows: Sequence[VariantSummary],
    title: str | None = None,
    columns: Sequence[SummaryColumn] | None = None,
    caption: str | None = "",
    counts: bool = True,
    compact: bool = False,
) -> Table:
    """One row per variant: a column per matrix factor (or the variant id when it has
    none), the trial count, then ``columns`` (default: all; TLS only if a row had TLS)."""
    if columns is None:
        columns = shown_columns(STARTUP_COLUMNS + detail_columns(rows), rows)
    if caption == "":
        caption = caption_for(rows)
    table = Table(
        title=Text(title) if title else None,
        title_justify="left",
        header_style="bold",
        caption=caption,
        caption_justify="left",
        box=box.SIMPLE_HEAD if compact else box.HEAVY_HEAD,
        collapse_padding=compact,
        pad_edge=not compact,
    )
    factors = factor_names(rows)
    for name in factors or ["variant"]:
        table.add_column(Text(name), overflow="fold")
    if counts:
        table.add_column("ok/n", justify="right")
    for column in columns:
        table.add_column(column.header, justify="right", style="bold" if column.bold else None)
    for row in rows:
        labels = [Text(row.factors.get(f, _DASH)) for f in factors] or [Text(row.variant)]
        cells = [column.value(row) for column in columns]
        table.add_row(*labels, *([_count(row)] if counts else []), *cells)
    return table


def print_summary(console: Console, rows: Sequence[VariantSummary], title: str) -> None:
    """The summary in one table if it fits the console, else in two (start-up, requests)."""
    whole = summary_table(rows, title)
    natural = Measurement.get(console, console.options.update_width(10_000), whole).maximum
    if natural <= console.width:
        console.print(whole)
        return
    startup = summary_table(
        rows, f"{title}: start-up", shown_columns(STARTUP_COLUMNS, rows), None, compact=True
    )
    requests = shown_columns(detail_columns(rows), rows)
    console.print(startup)
    console.print(summary_table(rows, f"{title}: requests", requests, counts=False, compact=True))


def print_failures(console: Console, failures: Sequence[Failure], limit: int = 10) -> None:
    if not failures:
        return
    console.print(f"[bold red]{len(failures)} trial(s) did not succeed:[/]")
    for f in failures[:limit]:
        first_line, _, rest = f.error.partition("\n")
        console.print(
            f"  trial {f.trial} [{f.variant}] {f.status}: {first_line}",
            markup=False,
            highlight=False,
        )
        for line in rest.splitlines()[-5:]:
            console.print(f"      {line}", markup=False, highlight=False)
    if len(failures) > limit:
        console.print(f"  ... and {len(failures) - limit} more (see trials.jsonl)")


def print_skipped(console: Console, skipped: Mapping[str, str]) -> None:
    if not skipped:
        return
    by_reason: dict[str, list[str]] = {}
    for variant, reason in skipped.items():
        by_reason.setdefault(reason, []).append(variant)
    console.print(f"[yellow]{len(skipped)} variant(s) skipped, not run here:[/]")
    for reason, variants in by_reason.items():
        console.print(f"  {reason}:", markup=False, highlight=False)
        for variant in variants:
            console.print(f"    {variant}", markup=False, highlight=False)


def print_diagnoses(console: Console, diagnoses: Sequence[Diagnosis]) -> None:
    """Known pitfalls the numbers show (e.g. a server without TCP_NODELAY)."""
    for diagnosis in diagnoses:
        console.print("[yellow]worth checking:[/] ", end="")
        console.print(diagnosis.message, markup=False, highlight=False)


EFFECTS_HEADING = "clear effects (95 % bootstrap CI of the ratio of medians excludes 1):"
PHASE_EFFECTS_HEADING = (
    "clear effects on start-up phases (each CI widened so that all the phase comparisons "
    "hold together at 95 %, and it excludes 1):"
)


def print_effects(
    console: Console, effects: Sequence[Effect], limit: int = 8, heading: str = EFFECTS_HEADING
) -> None:
    """The clear effects in words, biggest change first (not those true by construction)."""
    clear = sorted((e for e in effects if e.finding), key=lambda e: -abs(e.change_pct))
    if not clear:
        return
    console.print(heading, style="bold", markup=False, highlight=False)
    for effect in clear[:limit]:
        console.print(f"  {effect.sentence()}", markup=False, highlight=False)
    if len(clear) > limit:
        console.print(f"  ... {len(clear) - limit} more in the report")


def print_run_summary(console: Console, summary: RunSummary) -> None:
    """The machine's busy line, the summary table, what failed and what was skipped."""
    busy = summary.machine.busy_line()
    if busy:
        console.print(busy, style="yellow", markup=False, highlight=False)
    print_summary(console, summary.rows, f"{summary.title} — {summary.run.run_dir.name}")
    print_failures(console, summary.failures)
    print_skipped(console, summary.skipped)


def print_fleet(console: Console, rows: Sequence[FleetRow]) -> None:
    """One line per fleet variant: when k of N were ready, the contention, the balancer."""
    for r in rows:
        k_ready = r.k_ready_text()
        parts = [f"k of {r.replicas} ready at {k_ready} ms{r.started_text()}"]
        if r.contention is not None:
            parts.append(f"{r.contention:.2f}× one replica alone")
        if r.balancer_lag_ms is not None:
            parts.append(f"HAProxy up {r.balancer_lag_ms:,.0f} ms after the first replica")
        if r.log_agrees is not None:
            parts.append(f"its log agrees on {r.log_agrees:.0%} of the answers")
        if r.read_mib is not None:
            parts.append(f"{r.read_mib:,.1f} MiB read from storage until ready")
        if r.cpu_vs_alone is not None and r.replicas > 1:
            parts.append(f"each replica's CPU work to ready {r.cpu_vs_alone:.2f}× one alone's")
        if r.cache_added_mib is not None:
            parts.append(f"{r.cache_added_mib:,.1f} MiB written to the compile cache")
        if r.early_requests:
            parts.append(f"{r.early_requests} request(s) sent before their replica was ready")
        if r.cold_p95_ttft_ms is not None:
            warm = f", {r.warm_p95_ttft_ms:,.0f} ms warm" if r.warm_p95_ttft_ms is not None else ""
            parts.append(f"users' TTFT p95 {r.cold_p95_ttft_ms:,.0f} ms scaling out{warm}")
        console.print(f"fleet {r.variant}: " + "; ".join(parts), markup=False)


class TerminalExporter:
    """A run's report as ``console`` prints it: the summary (the machine's busy line, the
    table, what failed and what was skipped) and the findings (clear effects, phase effects,
    pitfalls) — either part alone, so that a command can show the summary before it writes
    the report files."""

    format = "terminal"

    def __init__(self, console: Console, parts: Sequence[str] = ("summary", "findings")) -> None:
        self.console, self.parts = console, tuple(parts)

    def export(self, result: RunReport) -> list[Output]:
        analysis, out = result.analysis, self.console
        summary = analysis.summary
        with out.capture() as captured:
            if "summary" in self.parts:
                print_run_summary(out, summary)
                print_fleet(out, analysis.fleet)
            if "findings" in self.parts:
                print_effects(out, analysis.effects)
                print_effects(out, analysis.phase_effects, limit=4, heading=PHASE_EFFECTS_HEADING)
                print_diagnoses(out, analysis.diagnoses)
        return [Output.text(STREAM, captured.get())]
