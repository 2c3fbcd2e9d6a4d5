"""``coldstart run`` and ``coldstart report``: run a scenario, print its summary and write
its report; write the report of an existing run."""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from coldstart_bench.cli.common import (
    OtlpExportOption,
    ResultsDirOption,
    RunArg,
    RunIdOption,
    ScenarioArg,
    VariantOption,
    VarOption,
    export_traces,
    parse_pairs,
    parse_shard,
    parse_variant_filters,
    stderr_console,
    stdout_console,
    user_errors,
)
from coldstart_bench.cli.help import PlainCommand, command_app
from coldstart_bench.errors import ColdstartError, ResultsNotWritable

app = command_app()

REPORT_NOT_WRITTEN = ResultsNotWritable.exit_code


class ExecutorChoice(enum.StrEnum):
    local = "local"
    ray = "ray"


def _executor(choice: ExecutorChoice, ray_address: str | None) -> Any:
    if choice is ExecutorChoice.ray:
        from coldstart_bench.run.ray import RayExecutor

        return RayExecutor(ray_address)
    if ray_address is not None:
        raise ColdstartError("--ray-address needs --executor ray")
    from coldstart_bench.run.executors import LocalExecutor

    return LocalExecutor()


@app.command(cls=PlainCommand)
@user_errors
def run(
    scenario: ScenarioArg,
    repetitions: Annotated[
        int | None,
        typer.Option(
            "--repetitions", "-n", metavar="N", help="Trials per variant (overrides the scenario)."
        ),
    ] = None,
    warmup_trials: Annotated[
        int | None,
        typer.Option("--warmup-trials", metavar="N", help="Discarded warm-up trials per variant."),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(metavar="S", help="Seed of the trial order (default: random, recorded)."),
    ] = None,
    variant: VariantOption = None,
    results_dir: ResultsDirOption = Path("results"),
    run_id: RunIdOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    no_report: Annotated[
        bool, typer.Option("--no-report", help="Do not write the report at the end.")
    ] = False,
    otlp_export: OtlpExportOption = None,
    history: Annotated[
        str | None,
        typer.Option(
            "--history",
            metavar="PATH|URL",
            help="Add the run to this history store (a SQLite file or a postgresql:// URL) "
            "when it ends.",
        ),
    ] = None,
    var: VarOption = None,
    shard: Annotated[
        str | None,
        typer.Option(
            "--shard", metavar="I/N", help="Run only shard I of N (needs a fixed --seed)."
        ),
    ] = None,
    executor: Annotated[
        ExecutorChoice,
        typer.Option(
            "--executor", help="Where trials run: here, or on a Ray cluster (one per node)."
        ),
    ] = ExecutorChoice.local,
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray-address", metavar="ADDRESS", help="An existing Ray cluster, e.g. auto."
        ),
    ] = None,
    allow_large: Annotated[
        bool,
        typer.Option("--allow-large", help="Run more than 1,000 variants or 20,000 trials anyway."),
    ] = False,
    sequential: Annotated[
        bool,
        typer.Option(
            "--sequential",
            help="A/B by the scenario's [gate] factor: after every round, test; stop once "
            "regression or no regression is decided (repetitions is the most rounds).",
        ),
    ] = False,
    calibrate: Annotated[
        bool,
        typer.Option(
            "--calibration/--no-calibration",
            help="Measure the machine's speed before each trial (~0.06 s), so that gates "
            "can tell a slower machine from a slower build.",
        ),
    ] = True,
    cpu_accounting: Annotated[
        str,
        typer.Option(
            "--cpu-accounting",
            metavar="HOW",
            help="The services' CPU work and memory: auto (a cgroup per service where one "
            "can be made, else the process table), proc (the process table), off.",
        ),
    ] = "auto",
    keep_going: Annotated[
        bool,
        typer.Option(
            "--keep-going",
            help="Run every trial even when they keep failing the same way (by default the "
            "run stops, saying why, once its first 2 trials or any 5 in a row fail alike).",
        ),
    ] = False,
) -> None:
    """Start the scenario's services cold for every trial, time everything, print a table
    and write the report.

    The report (tables, CSV, plots, one HTML page) goes into the run directory.

    A run whose trials keep failing the same way (a wrong readiness path, a server that
    cannot start) stops early and says why; --keep-going runs them all.

    Exit code: 0 every trial ok; 1 some trial failed or timed out; 2 bad input (scenario,
    options, a program not installed, a run too large); 3 the run could not be completed
    (a setup command failed, the results or the report could not be written: a full disk);
    130 / 143 interrupted (SIGINT / SIGTERM). Finished trials are kept in every case."""
    from coldstart_bench.cli.progress import PlainProgress, ProgressObserver
    from coldstart_bench.run.session import RunOptions, run_scenario
    from coldstart_bench.scenario.reader import read_scenario, with_vars

    loaded = with_vars(read_scenario(scenario), parse_pairs(var or [], "--var"))
    options = RunOptions(
        results_dir=results_dir,
        run_id=run_id,
        repetitions=repetitions,
        warmup_trials=warmup_trials,
        seed=seed,
        variants=parse_variant_filters(variant or []),
        shard=parse_shard(shard),
        executor=_executor(executor, ray_address),
        allow_large=allow_large,
        keep_going=keep_going,
        accounting=_accounting(cpu_accounting),
        calibrate=calibrate,
        stop_rule=_sequential_stop(loaded, repetitions) if sequential else None,
    )
    err = stderr_console()
    if quiet:
        outcome = run_scenario(loaded, options)
    else:
        shown = ProgressObserver(err) if err.is_terminal else PlainProgress(err)
        with shown as observer:
            outcome = run_scenario(loaded, options, observer)
    out = stdout_console()
    summary, analysis, report, problem = None, None, None, None
    if outcome.trials:
        try:
            from coldstart_bench.analysis.run_analysis import analyse, summarise_run
            from coldstart_bench.results.store import read_run

            run_data = read_run(outcome.run_dir)
            analysis = None if no_report else analyse(run_data)
            summary = analysis.summary if analysis is not None else summarise_run(run_data)
        except Exception as exc:  # the measurements are safe on disk; say so, keep the code
            problem = exc
    if analysis is not None:
        _emit(out, analysis, ("summary",))
    elif summary is not None:
        _print_summary(out, summary)
    if analysis is not None:
        from coldstart_bench.report.build import FORMATS, write_report

        if not quiet:
            err.print("writing the report ...", markup=False)
        try:
            report = write_report(analysis, None, FORMATS)
        except Exception as exc:
            problem = exc
    if otlp_export and outcome.trials:
        export_traces(err, outcome.trials, outcome.run_dir.name, otlp_export)
    if history is not None and outcome.trials:
        from coldstart_bench.cli.history import add_run
        from coldstart_bench.history.store import HistoryStore
        from coldstart_bench.results.store import read_run

        try:
            with HistoryStore(history) as store:
                new, figures = add_run(read_run(outcome.run_dir), store)
        except ColdstartError as exc:  # the run stands; the history can be added to later
            err.print(f"warning: not added to the history: {exc}", style="yellow", markup=False)
        else:
            said = f"added {figures:,} figures" if new else "already held the run"
            err.print(f"history: {store.shown}: {said}", markup=False)
    if outcome.status == "interrupted":
        kept = f"{len(outcome.trials)} finished trial(s) kept in {outcome.run_dir}"
        err.print(f"interrupted ({outcome.interrupted_by}); {kept}", style="yellow", markup=False)
    else:
        err.print(f"results: {outcome.run_dir}", markup=False)
    if outcome.gave_up is not None:
        err.print(f"stopped: {outcome.gave_up}", style="red", markup=False)
    done = sum(not t.warmup for t in outcome.trials)
    if outcome.stopped_early is not None:
        err.print(
            f"stopped after {done} measured trial(s): {outcome.stopped_early} — "
            f"coldstart gate {outcome.run_dir} gives the verdict",
            markup=False,
        )
    elif sequential and outcome.status == "complete" and outcome.gave_up is None:
        err.print(
            f"sequential A/B: not decided within its {done} measured trial(s) — coldstart "
            f"gate {outcome.run_dir} says what they show",
            markup=False,
        )
    if report is not None:
        _print_report(out, err, report)
    elif problem is not None:
        err.print(
            f"error: the report could not be written ({type(problem).__name__}: {problem}); "
            f"the results are intact — retry with: coldstart report {outcome.run_dir}",
            style="red",
            markup=False,
        )
        raise typer.Exit(REPORT_NOT_WRITTEN)
    raise typer.Exit(outcome.exit_code)


