"""``coldstart gate`` and ``coldstart compare``: parse, call :mod:`coldstart_bench.gate`,
print."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from coldstart_bench.cli.common import (
    RUN_HELP,
    ResultsDirOption,
    RunArg,
    named_digest,
    stderr_console,
    stdout_console,
    user_errors,
)
from coldstart_bench.cli.gate_history import (
    AddOption,
    GateBranchOption,
    GateHistoryOption,
    WindowOption,
    gate_with_history,
)
from coldstart_bench.cli.gate_options import (
    ConfidenceOption,
    MaxDetectableOption,
    MaxRegressionOption,
    MetricOption,
    PerTrialMachineOption,
    fraction,
    parse_budgets,
    settings_of,
)
from coldstart_bench.cli.help import PlainCommand, command_app
from coldstart_bench.history import DEFAULT_WINDOW

app = command_app()


def _print_result(
    result: Any, title: str, words: bool = False, json_out: str | None = None
) -> None:
    """The gate's (or comparison's) terminal form on standard output — on standard error
    where the JSON goes to standard output (``--json -``), so that it can be piped."""
    from coldstart_bench.gate.formats import GateTerminalExporter

    out = stderr_console() if json_out == "-" else stdout_console()
    for output in GateTerminalExporter(out, title, words).export(result):
        out.file.write(output.data.decode("utf-8"))
    out.file.flush()


def _two_runs(base_run: Any, new_run: Any, settings: Any) -> Any:
    """Two runs compared variant by variant, with their machines compared first."""
    from coldstart_bench.gate.matching import SAME_RUN_WARNING, same_run
    from coldstart_bench.gate.two_runs import two_runs

    if same_run(base_run, new_run):
        stderr_console().print(f"warning: {SAME_RUN_WARNING}", style="yellow", markup=False)
    return two_runs(base_run, new_run, settings)


@app.command(cls=PlainCommand)
@user_errors
def gate(
    run: RunArg,
    baseline: Annotated[
        str | None,
        typer.Option("--baseline", metavar="RUN", help="The run to judge against. " + RUN_HELP),
    ] = None,
    factor: Annotated[
        str | None,
        typer.Option("--factor", metavar="FACTOR", help="A/B inside RUN: the factor to compare."),
    ] = None,
    baseline_level: Annotated[
        str | None,
        typer.Option(
            "--baseline-level", metavar="LEVEL", help="With --factor: the baseline level."
        ),
    ] = None,
    metric: MetricOption = None,
    max_regression: MaxRegressionOption = None,
    confidence: ConfidenceOption = None,
    max_detectable: MaxDetectableOption = None,
    per_trial_machine: PerTrialMachineOption = None,
    allow_drift: Annotated[
        bool,
        typer.Option(
            "--allow-drift",
            help="Compare two runs even where their machines' speed differed by more than "
            "--max-regression (their calibrations say so).",
        ),
    ] = False,
    budget: Annotated[
        list[str] | None,
        typer.Option(
            "--budget", metavar="METRIC=MS", help="An upper limit on a median (repeatable)."
        ),
    ] = None,
    junit: Annotated[
        str | None, typer.Option("--junit", metavar="FILE", help="Write JUnit XML here.")
    ] = None,
    summary: Annotated[
        str | None,
        typer.Option(
            "--summary",
            metavar="FILE",
            help="Append Markdown here (e.g. $GITHUB_STEP_SUMMARY; an empty name, a variable "
            "that is not set, is skipped with a warning).",
        ),
    ] = None,
    json_out: Annotated[
        str | None,
        typer.Option(
            "--json",
            metavar="FILE",
            help="Write the verdict as one JSON object here (- for standard output).",
        ),
    ] = None,
    require_wall: Annotated[
        bool,
        typer.Option(
            "--require-wall",
            help="Where wall time cannot be judged (a busy machine) but the CPU work can, "
            "say inconclusive instead of letting the CPU work decide.",
        ),
    ] = False,
    if_no_baseline: Annotated[
        str,
        typer.Option(
            "--if-no-baseline",
            metavar="error|pass",
            help="Where --baseline names no run directory and no saved baseline yet: exit 2 "
            "(error), or pass and say so (pass: a recipe's first run, before it saves one).",
        ),
    ] = "error",
    history: GateHistoryOption = None,
    branch: GateBranchOption = None,
    window: WindowOption = DEFAULT_WINDOW,
    add: AddOption = False,
    results_dir: ResultsDirOption = Path("results"),
) -> None:
    """Pass or fail a run against a baseline, the history, or its A/B levels against each
    other.

    Exit code: 0 pass (warnings allowed), 1 regression or budget exceeded, 2 bad input,
    3 an output could not be written, 4 inconclusive: the machine drifted between the two
    runs, a comparison could not have found the change it is asked to find, or too few
    trials. A run made with `coldstart run --sequential` is judged by the same sequential
    test that stopped it. With --history, the baseline is the last --window runs of the
    scenario before RUN (on --branch); with none yet, the gate passes and says so."""
    from coldstart_bench.errors import GateInputError
    from coldstart_bench.gate.evaluate import evaluate
    from coldstart_bench.gate.formats import (
        GateJsonExporter,
        GateJunitExporter,
        GateMarkdownExporter,
    )
    from coldstart_bench.gate.history_gate import first_run
    from coldstart_bench.gate.matching import sides_from_factor
    from coldstart_bench.gate.sequential import design_of, judge
    from coldstart_bench.results.baselines import baseline_exists
    from coldstart_bench.results.store import read_run

    if if_no_baseline not in ("error", "pass"):
        raise GateInputError(f"--if-no-baseline: {if_no_baseline!r} is neither error nor pass")
    new_read = named_digest(run, results_dir)
    new_run = new_read.run
    settings = settings_of(
        new_run,
        metric,
        max_regression,
        confidence,
        max_detectable=fraction(max_detectable, "--max-detectable"),
        budgets=parse_budgets(budget or []),
        factor=factor,
        baseline_level=baseline_level,
        allow_drift=allow_drift or None,
        require_wall=require_wall or None,
        per_trial_machine=per_trial_machine,
    )
    if baseline is not None and settings.factor is not None and factor is not None:
        raise GateInputError("give either --baseline or --factor, not both")
    if history is not None and (baseline is not None or factor is not None):
        raise GateInputError("give one of --history, --baseline and --factor")
    if history is None and (add or branch is not None):
        raise GateInputError("--add and --branch go with --history")
    against_runs = baseline is not None or history is not None
    design = design_of(new_run) if not against_runs else None
    if design is None and not against_runs and new_run.metadata.stopped_early:
        raise GateInputError(
            f"{new_run.run_dir}: the run stopped early ({new_run.metadata.stopped_early}) but "
            "its run.json has no sequential stop_rule: judged as a fixed design, its looks "
            "would be ignored and its error rates not hold; restore run.json's stop_rule"
        )
    if design is not None:
        given = (
            metric,
            max_regression,
            confidence,
            max_detectable,
            factor,
            baseline_level,
            per_trial_machine,
        )
        if any(v is not None for v in given):
            raise GateInputError(
                "this run was stopped by its sequential test: it is judged with the [gate] "
                "settings that test used; leave out --metric, --max-regression, --confidence, "
                "--max-detectable, --factor, --baseline-level and --[no-]per-trial-machine"
            )
        result = judge(read_run(new_run.run_dir), design, settings).result
    elif history is not None:
        result = gate_with_history(
            read_run(new_run.run_dir), history, settings, branch, window, add
        )
    elif (
        baseline is not None
        and if_no_baseline == "pass"
        and not baseline_exists(baseline, results_dir)
    ):
        note = (
            f"baseline: {baseline} is neither a run directory nor a saved baseline yet: "
            "nothing to judge, so the gate passes (--if-no-baseline pass); save one with "
            "`coldstart baseline save RUN --name NAME`"
        )
        result = first_run(new_read, settings, note, base_label=baseline)
    elif baseline is not None:
        result = _two_runs(named_digest(baseline, results_dir), new_read, settings)
    elif settings.factor is not None and settings.baseline_level is not None:
        pairs = sides_from_factor(new_read, settings.factor, settings.baseline_level)
        result = evaluate(pairs, settings)
    else:
        raise GateInputError(
            "nothing to compare with: give --baseline RUN, or --factor F "
            "--baseline-level L for an A/B run (or set them in the scenario's [gate])"
        )
    result = dataclasses.replace(result, busy=busy_note(new_read))
    _print_result(result, f"gate: {result.verdict}", json_out=json_out)
    for path, exporter, append in (
        (_output_path(summary, "--summary"), GateMarkdownExporter(), True),
        (_output_path(junit, "--junit"), GateJunitExporter(), False),
        (_output_path(json_out, "--json"), GateJsonExporter(), False),
    ):
        if path is not None:
            for output in exporter.export(result):
                _write(path, output.data.decode("utf-8"), append)
    raise typer.Exit(result.exit_code)


def busy_note(read: Any) -> str | None:
    """What a busy machine did to the measures, where the run (its digest) says it was
    busy."""
    from coldstart_bench.analysis.machine import summarise_machine

    machine = summarise_machine(read.machine)
    if not machine.busy:
        return None
    return (
        "the machine was busy (" + (machine.text() or "") + "): wall times are inflated and "
        "noisy; CPU work much less, unless the server's threads outnumber the CPUs left free "
        "and spin while they wait — pin them for a gate (OMP_NUM_THREADS, {free_cpus})"
    )


def _output_path(text: str | None, option: str) -> Path | None:
    """An output option's file: none given, or given empty (``--summary
    "$GITHUB_STEP_SUMMARY"`` with the variable unset), writes nothing — the latter with a
    warning, so that the verdict's exit code is not lost to an error about a file."""
    if text is None:
        return None
    if not text.strip():
        stderr_console().print(
            f"warning: {option} was given an empty file name (an unset variable?); "
            "nothing written for it",
            style="yellow",
            markup=False,
        )
        return None
    return Path(text)


