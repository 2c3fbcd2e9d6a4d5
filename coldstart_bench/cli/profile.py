"""``coldstart profile``: one variant's cold start under each profiler, with the overhead
beside trials without one, and the hot spots found."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from coldstart_bench.cli.common import (
    ResultsDirOption,
    RunIdOption,
    ScenarioArg,
    parse_variant_filters,
    stderr_console,
    stdout_console,
    user_errors,
)
from coldstart_bench.cli.help import PlainCommand, command_app

app = command_app()


@app.command(cls=PlainCommand)
@user_errors
def profile(
    scenario: ScenarioArg,
    variant: Annotated[
        list[str] | None,
        typer.Option(
            "--variant",
            metavar="FACTOR=LEVEL",
            help="Repeatable; the first variant that matches is profiled.",
        ),
    ] = None,
    profiler: Annotated[
        str,
        typer.Option(
            "--profiler", metavar="NAMES", help="py-spy, pyinstrument, importtime or all."
        ),
    ] = "all",
    until: Annotated[
        str,
        typer.Option("--until", metavar="POINT", help="Stop the profile at: ready or first-token."),
    ] = "ready",
    top: Annotated[int, typer.Option("--top", metavar="N", help="Rows of hot spots to show.")] = 15,
    repetitions: Annotated[
        int,
        typer.Option(
            "-n",
            "--repetitions",
            metavar="N",
            min=1,
            help="Cold trials per profiler and without one; the overhead is their medians'.",
        ),
    ] = 1,
    results_dir: ResultsDirOption = Path("results"),
    run_id: RunIdOption = None,
) -> None:
    """Profile one cold start under py-spy, pyinstrument and import timing, beside trials
    without a profiler.

    Each profiler runs in its own cold trials, attached from the first instruction; the
    trials without one show what each profiler costs."""
    from rich.table import Table
    from rich.text import Text

    from coldstart_bench.errors import ColdstartError
    from coldstart_bench.profiling.session import PROFILERS, UNTIL, ok_count, run_profile
    from coldstart_bench.scenario.reader import read_scenario

    chosen = list(PROFILERS) if profiler == "all" else [p.strip() for p in profiler.split(",")]
    unknown = [p for p in chosen if p not in PROFILERS]
    if unknown or until not in UNTIL:
        raise ColdstartError(
            f"--profiler takes {', '.join(PROFILERS)} or all; --until takes {' or '.join(UNTIL)}"
        )
    session = run_profile(
        read_scenario(scenario),
        parse_variant_filters(variant or []),
        chosen,
        until,
        results_dir,
        run_id,
        top,
        repetitions,
    )
    out = stdout_console()
    point = "ready" if until == "ready" else "cold TTFT"
    title = f"profiled: {session.variant} — {point}, ms" + (
        f" (median of {repetitions})" if repetitions > 1 else ""
    )
    overhead = Table(title=title, title_justify="left")
    for col in ("profiler", "status", "ok/n", point, "vs none"):
        overhead.add_column(col, justify="left" if col in ("profiler", "status") else "right")

    def ok_of(trials: list[Any]) -> str:
        return f"{ok_count(trials)}/{len(trials)}" if trials else "—"

    base = session.measured_ms(session.baselines)
    overhead.add_row(
        "none",
        session.baseline.status if session.baseline else "-",
        ok_of(session.baselines),
        f"{base:,.1f}" if base else "—",
        "1.00",
    )
    for r in session.results:
        value = session.measured_ms(r.trials)
        ratio = f"{value / base:.2f}" if value and base else "—"
        overhead.add_row(
            r.profiler, r.status, ok_of(r.trials), f"{value:,.1f}" if value else "—", ratio
        )
    out.print(overhead)
    for r in session.results:
        if r.message:
            out.print(f"{r.profiler}: {r.message}", markup=False)
        if not r.hot:
            continue
        table = Table(title=f"{r.profiler}: hot spots", title_justify="left", header_style="bold")
        table.add_column("function" if r.unit == "samples" else "import", overflow="fold")
        table.add_column("self", justify="right")
        table.add_column("total", justify="right")
        for h in r.hot:
            if r.unit == "samples":
                table.add_row(Text(h.name), f"{h.self_share:.1%}", f"{h.total_share:.1%}")
            else:
                table.add_row(
                    Text(h.name),
                    f"{h.self_value / 1000:,.1f} ms",
                    f"{h.total_value / 1000:,.1f} ms",
                )
        out.print(table)
    sys.stdout.flush()
    stderr_console().print(f"profiles: {session.run_dir / 'profiles'}", markup=False)