def _accounting(text: str) -> str:
    if text not in ("auto", "proc", "off"):
        raise ColdstartError(f"--cpu-accounting: {text!r}; choose auto, proc or off")
    return text


def _sequential_stop(loaded: Any, repetitions: int | None) -> Any:
    """The stop rule of a sequential A/B run, from the scenario's [gate] table."""
    from coldstart_bench.gate.evaluate import settings_from_table
    from coldstart_bench.gate.sequential import SequentialDesign, SequentialStop

    table = loaded.scenario.gate.model_dump(mode="json", exclude_none=True)
    settings = settings_from_table(table, {})
    if settings.factor is None or settings.baseline_level is None:
        raise ColdstartError(
            f"--sequential compares the levels of the [gate] factor: {loaded.path} has no "
            '[gate] factor and baseline_level (e.g. factor = "build", baseline_level = '
            '"base")'
        )
    levels = list(dict.fromkeys(v.factors.get(settings.factor) for v in loaded.variants))
    if None in levels or len(levels) < 2 or settings.baseline_level not in levels:
        shown = ", ".join(repr(lv) for lv in levels if lv is not None) or "none"
        raise ColdstartError(
            f"--sequential compares the levels of [gate] factor {settings.factor!r}: it needs "
            f"that factor in the matrix with baseline_level {settings.baseline_level!r} and at "
            f"least one other level (levels in {loaded.path}: {shown})"
        )
    rounds = repetitions if repetitions is not None else loaded.scenario.repetitions
    design = SequentialDesign(
        settings.factor, settings.baseline_level, rounds, per_trial_machine=True
    )
    return SequentialStop(design, settings, table)