def _write(path: Path | None, text: str, append: bool = False) -> None:
    """A gate's output file (``-``: standard output); one that cannot be written is exit 3,
    never 1 (a regression)."""
    if path is None:
        return
    from coldstart_bench.errors import ResultsNotWritable

    if str(path) == "-":
        sys.stdout.write(text)
        return
    try:
        with open(path, "a" if append else "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        raise ResultsNotWritable(f"cannot write {path}: {exc.strerror or exc}") from None


@app.command(cls=PlainCommand)
@user_errors
def compare(
    base: Annotated[
        str,
        typer.Argument(metavar="BASE_RUN", help="The baseline. " + RUN_HELP, show_default=False),
    ],
    new: Annotated[
        str, typer.Argument(metavar="NEW_RUN", help="The new run. " + RUN_HELP, show_default=False)
    ],
    metric: MetricOption = None,
    max_regression: MaxRegressionOption = None,
    confidence: ConfidenceOption = None,
    max_detectable: MaxDetectableOption = None,
    per_trial_machine: PerTrialMachineOption = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", metavar="DIR", help="Where compare.md/.csv go (default: NEW_RUN/compare)."
        ),
    ] = None,
    results_dir: ResultsDirOption = Path("results"),
    json_out: Annotated[
        str | None,
        typer.Option(
            "--json",
            metavar="FILE",
            help="Write the comparison as one JSON object here (- for standard output).",
        ),
    ] = None,
) -> None:
    """Compare two runs variant by variant, with the statistics the gate uses.

    The same comparisons as `coldstart gate --baseline` — the same p-values, intervals and
    machine check — worded as slower / faster / no change ("can't tell" where a slowdown of
    the detectable bound could have gone unseen). Rows follow NEW_RUN's scenario order;
    compare.md and compare.csv go to NEW_RUN/compare/ (or --out)."""
    from coldstart_bench.gate.formats import (
        CompareCsvExporter,
        CompareMarkdownExporter,
        GateJsonExporter,
    )
    from coldstart_bench.results.store import atomic_write_bytes

    base_read, new_read = named_digest(base, results_dir), named_digest(new, results_dir)
    new_run = new_read.run
    settings = settings_of(
        new_run,
        metric,
        max_regression,
        confidence,
        max_detectable=fraction(max_detectable, "--max-detectable"),
        per_trial_machine=per_trial_machine,
    )
    result = _two_runs(base_read, new_read, settings)
    _print_result(result, "compare", words=True, json_out=json_out)
    target = out or new_run.run_dir / "compare"
    target.mkdir(parents=True, exist_ok=True)
    for exporter in (CompareMarkdownExporter(), CompareCsvExporter()):
        for output in exporter.export(result):
            atomic_write_bytes(target / output.name, output.data)
    json_path = _output_path(json_out, "--json")
    if json_path is not None:
        for output in GateJsonExporter("coldstart-bench.compare").export(result):
            _write(json_path, output.data.decode("utf-8"))
    stderr_console().print(f"written: {target}/compare.md, compare.csv", markup=False)
