"""``coldstart gate``, ``coldstart compare`` and ``coldstart baseline``: parse, call
:mod:`coldstart_bench.gate`, print."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from coldstart_bench.cli.common import (
    RUN_HELP,
    ResultsDirOption,
    RunArg,
    read_run,
    stderr_console,
    stdout_console,
    user_errors,
)
from coldstart_bench.cli.help import PanelGroup, PlainCommand, command_app

app = command_app()
baseline_app = command_app(
    cls=PanelGroup,
    help="Save, list and remove named baselines.\n\nA baseline is a run's run.json and "
    "trials.jsonl kept under RESULTS_DIR/baselines/NAME; every command that takes a RUN "
    "takes its NAME too.",
    no_args_is_help=True,
)

# The options gate and compare share: the same names, the same defaults (the scenario's
# [gate] table, else the built-in ones), so that both judge a comparison alike.
MetricOption = Annotated[
    list[str] | None,
    typer.Option(
        "--metric",
        metavar="METRIC",
        help="A metric to compare, e.g. ready_ms (repeatable; default: the scenario's "
        "[gate] metrics, else cold_ttft_ms).",
    ),
]
MaxRegressionOption = Annotated[
    str | None,
    typer.Option(
        "--max-regression",
        metavar="PERCENT",
        help="The largest slowdown tolerated, e.g. 5% (default: the scenario's [gate], else 5%).",
    ),
]
ConfidenceOption = Annotated[
    float | None,
    typer.Option(
        "--confidence",
        metavar="C",
        help="Confidence of the tests and intervals, e.g. 0.95 (default: the scenario's "
        "[gate], else 0.95).",
    ),
]


def _parse_budgets(items: list[str]) -> dict[str, float]:
    from coldstart_bench.errors import GateInputError

    budgets = {}
    for item in items:
        metric, sep, value = item.partition("=")
        try:
            budgets[metric.strip()] = float(value.strip().removesuffix("ms"))
        except ValueError:
            sep = ""
        if not sep:
            raise GateInputError(
                f"--budget expects metric=ms, e.g. cold_ttft_ms=1500; got {item!r}"
            )
    return budgets


def _fraction(text: str | None) -> float | None:
    if text is None:
        return None
    from coldstart_bench.errors import GateInputError
    from coldstart_bench.scenario.schema import parse_fraction

    try:
        return parse_fraction(text)
    except ValueError as exc:
        raise GateInputError(f"--max-regression: {exc}") from None


def _print_decisions(result: Any) -> None:
    from rich.table import Table
    from rich.text import Text

    out = stdout_console()
    table = Table(title=f"gate: {result.verdict}", title_justify="left", header_style="bold")
    for col in ("verdict", "variant", "metric", "base", "new", "change", "95 % CI", "p adj.", "n"):
        table.add_column(
            col, justify="right" if col not in ("verdict", "variant", "metric") else "left"
        )
    style = {"regression": "red", "warning": "yellow", "inconclusive": "yellow", "pass": "green"}
    for d in result.decisions:
        c = d.comparison
        table.add_row(
            Text(d.verdict, style=style.get(d.verdict, "")),
            Text(c.variant),
            c.metric,
            f"{c.base_median:,.1f}",
            f"{c.new_median:,.1f}",
            f"{c.change_pct:+.1f} %",
            f"[{(c.ratio_low - 1) * 100:+.1f}, {(c.ratio_high - 1) * 100:+.1f}]",
            f"{d.p_adjusted:.3g}",
            f"{c.n_base}/{c.n_new}",
        )
    out.print(table)
    for variant, metric, median, limit, ok in result.budgets:
        word = "ok" if ok else "[red]over budget[/]"
        out.print(
            f"budget {metric} {median:,.1f} ≤ {limit:,.1f} ms: {word} ({variant})", highlight=False
        )
    for d in result.decisions:
        if d.verdict in ("inconclusive", "warning", "regression"):
            out.print(
                f"{d.verdict}: {d.comparison.variant} {d.comparison.metric}: {d.reason}",
                markup=False,
            )
    for note in result.unmatched:
        out.print(f"unmatched: {note}", markup=False)
    sys.stdout.flush()


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
    budget: Annotated[
        list[str] | None,
        typer.Option(
            "--budget", metavar="METRIC=MS", help="An upper limit on a median (repeatable)."
        ),
    ] = None,
    junit: Annotated[
        Path | None, typer.Option("--junit", metavar="FILE", help="Write JUnit XML here.")
    ] = None,
    summary: Annotated[
        Path | None,
        typer.Option(
            "--summary",
            metavar="FILE",
            help="Append Markdown here (e.g. $GITHUB_STEP_SUMMARY).",
        ),
    ] = None,
    results_dir: ResultsDirOption = Path("results"),
) -> None:
    """Pass or fail a run against a baseline, or its A/B levels against each other.

    Exit code: 0 pass (warnings allowed), 1 regression or budget exceeded, 2 bad input or
    too few trials to decide."""
    from coldstart_bench.errors import GateInputError
    from coldstart_bench.gate.decide import run_gate
    from coldstart_bench.gate.formats import gate_junit, gate_markdown
    from coldstart_bench.gate.matching import (
        SAME_RUN_WARNING,
        same_run,
        sides_from_factor,
        sides_from_runs,
    )

    new_run = read_run(run, results_dir)
    settings = _settings(
        new_run,
        metric,
        max_regression,
        confidence,
        budgets=_parse_budgets(budget or []),
        factor=factor,
        baseline_level=baseline_level,
    )
    if baseline is not None and settings.factor is not None and factor is not None:
        raise GateInputError("give either --baseline or --factor, not both")
    if baseline is not None:
        base_run = read_run(baseline, results_dir)
        if same_run(base_run, new_run):
            stderr_console().print(f"warning: {SAME_RUN_WARNING}", style="yellow", markup=False)
        pairs = [sides_from_runs(base_run, new_run)]
    elif settings.factor is not None and settings.baseline_level is not None:
        pairs = sides_from_factor(new_run, settings.factor, settings.baseline_level)
    else:
        raise GateInputError(
            "nothing to compare with: give --baseline RUN, or --factor F "
            "--baseline-level L for an A/B run (or set them in the scenario's [gate])"
        )
    result = run_gate(pairs, settings)
    _print_decisions(result)
    if summary is not None:
        with open(summary, "a", encoding="utf-8") as f:
            f.write(gate_markdown(result))
    if junit is not None:
        junit.write_text(gate_junit(result), encoding="utf-8")
    if result.exit_code == 2:
        stderr_console().print(
            "inconclusive: too few trials to decide (see above for how many are needed)",
            style="yellow",
        )
    raise typer.Exit(result.exit_code)


def _settings(
    run: Any,
    metric: list[str] | None,
    max_regression: str | None,
    confidence: float | None,
    **more: Any,
) -> Any:
    """The comparison's settings: the command line over the scenario's [gate] table."""
    from coldstart_bench.errors import GateInputError
    from coldstart_bench.gate.decide import settings_for

    if confidence is not None and not 0.5 < confidence < 1:
        raise GateInputError("--confidence must be between 0.5 and 1, e.g. 0.95")
    overrides = {
        "metrics": tuple(metric or ()),
        "max_regression": _fraction(max_regression),
        "confidence": confidence,
        **more,
    }
    return settings_for(run, overrides)


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
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", metavar="DIR", help="Where compare.md/.csv go (default: NEW_RUN/compare)."
        ),
    ] = None,
    results_dir: ResultsDirOption = Path("results"),
) -> None:
    """Compare two runs variant by variant, with the statistics the gate uses.

    Medians, the ratio with its confidence interval, a Mann–Whitney U p-value, and
    faster / slower / no change. Rows follow NEW_RUN's scenario order; compare.md and
    compare.csv go to NEW_RUN/compare/ (or --out)."""
    from rich.table import Table
    from rich.text import Text

    from coldstart_bench.gate.decide import compare_rows, compare_verdict
    from coldstart_bench.gate.formats import compare_cells, compare_csv, compare_markdown
    from coldstart_bench.gate.matching import SAME_RUN_WARNING, same_run, sides_from_runs
    from coldstart_bench.results.store import atomic_write_text

    base_run, new_run = read_run(base, results_dir), read_run(new, results_dir)
    if same_run(base_run, new_run):
        stderr_console().print(f"warning: {SAME_RUN_WARNING}", style="yellow", markup=False)
    settings = _settings(new_run, metric, max_regression, confidence)
    rows, unmatched = compare_rows(
        [sides_from_runs(base_run, new_run)], settings.metrics, settings.confidence
    )
    alpha = settings.alpha
    table = Table(title="compare", title_justify="left", header_style="bold")
    for h in ("variant", "metric", "base", "new", "ratio", "95 % CI", "p", "verdict"):
        table.add_column(h, justify="left" if h in ("variant", "metric", "verdict") else "right")
    for c in rows:
        table.add_row(Text(c.variant), c.metric, *compare_cells(c), compare_verdict(c, alpha))
    console = stdout_console()
    console.print(table)
    for note in unmatched:
        console.print(f"unmatched: {note}", markup=False)
    target = out or new_run.run_dir / "compare"
    target.mkdir(parents=True, exist_ok=True)
    atomic_write_text(target / "compare.md", compare_markdown(rows, alpha, unmatched))
    atomic_write_text(target / "compare.csv", compare_csv(rows, alpha))
    stderr_console().print(f"written: {target}/compare.md, compare.csv", markup=False)


@baseline_app.command("save", cls=PlainCommand)
@user_errors
def baseline_save(
    run: RunArg,
    name: Annotated[str, typer.Option("--name", metavar="NAME", help="Its name, e.g. main.")],
    results_dir: ResultsDirOption = Path("results"),
) -> None:
    """Keep a run as a named baseline."""
    from coldstart_bench.results.baselines import resolve_run, save_baseline

    path = save_baseline(resolve_run(run, results_dir).run_dir, name, results_dir)
    stdout_console().print(f"saved baseline {name!r}: {path}", markup=False)


@baseline_app.command("list", cls=PlainCommand)
@user_errors
def baseline_list(results_dir: ResultsDirOption = Path("results")) -> None:
    """List the saved baselines."""
    from coldstart_bench.results.baselines import list_baselines

    console = stdout_console()
    found = list_baselines(results_dir)
    if not found:
        console.print(f"no baselines in {results_dir / 'baselines'}", markup=False)
    for name, run in found:
        meta = run.metadata
        console.print(
            f"{name}: {meta.get('scenario', {}).get('name')} · run {meta.get('run_id')} · "
            f"{len(run.measured)} trials · {meta.get('started_at')}",
            markup=False,
        )


@baseline_app.command("rm", cls=PlainCommand)
@user_errors
def baseline_rm(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="The baseline's name.", show_default=False)
    ],
    results_dir: ResultsDirOption = Path("results"),
) -> None:
    """Remove a saved baseline."""
    from coldstart_bench.results.baselines import remove_baseline

    remove_baseline(name, results_dir)
    stdout_console().print(f"removed baseline {name!r}", markup=False)


app.add_typer(baseline_app, name="baseline")
