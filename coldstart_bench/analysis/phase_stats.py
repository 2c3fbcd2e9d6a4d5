"""Each variant's start-up phases as figures: the median duration of each phase with its
bootstrap interval, and beside it, for a phase read from a server's log, the median of the
duration the server printed for it itself (vLLM's "Loading weights took ..."), so the two
clocks can be compared trial set by trial set."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from coldstart_bench.analysis.metrics import PHASE_PREFIX
from coldstart_bench.analysis.phase_effects import REPORTED_PREFIX, phase_durations
from coldstart_bench.analysis.summary import metric_summary
from coldstart_bench.results.schema import TrialRecord

PHASE_STATS_COLUMNS = (
    "variant",
    "phase",
    "n",
    "median",
    "ci_low",
    "ci_high",
    "min",
    "max",
    "reported_n",
    "reported_median",
)


def phase_stats(trials: Iterable[TrialRecord], order: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per variant and phase (phases in the order they first appear) over the
    measured ok trials; the ``reported_`` columns are empty where the server printed no
    figure of its own."""
    frame = phase_durations(trials)
    columns = [c for c in frame.columns if isinstance(c, str)]
    phases = [c for c in columns if c.startswith(PHASE_PREFIX)]
    reported = [c for c in columns if c.startswith(REPORTED_PREFIX)]
    if not phases:
        return pd.DataFrame(columns=list(PHASE_STATS_COLUMNS))
    ours = metric_summary(frame, metrics=phases, order=order)
    ours["phase"] = ours.pop("metric").str.removeprefix(PHASE_PREFIX)
    theirs = metric_summary(frame, metrics=reported, order=order)
    theirs["phase"] = theirs.pop("metric").str.removeprefix(REPORTED_PREFIX)
    theirs = theirs[["variant", "phase", "n", "median"]].rename(
        columns={"n": "reported_n", "median": "reported_median"}
    )
    table = ours.merge(theirs, on=["variant", "phase"], how="left")
    table["reported_n"] = table["reported_n"].astype("Int64")
    return table[list(PHASE_STATS_COLUMNS)]
