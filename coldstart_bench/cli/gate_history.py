"""``coldstart gate --history``'s options, and the gate against a history: judge the run
against the runs before it, then (``--add``) keep it, with its verdict, for the next."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from coldstart_bench.cli.common import stderr_console

GateHistoryOption = Annotated[
    str | None,
    typer.Option(
        "--history",
        metavar="PATH|URL",
        help="Judge RUN against the runs before it in this history store (a SQLite file or a "
        "postgresql:// URL); with none yet, pass and say so.",
    ),
]
GateBranchOption = Annotated[
    str | None,
    typer.Option(
        "--branch",
        metavar="NAME",
        help="With --history: only this branch's runs make the baseline (e.g. main).",
    ),
]
WindowOption = Annotated[
    int,
    typer.Option(
        "--window",
        metavar="N",
        min=1,
        max=1000,
        help="With --history: how many of the latest comparable runs make the baseline.",
    ),
]
AddOption = Annotated[
    bool,
    typer.Option(
        "--add",
        help="With --history: add RUN to the history after judging it, with its verdict "
        "(commit and branch from the CI's environment or git).",
    ),
]


def gate_with_history(
    new_run: Any, location: str, settings: Any, branch: str | None, window: int, add: bool
) -> Any:
    from coldstart_bench.cli.history import add_run
    from coldstart_bench.gate.history_gate import judge_against_history
    from coldstart_bench.history.store import HistoryStore

    with HistoryStore(location) as store:
        result = judge_against_history(store, new_run, settings, branch, window)
        if add:
            new, figures = add_run(new_run, store, verdict=result.verdict)
            said = f"added {figures:,} figures" if new else "already held the run; verdict kept"
            stderr_console().print(f"history: {store.shown}: {said}", markup=False)
    return result
