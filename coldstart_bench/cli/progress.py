"""A rich progress bar for ``coldstart run``: trials done, ETA, and the last trial's result."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Column

from coldstart_bench.plan.order import TrialSpec
from coldstart_bench.report.columns import ms
from coldstart_bench.results.schema import TrialRecord


def headline(record: TrialRecord) -> str:
    if record.status == "ok":
        if record.cold_ttft_ms is not None:
            return f"cold TTFT {ms(record.cold_ttft_ms)} ms"
        return f"ready {ms(record.ready_ms)} ms"
    reason = (record.error or "").split("\n", 1)[0]
    if len(reason) > 70:
        reason = reason[:67] + "..."
    return f"{record.status.upper()}: {reason}"


class ProgressObserver:
    """Fixed-width figures first (bar, count, elapsed, ETA), then the trial running now and
    the last result, cut to fit, so a narrow terminal still shows the ETA."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._progress = Progress(
            TextColumn("[bold]trials"),
            BarColumn(bar_width=20),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn(
                "{task.fields[status]}",
                markup=False,
                table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1),
            ),
            console=console,
            transient=False,
            expand=True,
        )
        self._task: TaskID | None = None
        self._last = ""

    def __enter__(self) -> ProgressObserver:
        self._progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._progress.stop()

    def run_started(self, run_dir: Path, trials: Sequence[TrialSpec]) -> None:
        self.console.print(f"run directory: {run_dir}", highlight=False)
        self._task = self._progress.add_task("trials", total=len(trials), status="")

    def note(self, text: str) -> None:
        """One line about the run as it starts (e.g. what ``{free_cpus}`` came to)."""
        self.console.print(text, markup=False, highlight=False)

    def setup_started(self, argv: Sequence[str]) -> None:
        from coldstart_bench.results.redact import redact_argv

        shown = " ".join(redact_argv(argv))
        self.console.print(f"setup: {shown}", markup=False, highlight=False)

    def trial_started(self, trial: TrialSpec) -> None:
        if self._task is not None:
            label = "warm-up " if trial.warmup else ""
            status = f"{label}{trial.variant.id}" + (f" | last: {self._last}" if self._last else "")
            self._progress.update(self._task, status=status)

    def trial_finished(self, trial: TrialSpec, record: TrialRecord) -> None:
        self._last = headline(record)
        if self._task is not None:
            self._progress.update(self._task, advance=1, status=f"last: {self._last}")
