"""The report's first sentences: how many trials succeeded, what the statistics say about
cold TTFT, and the biggest clear win — nothing the intervals do not support."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from coldstart_bench.analysis.effects import EFFECT_METRICS, Effect
from coldstart_bench.analysis.frames import measured_ok
from coldstart_bench.analysis.summary import VariantSummary


def headline(frame: pd.DataFrame, rows: Sequence[VariantSummary], effects: Sequence[Effect]) -> str:
    """Trial counts; cold TTFT as one median, or the factors that clearly change it, or "no
    clear difference" with the spread of the medians; then the biggest clear win on any
    metric. No variant is called fastest: that would rank noise."""
    counted = frame[~frame["warmup"].astype(bool)] if not frame.empty else frame
    skipped = int((counted["status"] == "skipped").sum()) if not frame.empty else 0
    total = len(counted) - skipped
    ok = len(measured_ok(frame))
    medians = [r.cold_ttft_p50 for r in rows if r.cold_ttft_p50 is not None]
    if not medians:
        return f"No measured trial succeeded ({ok} of {total} ok); see Failures."
    parts = [f"{ok} of {total} measured trials ok" + (f" ({skipped} skipped)." if skipped else ".")]
    parts.append(_cold_ttft(medians, effects))
    # The headline metrics first: a 100 % cut of a 0.1 ms connect matters less than 10 %
    # of the first token.
    priority = {m: i for i, m in enumerate(EFFECT_METRICS)}
    wins = sorted(
        (e for e in effects if e.finding and e.ratio < 1),
        key=lambda e: (priority.get(e.metric, 99), e.ratio),
    )
    if wins:
        parts.append(f"Biggest clear win: {wins[0].sentence()}.")
    return " ".join(parts)


def _cold_ttft(medians: list[float], effects: Sequence[Effect]) -> str:
    if len(medians) == 1:
        return f"Cold TTFT (spawn → first token): {medians[0]:,.1f} ms median."
    low, high = min(medians), max(medians)
    span = f"medians {low:,.0f}–{high:,.0f} ms across {len(medians)} variants"
    on_cold = [e for e in effects if e.metric == "cold_ttft_ms"]
    if not on_cold:
        return f"Cold TTFT: {span}; too few trials per variant for an interval, so no ranking."
    clear = [e for e in on_cold if e.finding]
    if not clear:
        return f"No clear difference in cold TTFT ({span}, spread {high / low:.2f}×)."
    # Named are the factors that clearly move it; the fastest variant is not, as the
    # variants that differ only in the other factors are not clearly apart.
    said = "; ".join(e.sentence() for e in clear)
    return f"Cold TTFT ({span}): {said}."
