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


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class PlainProgress:
    """Progress for a pipe or a CI log, where a bar would be drawn once at the end: one
    plain line per finished trial (count, elapsed, estimate left, its result), and while a
    trial or a setup command runs, a line every :data:`HEARTBEAT_S` so that a log never
    falls silent for long (a vLLM trial takes minutes)."""

    HEARTBEAT_S = 15.0

    def __init__(self, console: Console) -> None:
        import threading
        import time

        self.console = console
        self._now = time.monotonic
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="progress", daemon=True)
        self._began = self._now()
        self._said = self._began
        self._doing = "starting"
        self._doing_since = self._began
        self._total = 0
        self._done = 0

    def __enter__(self) -> PlainProgress:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def _say(self, text: str) -> None:
        with self._lock:
            self.console.print(text, markup=False, highlight=False, soft_wrap=True)
            self._said = self._now()

    def _beat(self) -> None:
        while not self._stop.wait(1.0):
            now = self._now()
            if now - self._said >= self.HEARTBEAT_S:
                self._say(f"  ... {self._doing} ({_clock(now - self._doing_since)} so far)")

    def run_started(self, run_dir: Path, trials: Sequence[TrialSpec]) -> None:
        self._total = len(trials)
        self._say(f"run directory: {run_dir}")
        self._say(f"{self._total} trial(s) to run")

    def note(self, text: str) -> None:
        self._say(text)

    def setup_started(self, argv: Sequence[str]) -> None:
        from coldstart_bench.results.redact import redact_argv

        shown = " ".join(redact_argv(argv))
        self._doing, self._doing_since = f"setup: {shown}", self._now()
        self._say(f"setup: {shown}")

    def trial_started(self, trial: TrialSpec) -> None:
        label = "warm-up trial" if trial.warmup else "trial"
        self._doing = f"{label} {trial.index + 1}/{self._total} [{trial.variant.id}] running"
        self._doing_since = self._now()

    def trial_finished(self, trial: TrialSpec, record: TrialRecord) -> None:
        self._done += 1
        elapsed = self._now() - self._began
        left = elapsed / self._done * (self._total - self._done)
        label = "warm-up " if trial.warmup else ""
        self._say(
            f"[{self._done}/{self._total} · {_clock(elapsed)} · ~{_clock(left)} left] "
            f"{label}{trial.variant.id}: {headline(record)}"
        )
        self._doing = "between trials"
        self._doing_since = self._now()
