"""The run summary as a rich table in the terminal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from coldstart_bench.summary import Failure, VariantSummary

_DASH = "—"


def ms(value: float | None, digits: int | None = None) -> str:
    if value is None:
        return _DASH
    if digits is None:
        digits = 0 if abs(value) >= 1000 else 1 if abs(value) >= 10 else 2
    return f"{value:,.{digits}f}"


def summary_table(rows: Sequence[VariantSummary], title: str | None = None) -> Table:
    table = Table(
        title=Text(title) if title else None,
        title_justify="left",
        header_style="bold",
        show_lines=False,
    )
    table.add_column("variant", overflow="fold")
    table.add_column("ok/n", justify="right")
    table.add_column("ready\np50", justify="right")
    table.add_column("ready\np95", justify="right")
    table.add_column("cold TTFT\np50", justify="right", style="bold")
    table.add_column("cold TTFT\np95", justify="right")
    table.add_column("1st req\nconnect", justify="right")
    table.add_column("1st req\nTLS", justify="right")
    table.add_column("1st req\nTTFB", justify="right")
    table.add_column("1st req\nTTFT", justify="right")
    table.add_column("later\nconnect", justify="right")
    table.add_column("later\nreused", justify="right")
    table.add_column("later\nTTFT", justify="right")
    for row in rows:
        ok_style = "" if row.ok == row.trials - row.skipped else "red"
        if row.skipped == row.trials:
            count = "[yellow]skipped[/]"
        elif ok_style:
            count = f"[{ok_style}]{row.ok}/{row.trials}[/]"
        else:
            count = f"{row.ok}/{row.trials}"
        table.add_row(
            Text(row.variant),
            count,
            ms(row.ready_p50),
            ms(row.ready_p95),
            ms(row.cold_ttft_p50),
            ms(row.cold_ttft_p95),
            ms(row.first_connect_p50),
            ms(row.first_tls_p50) if row.tls_seen else _DASH,
            ms(row.first_ttfb_p50),
            ms(row.first_ttft_p50),
            ms(row.later_connect_p50),
            _DASH if row.later_reused_share is None else f"{row.later_reused_share:.0%}",
            ms(row.later_ttft_p50),
        )
    table.caption = (
        "milliseconds; ready and cold TTFT from t0 (just before spawn); 1st req = the first "
        "request after ready; later = requests 2..n (connect 0 when the connection was reused)"
    )
    table.caption_justify = "left"
    return table


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
