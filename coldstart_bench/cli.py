"""The ``coldstart`` command. It parses arguments and calls the typed entry points; every
module with real work (and every heavy import) is loaded inside the command that needs it,
so ``coldstart --help`` stays fast."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from coldstart_bench import __version__, cli_gate
from coldstart_bench.cli_common import stderr_console, stdout_console, user_errors

app = typer.Typer(
    name="coldstart",
    help="Benchmark and profile the cold start of model-serving stacks: time to ready, "
    "connect/TLS, model-load phases and time to the first streamed token.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"coldstart-bench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """coldstart-bench"""


ScenarioArg = Annotated[Path, typer.Argument(help="Scenario file (TOML).", show_default=False)]
RunsDirOption = Annotated[Path, typer.Option("--results-dir", help="Where run directories go.")]
RunIdOption = Annotated[str | None, typer.Option("--run-id", help="Name of the run directory.")]


@app.command()
@user_errors
def validate(scenario: ScenarioArg) -> None:
    """Check a scenario file and show the variants it expands to."""
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    from coldstart_bench.scenario import load_scenario, match_levels

    loaded = load_scenario(scenario)
    spec = loaded.scenario
    console = stdout_console()
    heading = f"[bold]{escape(loaded.name)}[/]"
    console.print(f"{heading}: {escape(spec.description)}" if spec.description else heading)
    factors = spec.factors
    table = Table(title=f"{len(loaded.variants)} variant(s)", title_justify="left", highlight=False)
    table.add_column("#", justify="right")
    for name in factors:
        table.add_column(Text(name))
    if not factors:
        table.add_column("variant")
    for v in loaded.variants:
        cells = [Text(v.factors[n]) for n in factors] if factors else [Text("default")]
        table.add_row(str(v.index), *cells)
    console.print(table)
    services = " → ".join(f"{s.name} (ready: {s.ready.kind})" for s in spec.services)
    console.print(f"services: {services}", markup=False)
    if spec.requests is not None and spec.requests.count:
        r = spec.requests
        mode = "streaming" if r.stream and r.kind != "http" else "non-streaming"
        console.print(
            f"requests: {r.count} × {r.kind} ({mode}) to {spec.measured_service.name}", markup=False
        )
    for i, argv in enumerate(spec.setup):
        console.print(f"setup[{i}] (once per run): {' '.join(argv)}", markup=False)
    for i, need in enumerate(spec.requires):
        check = f"program {need.program}" if need.program else " ".join(need.command or [])
        scope = _scope(need.levels)
        console.print(f"requires[{i}] ({scope}): {check}; else skipped", markup=False)
    for svc in spec.services:
        if svc.only:
            scope = _scope(match_levels(svc.only))
            console.print(f"service {svc.name} starts only where {scope}", markup=False)
    if spec.chaos is not None:
        c = spec.chaos
        scope = _scope(c.levels)
        console.print(
            f"chaos ({scope}): {c.action} {c.service} before request {c.at_request}",
            markup=False,
        )
    trials = len(loaded.variants) * (spec.repetitions + spec.warmup_trials)
    console.print(
        f"trials: {len(loaded.variants)} variant(s) × ({spec.repetitions} repetitions + "
        f"{spec.warmup_trials} warm-up) = {trials}"
    )


def _executor(name: str) -> str:
    from coldstart_bench.errors import ColdstartError

    if name not in ("local", "ray"):
        raise ColdstartError(f"--executor takes local or ray, got {name!r}")
    return name


def _parse_shard(text: str | None) -> tuple[int, int] | None:
    from coldstart_bench.errors import ColdstartError

    if text is None:
        return None
    index, sep, count = text.partition("/")
    if not sep or not index.isdigit() or not count.isdigit() or int(count) < 1:
        raise ColdstartError(f"--shard expects I/N, e.g. 2/4; got {text!r}")
    return int(index), int(count)


def _parse_pairs(items: list[str], option: str) -> dict[str, str]:
    from coldstart_bench.errors import ColdstartError

    pairs: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ColdstartError(f"{option} expects name=value, got {item!r}")
        pairs[key.strip()] = value
    return pairs


def _scope(levels: dict[str, tuple[str, ...]]) -> str:
    """Which variants a match applies to, e.g. "cache=redis|local"."""
    return ", ".join(f"{k}={'|'.join(v)}" for k, v in levels.items()) or "all variants"


def _parse_variant_filters(items: list[str]) -> dict[str, list[str]]:
    from coldstart_bench.errors import ColdstartError

    wanted: dict[str, list[str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise ColdstartError(f"--variant expects factor=level, got {item!r}")
        wanted.setdefault(key.strip(), []).extend(v.strip() for v in value.split(","))
    return wanted


@app.command()
@user_errors
def run(
    scenario: ScenarioArg,
    repetitions: Annotated[
        int | None,
        typer.Option("--repetitions", "-n", help="Trials per variant (overrides the scenario)."),
    ] = None,
    warmup_trials: Annotated[
        int | None, typer.Option("--warmup-trials", help="Discarded warm-up trials per variant.")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed of the trial order (default: random, recorded).")
    ] = None,
    variant: Annotated[
        list[str] | None,
        typer.Option(
            "--variant", help="Only variants with factor=level (repeatable; level may be a,b)."
        ),
    ] = None,
    results_dir: RunsDirOption = Path("results"),
    run_id: RunIdOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    no_report: Annotated[
        bool, typer.Option("--no-report", help="Do not write the report at the end.")
    ] = False,
    var: Annotated[
        list[str] | None,
        typer.Option("--var", help="Set a [vars] value: name=value (repeatable)."),
    ] = None,
    shard: Annotated[
        str | None,
        typer.Option("--shard", help="I/N: run only shard I of N (needs a fixed --seed)."),
    ] = None,
    executor: Annotated[
        str, typer.Option("--executor", help="local, or ray (one trial per node at a time).")
    ] = "local",
    ray_address: Annotated[
        str | None, typer.Option("--ray-address", help="An existing Ray cluster, e.g. auto.")
    ] = None,
) -> None:
    """Start the scenario's services cold for every trial, time everything, print a table,
    and write the report (tables, plots, HTML) into the run directory.

    Exit code: 0 all trials ok, 1 some trials failed, 2 bad input, 130 interrupted."""
    from rich.console import Console

    from coldstart_bench.progress import ProgressObserver
    from coldstart_bench.report.terminal import print_failures, print_skipped, print_summary
    from coldstart_bench.runner import RunOptions, run_scenario
    from coldstart_bench.scenario import load_scenario, with_vars
    from coldstart_bench.summary import failures, skipped_variants, stratify_by_node, summarise

    loaded = with_vars(load_scenario(scenario), _parse_pairs(var or [], "--var"))
    options = RunOptions(
        results_dir=results_dir,
        run_id=run_id,
        repetitions=repetitions,
        warmup_trials=warmup_trials,
        seed=seed,
        variants=_parse_variant_filters(variant or []),
        shard=_parse_shard(shard),
        executor=_executor(executor),
        ray_address=ray_address,
    )
    err = Console(stderr=True, highlight=False)
    if quiet:
        outcome = run_scenario(loaded, options)
    else:
        with ProgressObserver(err) as observer:
            outcome = run_scenario(loaded, options, observer)
    out = stdout_console()
    rows = summarise(stratify_by_node(outcome.trials), outcome.variants)
    print_summary(out, rows, f"{loaded.name} — {outcome.run_id}")
    print_failures(out, failures(outcome.trials))
    skipped = skipped_variants(outcome.trials)
    print_skipped(out, {v: skipped[v] for v in outcome.variants if v in skipped})
    sys.stdout.flush()
    if outcome.status == "interrupted":
        kept = f"{len(outcome.trials)} finished trial(s) kept in {outcome.run_dir}"
        err.print(f"interrupted ({outcome.interrupted_by}); {kept}", style="yellow", markup=False)
    else:
        err.print(f"results: {outcome.run_dir}", markup=False)
    if not no_report and outcome.trials:
        try:
            _write_report(
                out, err, outcome.run_dir, None, ("html", "md", "csv", "png"), table=False
            )
        except Exception as exc:  # the measurements are safe on disk; say so, keep the code
            err.print(
                f"the report could not be written ({type(exc).__name__}: {exc}); the results "
                f"are intact — retry with: coldstart report {outcome.run_dir}",
                style="yellow",
                markup=False,
            )
    raise typer.Exit(outcome.exit_code)


def _write_report(
    out: Any, err: Any, run_dir: Path, out_dir: Path | None, formats: Any, table: bool
) -> None:
    from coldstart_bench.report.build import build_report
    from coldstart_bench.report.terminal import print_diagnoses, print_effects, print_summary

    report = build_report(run_dir, out_dir, formats)
    if table:
        title = str(report.run.metadata.get("scenario", {}).get("name") or run_dir.name)
        print_summary(out, report.rows, f"{title} — {report.run.run_dir.name}")
    print_effects(out, report.effects)
    print_diagnoses(out, report.diagnoses)
    sys.stdout.flush()
    for problem in report.run.problems:
        err.print(f"note: {problem}", style="yellow", markup=False)
    html = report.out_dir / "report.html"
    where = html if html in report.files else report.out_dir
    err.print(f"report: {where}", markup=False)


@app.command()
@user_errors
def report(
    run_dir: Annotated[
        Path, typer.Argument(help="A run directory (results/<run-id>).", show_default=False)
    ],
    out: Annotated[
        Path | None, typer.Option("--out", help="Where to write (default: RUN_DIR/report).")
    ] = None,
    formats: Annotated[
        str, typer.Option("--format", help="Comma-separated: html, md, csv, png.")
    ] = "html,md,csv,png",
) -> None:
    """Write the report of a run: summary.md/.csv, trials.csv, PNG plots, report.html.
    Works on interrupted and partly failed runs too."""
    from coldstart_bench.report.build import parse_formats

    _write_report(
        stdout_console(), stderr_console(), run_dir, out, parse_formats(formats), table=True
    )


@app.command()
@user_errors
def profile(
    scenario: ScenarioArg,
    variant: Annotated[
        list[str] | None,
        typer.Option("--variant", help="factor=level (repeatable); the first match is profiled."),
    ] = None,
    profiler: Annotated[
        str, typer.Option("--profiler", help="py-spy, pyinstrument, importtime or all.")
    ] = "all",
    until: Annotated[
        str, typer.Option("--until", help="Stop the profile at: ready or first-token.")
    ] = "ready",
    top: Annotated[int, typer.Option("--top", help="Rows of hot spots to show.")] = 15,
    repetitions: Annotated[
        int,
        typer.Option(
            "-n",
            "--repetitions",
            min=1,
            help="Cold trials per profiler and without one; the overhead is their medians'.",
        ),
    ] = 1,
    results_dir: RunsDirOption = Path("results"),
    run_id: RunIdOption = None,
) -> None:
    """Profile one cold start: each profiler in its own cold trials, attached from the first
    instruction, plus trials without a profiler to show the profiler's overhead."""
    from rich.table import Table
    from rich.text import Text

    from coldstart_bench.errors import ColdstartError
    from coldstart_bench.profile import PROFILERS, UNTIL, ok_count, run_profile
    from coldstart_bench.scenario import load_scenario

    chosen = list(PROFILERS) if profiler == "all" else [p.strip() for p in profiler.split(",")]
    unknown = [p for p in chosen if p not in PROFILERS]
    if unknown or until not in UNTIL:
        raise ColdstartError(
            f"--profiler takes {', '.join(PROFILERS)} or all; --until takes {' or '.join(UNTIL)}"
        )
    session = run_profile(
        load_scenario(scenario),
        _parse_variant_filters(variant or []),
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


@app.command()
@user_errors
def merge(
    runs: Annotated[list[Path], typer.Argument(help="Shard run directories.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", help="The merged run directory to create.")],
) -> None:
    """Merge the shards of one run (coldstart run --shard I/N) into one run directory."""
    from coldstart_bench.merge import merge_runs

    merged = merge_runs(runs, out)
    stdout_console().print(f"merged {len(runs)} runs into {merged}", markup=False)


@app.command()
@user_errors
def connbench(
    url: Annotated[
        str, typer.Argument(help="e.g. https://127.0.0.1:8443/health", show_default=False)
    ],
    n: Annotated[int, typer.Option("-n", help="Requests per mode (fresh, pooled).")] = 200,
    http2: Annotated[bool, typer.Option("--http2", help="Negotiate HTTP/2 (over TLS).")] = False,
    cacert: Annotated[
        Path | None, typer.Option("--cacert", help="CA file to verify the server with.")
    ] = None,
    insecure: Annotated[
        bool, typer.Option("--insecure", help="Do not verify the certificate.")
    ] = False,
) -> None:
    """Connection set-up figures for one endpoint: connect and TLS times, the TLS share of
    a connection, and what a keep-alive pool saves."""
    from rich.table import Table

    from coldstart_bench.connbench import run_connbench
    from coldstart_bench.report.columns import ms

    result = run_connbench(
        url, n, http2=http2, ca_file=str(cacert) if cacert else None, insecure=insecure
    )
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


_PASS_THROUGH = {
    "allow_extra_args": True,
    "ignore_unknown_options": True,
    "help_option_names": [],
}


@app.command(context_settings=_PASS_THROUGH, add_help_option=False)
def serve(ctx: typer.Context) -> None:
    """Run the reference model server (OpenAI-compatible); `coldstart serve --help` lists
    its knobs."""
    from coldstart_bench.target.commands import serve_main

    raise typer.Exit(serve_main(list(ctx.args)))


@app.command("serve-gateway", context_settings=_PASS_THROUGH, add_help_option=False)
def serve_gateway(ctx: typer.Context) -> None:
    """Run the reference gateway (upstream pool, two-level cache);
    `coldstart serve-gateway --help` lists its options."""
    from coldstart_bench.target.commands import gateway_main

    raise typer.Exit(gateway_main(list(ctx.args)))


@app.command("make-model", context_settings=_PASS_THROUGH, add_help_option=False)
def make_model(ctx: typer.Context) -> None:
    """Write a deterministic generated model for the reference server
    (`coldstart make-model --help`)."""
    from coldstart_bench.target.commands import make_model_main

    raise typer.Exit(make_model_main(list(ctx.args)))


cli_gate.register(app)


def main() -> None:
    """Entry point of the ``coldstart`` script and ``python -m coldstart_bench``."""
    try:
        app(prog_name="coldstart")
    except KeyboardInterrupt:  # Ctrl-C outside a run (a run handles it itself)
        sys.exit(130)
