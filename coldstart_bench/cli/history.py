"""``coldstart history add|list|show|changes``: runs kept over time in one SQLite file,
and the change points found in them."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from coldstart_bench.cli.common import (
    ResultsDirOption,
    RunArg,
    stderr_console,
    stdout_console,
    user_errors,
)
from coldstart_bench.cli.help import PanelGroup, PlainCommand, command_app
from coldstart_bench.errors import ColdstartError

app = command_app()
history_app = command_app(
    cls=PanelGroup,
    help="Keep runs in a history store and find where a metric stepped.\n\nThe store is one "
    "SQLite file (--history PATH, or $COLDSTART_HISTORY): cache or upload it between CI jobs.",
    no_args_is_help=True,
)

HistoryOption = Annotated[
    str | None,
    typer.Option(
        "--history",
        metavar="PATH|URL",
        help="The history store: a SQLite file, or a postgresql:// URL (default: "
        "$COLDSTART_HISTORY).",
    ),
]
ScenarioOption = Annotated[
    str | None,
    typer.Option("--scenario", metavar="NAME", help="Only this scenario's runs."),
]
MetricsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--metric", metavar="METRIC", help="Only these metrics, or phase:NAME (repeatable)."
    ),
]
BranchOption = Annotated[
    str | None, typer.Option("--branch", metavar="NAME", help="Only this branch's runs.")
]


def scenarios_in(store: Any, scenario: str | None, branch: str | None) -> list[str]:
    """The scenarios the history holds runs of (``scenario`` only, where given)."""
    return sorted({r.entry.scenario for r in store.runs(scenario, branch)})


def history_path(option: str | None) -> str:
    from coldstart_bench.history.store import HISTORY_ENV

    if option:
        return option
    if os.environ.get(HISTORY_ENV):
        return os.environ[HISTORY_ENV]
    raise ColdstartError(f"no history store: give --history PATH|URL or set {HISTORY_ENV}")


def add_run(
    run: Any,
    store: Any,
    commit: str | None = None,
    branch: str | None = None,
    verdict: str | None = None,
) -> tuple[bool, int]:
    """Add a run (a RunData) to an open store (``coldstart history add``, ``coldstart run
    --history``, ``coldstart gate --history --add``): whether it was new, and how many
    figures it brought. A run already there keeps its figures; a verdict is recorded."""
    from coldstart_bench.history.entry import entry_of, packed_run
    from coldstart_bench.history.source import commit_and_branch

    if commit is None or branch is None:
        found_commit, found_branch = commit_and_branch(Path.cwd())
        commit, branch = commit or found_commit, branch or found_branch
    entry, values = entry_of(run, commit, branch)
    new = store.add(dataclasses.replace(entry, verdict=verdict), values, packed_run(run))
    if not new and verdict is not None:
        store.set_verdict(entry.run_key, verdict)
    return new, len(values)


@history_app.command("add", cls=PlainCommand)
@user_errors
def history_add(
    run: RunArg,
    history: HistoryOption = None,
    commit: Annotated[
        str | None,
        typer.Option("--commit", metavar="SHA", help="Its commit (default: the CI's or git's)."),
    ] = None,
    branch: Annotated[
        str | None,
        typer.Option("--branch", metavar="NAME", help="Its branch (default: the CI's or git's)."),
    ] = None,
    results_dir: ResultsDirOption = Path("results"),
) -> None:
    """Add a run to the history (once: adding it again changes nothing)."""
    from coldstart_bench.history.store import HistoryStore
    from coldstart_bench.results.baselines import resolve_run
    from coldstart_bench.results.store import read_run

    run_dir = resolve_run(run, results_dir).run_dir
    with HistoryStore(history_path(history)) as store:
        new, figures = add_run(read_run(run_dir), store, commit, branch)
    word = f"added {figures:,} figures of" if new else "already held"
    stdout_console().print(f"{store.shown}: {word} {run_dir.name}", markup=False)


@history_app.command("list", cls=PlainCommand)
@user_errors
def history_list(
    history: HistoryOption = None, scenario: ScenarioOption = None, branch: BranchOption = None
) -> None:
    """List the runs the history holds, oldest first."""
    from coldstart_bench.history.store import HistoryStore

    console = stdout_console()
    with HistoryStore(history_path(history)) as store:
        runs = store.runs(scenario, branch)
    if not runs:
        console.print("no runs in the history", markup=False)
    for stored in runs:
        e = stored.entry
        commit = (e.commit or "—")[:10]
        console.print(
            f"{e.started_at}  {e.scenario}  {e.run_id}  {commit}  {e.branch or '—'}  "
            f"{e.trials} trials  {e.status}" + (f"  gate: {e.verdict}" if e.verdict else ""),
            markup=False,
        )


@history_app.command("show", cls=PlainCommand)
@user_errors
def history_show(
    history: HistoryOption = None,
    scenario: ScenarioOption = None,
    metric: MetricsOption = None,
    branch: BranchOption = None,
) -> None:
    """A table per scenario: each variant and metric's median, run by run."""
    from coldstart_bench.history.series import run_medians, runs_by_key, series_of
    from coldstart_bench.history.store import HistoryStore

    console = stdout_console()
    with HistoryStore(history_path(history)) as store:
        scenarios = scenarios_in(store, scenario, branch)
        for name in scenarios:
            console.print(f"{name}", markup=False)
            by_key = runs_by_key(store, name, branch)
            for variant, found in store.metrics(name):
                if metric and found not in metric:
                    continue
                runs = series_of(store, name, variant, found, branch, by_key)
                medians = "  ".join(
                    f"{(r.commit or r.run_id)[:7]} {median:,.1f}"
                    for r, median in zip(runs, run_medians(runs), strict=True)
                )
                console.print(f"  {variant} · {found}: {medians}", markup=False)


