"""What a run's headline may say: how many trials succeeded, what the statistics support
about cold TTFT, and the biggest clear win — found here, worded by the report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from coldstart_bench.analysis.effects import Effect
from coldstart_bench.analysis.metrics import EFFECT_METRICS
from coldstart_bench.analysis.summary import VariantSummary


@dataclass(frozen=True)
class Headline:
    ok: int  # measured trials that succeeded
    total: int  # measured trials run (skipped ones not counted)
    skipped: int
    cold_ttft_medians: tuple[float, ...]  # one per variant with a cold TTFT
    # Effects on cold TTFT were computed (enough trials per variant for an interval) ...
    cold_ttft_compared: bool
    # ... and these are clear: the factors that move it. No variant is called fastest:
    # the variants that differ only in other factors are not clearly apart.
    cold_ttft_effects: tuple[Effect, ...]
    best_win: Effect | None  # the biggest clear improvement, headline metrics first
    streamed: bool = True  # requests streamed tokens: "cold TTFT", else the first response


def headline(
    frame: pd.DataFrame,
    ok: pd.DataFrame,
    rows: Sequence[VariantSummary],
    effects: Sequence[Effect],
    streamed: bool = True,
) -> Headline:
    """What may be said of a run: ``frame`` its trials, ``ok`` the measured ok ones."""
    counted = frame[~frame["warmup_trial"].astype(bool)] if not frame.empty else frame
    skipped = int((counted["status"] == "skipped").sum()) if not frame.empty else 0
    on_cold = [e for e in effects if e.metric == "cold_ttft_ms"]
    # The headline metrics first: a 100 % cut of a 0.1 ms connect matters less than 10 %
    # of the first token.
    priority = {m: i for i, m in enumerate(EFFECT_METRICS)}
    wins = sorted(
        (e for e in effects if e.verdict == "better"),
        key=lambda e: (priority.get(e.metric, 99), -e.gain),
    )
    return Headline(
        ok=len(ok),
        total=len(counted) - skipped,
        skipped=skipped,
        cold_ttft_medians=tuple(m for r in rows if (m := r.figure("cold_ttft_ms")) is not None),
        cold_ttft_compared=bool(on_cold),
        cold_ttft_effects=tuple(e for e in on_cold if e.finding),
        best_win=wins[0] if wins else None,
        streamed=streamed,
    )
