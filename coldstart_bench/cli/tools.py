"""``coldstart merge`` and ``coldstart connbench``: shards of a run put back together, and
connection set-up figures for one endpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from coldstart_bench.cli.common import ResultsDirOption, stdout_console, user_errors
from coldstart_bench.cli.help import PlainCommand, command_app

app = command_app()


@app.command(cls=PlainCommand)
@user_errors
def merge(
    runs: Annotated[
        list[str],
        typer.Argument(
            metavar="RUN",
            help="The shards (coldstart run --shard I/N): run directories or saved baselines.",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", metavar="DIR", help="The merged run directory to create.")
    ],
    results_dir: ResultsDirOption = Path("results"),
) -> None:
    """Merge the shards of one run into one run directory.

    The shards must have run the same scenario with the same seed, no trial twice."""
    from coldstart_bench.results.baselines import resolve_run
    from coldstart_bench.results.merge import merge_runs

    merged = merge_runs([resolve_run(r, results_dir).run_dir for r in runs], out)
    stdout_console().print(f"merged {len(runs)} runs into {merged}", markup=False)


@app.command(cls=PlainCommand)
@user_errors
def connbench(
    url: Annotated[
        str,
        typer.Argument(
            metavar="URL", help="e.g. https://127.0.0.1:8443/health", show_default=False
        ),
    ],
    n: Annotated[
        int,
        typer.Option("--requests", metavar="N", min=1, help="Requests per mode (fresh, pooled)."),
    ] = 200,
    http2: Annotated[bool, typer.Option("--http2", help="Negotiate HTTP/2 (over TLS).")] = False,
    cacert: Annotated[
        Path | None,
        typer.Option("--cacert", metavar="FILE", help="CA file to verify the server with."),
    ] = None,
    insecure: Annotated[
        bool, typer.Option("--insecure", help="Do not verify the certificate.")
    ] = False,
) -> None:
    """Connection set-up figures for one endpoint: connect, TLS, and what a pool saves.

    N requests each on a fresh connection, then N over one kept-alive connection: connect
    and TLS times, the TLS share of a connection's set-up, requests per second either way."""
    from rich.table import Table

    from coldstart_bench.analysis.connbench import connbench_figures
    from coldstart_bench.probe.connbench import measure_connections
    from coldstart_bench.report.columns import ms

    samples = measure_connections(
        url, n, http2=http2, ca_file=str(cacert) if cacert else None, insecure=insecure
    )
    result = connbench_figures(samples)
    table = Table(
        title=f"connbench {url} ({result.http_version}, {n} requests per mode)",
        title_justify="left",
        header_style="bold",
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    rows = [
        ("TCP connect, median / p95 (ms)", f"{ms(result.connect_p50)} / {ms(result.connect_p95)}"),
        ("TLS handshake, median / p95 (ms)", f"{ms(result.tls_p50)} / {ms(result.tls_p95)}"),
        (
            "TLS share of connection set-up",
            "—" if result.tls_share is None else f"{result.tls_share:.0%}",
        ),
        (
            "fresh connection: TTFB / total, median (ms)",
            f"{ms(result.fresh_ttfb_p50)} / {ms(result.fresh_total_p50)}",
        ),
        ("pooled connection: total, median (ms)", ms(result.pooled_total_p50)),
        ("requests/s, a new connection each", f"{result.fresh_per_s:,.0f}"),
        ("requests/s, one pooled connection", f"{result.pooled_per_s:,.0f}"),
        (
            "connect+TLS per request: fresh → pooled (ms)",
            f"{ms(result.setup_fresh_ms)} → {ms(result.setup_pooled_ms)}",
        ),
        ("set-up a pool saves", f"{result.pool_saving:.1%}"),
    ]
    for label, value in rows:
        table.add_row(label, value)
    stdout_console().print(table)