def _print_summary(out: Any, summary: Any) -> None:
    """The summary table, then what failed and what was skipped."""
    from coldstart_bench.report.terminal import print_run_summary

    print_run_summary(out, summary)
    sys.stdout.flush()


def _emit(out: Any, analysis: Any, parts: tuple[str, ...]) -> None:
    """Parts of the run's terminal form (its exporter) on standard output."""
    from coldstart_bench.report.run_report import RunReport
    from coldstart_bench.report.terminal import TerminalExporter

    for output in TerminalExporter(out, parts).export(RunReport(analysis, "")):
        out.file.write(output.data.decode("utf-8"))
    sys.stdout.flush()


def _print_report(out: Any, err: Any, report: Any) -> None:
    analysis = report.analysis
    _emit(out, analysis, ("findings",))
    for problem in analysis.summary.run.problems:
        err.print(f"note: {problem}", style="yellow", markup=False)
    html = report.out_dir / "report.html"
    where = html if html in report.files else report.out_dir
    err.print(f"report: {where}", markup=False)


@app.command(cls=PlainCommand)
@user_errors
def report(
    run: RunArg,
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="DIR", help="Where to write (default: RUN/report)."),
    ] = None,
    formats: Annotated[
        str,
        typer.Option(
            "--format", metavar="LIST", help="Comma-separated: html, md, csv, png, trace."
        ),
    ] = "html,md,csv,png,trace",
    results_dir: ResultsDirOption = Path("results"),
    otlp_export: OtlpExportOption = None,
) -> None:
    """Write the report of a run: tables, CSV, PNG plots and one HTML page.

    summary.md/.csv, trials.csv, effects.csv, the plots, report.html and trace.json (every
    trial as a trace, for ui.perfetto.dev); for interrupted and partly failed runs too."""
    from coldstart_bench.analysis.digest import read_digest
    from coldstart_bench.analysis.run_analysis import analyse
    from coldstart_bench.report.build import parse_formats, write_report
    from coldstart_bench.results.baselines import resolve_run_dir

    wanted = parse_formats(formats)
    run_dir = resolve_run_dir(run, results_dir)
    err = stderr_console()
    err.print(f"reading {run_dir} ...", markup=False)
    digest = read_digest(run_dir)
    err.print(f"analysing {digest.total:,} trials ...", markup=False)
    analysis = analyse(digest)
    read = digest.run
    console = stdout_console()
    _emit(console, analysis, ("summary",))  # before the files, which take a while to draw
    err.print("writing the report ...", markup=False)
    built = write_report(analysis, out, wanted)
    _print_report(console, err, built)
    if otlp_export:
        export_traces(err, read.trials, read.metadata.run_id, otlp_export)
