"""The CLI of ``coldstart compare``, ``coldstart gate`` and ``coldstart baseline``: parse,
call :mod:`coldstart_bench.gate`, print. Registered on the main app by :mod:`cli`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from coldstart_bench.cli_common import stderr_console, stdout_console, user_errors

baseline_app = typer.Typer(
    help="Save, list and remove named baselines (results/baselines/NAME).",
    no_args_is_help=True,
    rich_markup_mode=None,
)

ResultsDir = Annotated[Path, typer.Option("--results-dir", help="Where runs and baselines live.")]


def _parse_budgets(items: list[str]) -> dict[str, float]:
    from coldstart_bench.gate import GateInputError

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
    from coldstart_bench.gate import GateInputError
    from coldstart_bench.scenario import parse_fraction

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


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    def gate(
        new: Annotated[Path, typer.Argument(help="The run to judge.", show_default=False)],
        baseline: Annotated[
            str | None,
            typer.Option("--baseline", help="A run directory or a saved baseline name."),
        ] = None,
        factor: Annotated[
            str | None, typer.Option("--factor", help="A/B inside NEW: the factor to compare.")
        ] = None,
        baseline_level: Annotated[
            str | None, typer.Option("--baseline-level", help="With --factor: the baseline level.")
        ] = None,
        metric: Annotated[
            list[str] | None, typer.Option("--metric", help="Metric to gate (repeatable).")
        ] = None,
        max_regression: Annotated[
            str | None,
            typer.Option("--max-regression", help="Largest tolerated slowdown, e.g. 5%."),
        ] = None,
        confidence: Annotated[
            float | None, typer.Option("--confidence", help="e.g. 0.95 (significance 0.05).")
        ] = None,
        budget: Annotated[
            list[str] | None, typer.Option("--budget", help="metric=ms upper limit (repeatable).")
        ] = None,
        junit: Annotated[Path | None, typer.Option("--junit", help="Write JUnit XML here.")] = None,
        summary: Annotated[
            Path | None,
            typer.Option("--summary", help="Append Markdown here (e.g. $GITHUB_STEP_SUMMARY)."),
        ] = None,
        results_dir: ResultsDir = Path("results"),
    ) -> None:
        """Pass/fail a run against a baseline run (or A/B levels inside it).

        Exit code: 0 pass (warnings allowed), 1 regression or budget exceeded, 2 bad input or
        too few trials to decide."""
        from coldstart_bench.gate import (
            GateInputError,
            gate_junit,
            gate_markdown,
            resolve_run,
            run_gate,
            settings_for,
            sides_from_factor,
            sides_from_runs,
        )

        new_run = resolve_run(new, results_dir)
        settings = settings_for(
            new_run,
            {
                "metrics": tuple(metric or ()),
                "max_regression": _fraction(max_regression),
                "confidence": confidence,
                "budgets": _parse_budgets(budget or []),
                "factor": factor,
                "baseline_level": baseline_level,
            },
        )
        if confidence is not None and not 0.5 < confidence < 1:
            raise GateInputError("--confidence must be between 0.5 and 1, e.g. 0.95")
        if baseline is not None and settings.factor is not None and factor is not None:
            raise GateInputError("give either --baseline or --factor, not both")
        if baseline is not None:
            pairs = [sides_from_runs(resolve_run(baseline, results_dir), new_run)]
        elif settings.factor is not None and settings.baseline_level is not None:
            pairs = sides_from_factor(new_run, settings.factor, settings.baseline_level)
        else:
            raise GateInputError(
                "nothing to compare with: give --baseline RUN_OR_NAME, or --factor F "
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

    @app.command()
    @user_errors
    def compare(
        base: Annotated[
            str, typer.Argument(help="Baseline run (or saved name).", show_default=False)
        ],
        new: Annotated[str, typer.Argument(help="New run (or saved name).", show_default=False)],
        metric: Annotated[list[str] | None, typer.Option("--metric", help="Repeatable.")] = None,
        out: Annotated[
            Path | None,
            typer.Option("--out", help="Where compare.md/.csv go (default: NEW/compare)."),
        ] = None,
        confidence: Annotated[float, typer.Option("--confidence")] = 0.95,
        results_dir: ResultsDir = Path("results"),
    ) -> None:
        """Compare two runs variant by variant: medians, ratio with a bootstrap CI, a
        Mann–Whitney U p-value, and faster / slower / no change."""
        import csv
        import io

        from rich.table import Table
        from rich.text import Text

        from coldstart_bench.gate import compare_rows, compare_verdict, resolve_run, sides_from_runs
        from coldstart_bench.report.tables import md_escape
        from coldstart_bench.results import atomic_write_text

        base_run, new_run = resolve_run(base, results_dir), resolve_run(new, results_dir)
        metrics = metric or ["cold_ttft_ms", "ready_ms", "first_ttft_ms"]
        rows, unmatched = compare_rows([sides_from_runs(base_run, new_run)], metrics, confidence)
        alpha = 1 - confidence
        table = Table(title="compare", title_justify="left", header_style="bold")
        heads = ["variant", "metric", "base", "new", "ratio", "95 % CI", "p", "verdict"]
        for h in heads:
            table.add_column(
                h, justify="left" if h in ("variant", "metric", "verdict") else "right"
            )
        md = ["| " + " | ".join(heads) + " |", "|---|---|---:|---:|---:|---:|---:|---|"]
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(
            [
                "variant",
                "metric",
                "n_base",
                "n_new",
                "base_median",
                "new_median",
                "ratio",
                "ci_low",
                "ci_high",
                "p_two_sided",
                "verdict",
            ]
        )
        for c in rows:
            verdict = compare_verdict(c, alpha)
            cells = [
                f"{c.base_median:,.1f}",
                f"{c.new_median:,.1f}",
                f"{c.ratio:.3f}",
                f"[{c.ratio_low:.3f}, {c.ratio_high:.3f}]",
                f"{c.p_two_sided:.3g}",
            ]
            table.add_row(Text(c.variant), c.metric, *cells, verdict)
            variant = md_escape(c.variant)
            md.append(f"| {variant} | {c.metric} | " + " | ".join(cells) + f" | {verdict} |")
            writer.writerow(
                [
                    c.variant,
                    c.metric,
                    c.n_base,
                    c.n_new,
                    c.base_median,
                    c.new_median,
                    c.ratio,
                    c.ratio_low,
                    c.ratio_high,
                    c.p_two_sided,
                    verdict,
                ]
            )
        console = stdout_console()
        console.print(table)
        for note in unmatched:
            console.print(f"unmatched: {note}", markup=False)
        target = out or new_run.run_dir / "compare"
        target.mkdir(parents=True, exist_ok=True)
        atomic_write_text(
            target / "compare.md",
            "\n".join(md) + "\n" + "".join(f"\nunmatched: {u}" for u in unmatched),
        )
        atomic_write_text(target / "compare.csv", buffer.getvalue())
        stderr_console().print(f"written: {target}/compare.md, compare.csv", markup=False)

    @baseline_app.command("save")
    @user_errors
    def baseline_save(
        run: Annotated[Path, typer.Argument(help="The run to keep.", show_default=False)],
        name: Annotated[str, typer.Option("--name", help="e.g. main")],
        results_dir: ResultsDir = Path("results"),
    ) -> None:
        """Keep a run as a named baseline."""
        from coldstart_bench.gate import save_baseline

        path = save_baseline(run, name, results_dir)
        stdout_console().print(f"saved baseline {name!r}: {path}", markup=False)

    @baseline_app.command("list")
    @user_errors
    def baseline_list(results_dir: ResultsDir = Path("results")) -> None:
        """List the saved baselines."""
        from coldstart_bench.gate import list_baselines

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

    @baseline_app.command("rm")
    @user_errors
    def baseline_rm(
        name: Annotated[str, typer.Argument(show_default=False)],
        results_dir: ResultsDir = Path("results"),
    ) -> None:
        """Remove a saved baseline."""
        from coldstart_bench.gate import remove_baseline

        remove_baseline(name, results_dir)
        stdout_console().print(f"removed baseline {name!r}", markup=False)

    app.add_typer(baseline_app, name="baseline")