@history_app.command("changes", cls=PlainCommand)
@user_errors
def history_changes(
    history: HistoryOption = None,
    scenario: ScenarioOption = None,
    metric: MetricsOption = None,
    branch: BranchOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """One line per change point: where a metric stepped, and the commit it started with."""
    from coldstart_bench.history.series import scenario_changes
    from coldstart_bench.history.store import HistoryStore

    console = stdout_console()
    found = 0
    with HistoryStore(history_path(history)) as store:
        scenarios = scenarios_in(store, scenario, branch)
        for name in scenarios:
            for change in scenario_changes(store, name, metric, branch):
                found += 1
                if as_json:
                    typer.echo(json.dumps({"scenario": name, **change.to_dict()}))
                    continue
                machine = (
                    f"; the machine moved too ({change.machine_ratio - 1:+.0%})"
                    if change.machine_moved and change.machine_ratio is not None
                    else ""
                )
                console.print(
                    f"{name} · {change.variant} · {change.metric}: {change.ratio - 1:+.1%} "
                    f"[{change.low - 1:+.1%}, {change.high - 1:+.1%}] at "
                    f"{change.commit or change.run_id} ({change.before:,.1f} → "
                    f"{change.after:,.1f}, {_p(change.p)}){machine}",
                    markup=False,
                )
    if not found and not as_json:
        stderr_console().print("no change points", markup=False)


def _p(p: float) -> str:
    return f"p = {p:.2g}" if p >= 1e-300 else "p < 1e-300"


@history_app.command("plot", cls=PlainCommand)
@user_errors
def history_plot(
    history: HistoryOption = None,
    scenario: ScenarioOption = None,
    metric: MetricsOption = None,
    branch: BranchOption = None,
    out: Annotated[
        Path,
        typer.Option("--out", metavar="DIR", help="Where to write the pictures and pages."),
    ] = Path("history"),
) -> None:
    """One PNG and one HTML page per scenario: each metric over the commits, change points
    marked, the machine's calibration underneath (default: cold TTFT, time to ready and
    every series with a change point)."""
    from coldstart_bench.history.series import scenario_view
    from coldstart_bench.history.store import HistoryStore
    from coldstart_bench.report.history_plot import history_page, history_picture
    from coldstart_bench.results.store import atomic_write_bytes, atomic_write_text, safe_name

    console = stdout_console()
    with HistoryStore(history_path(history)) as store:
        scenarios = scenarios_in(store, scenario, branch)
        if not scenarios:
            raise ColdstartError("no runs in the history to plot")
        out.mkdir(parents=True, exist_ok=True)
        for name in scenarios:
            views, changes = scenario_view(store, name, metric, branch)
            png = history_picture(name, views)
            stem = out / f"history-{safe_name(name)}"
            if png is not None:
                atomic_write_bytes(stem.with_suffix(".png"), png)
            atomic_write_text(stem.with_suffix(".html"), history_page(name, views, changes, png))
            console.print(f"{name}: {stem}.html", markup=False)


@history_app.command("export", cls=PlainCommand)
@user_errors
def history_export(
    history: HistoryOption = None,
    scenario: ScenarioOption = None,
    branch: BranchOption = None,
    out: Annotated[
        Path, typer.Option("--out", metavar="DIR", help="Where to write the CSV files.")
    ] = Path("history-csv"),
) -> None:
    """CSV per scenario and variant in Apache Otava's layout (a row per run, a column per
    metric: the run's median), with the otava.yaml that reads them."""
    from coldstart_bench.history.export import otava_config, variant_csv
    from coldstart_bench.history.store import HistoryStore
    from coldstart_bench.results.store import atomic_write_text, safe_name

    console = stdout_console()
    tests = []
    with HistoryStore(history_path(history)) as store:
        scenarios = scenarios_in(store, scenario, branch)
        if not scenarios:
            raise ColdstartError("no runs in the history to export")
        out.mkdir(parents=True, exist_ok=True)
        for name in scenarios:
            for variant in sorted({v for v, _m in store.metrics(name)}):
                text, metrics = variant_csv(store, name, variant, branch)
                stem = safe_name(f"{name}.{variant}")
                atomic_write_text(out / f"{stem}.csv", text)
                tests.append((stem, str((out / f"{stem}.csv").resolve()), metrics))
                console.print(f"{out / stem}.csv", markup=False)
    atomic_write_text(out / "otava.yaml", otava_config(tests))


app.add_typer(history_app, name="history")
