"""``coldstart baseline save|list|rm``: named baselines (a run's records kept under
``RESULTS_DIR/baselines/NAME``), for ``coldstart gate --baseline NAME``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from coldstart_bench.cli.common import ResultsDirOption, RunArg, stdout_console, user_errors
from coldstart_bench.cli.help import PanelGroup, PlainCommand, command_app

app = command_app()
baseline_app = command_app(
    cls=PanelGroup,
    help="Save, list and remove named baselines.\n\nA baseline is a run's run.json and "
    "trials.jsonl kept under RESULTS_DIR/baselines/NAME; every command that takes a RUN "
    "takes its NAME too.",
    no_args_is_help=True,
)


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
            f"{name}: {meta.scenario.name} · run {meta.run_id} · "
            f"{len(run.measured)} trials · {meta.started_at}",
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
