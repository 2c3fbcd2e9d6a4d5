"""The report's first sentences, in words, from the findings the analysis made
(:mod:`coldstart_bench.analysis.findings`) — nothing the intervals do not support."""

from __future__ import annotations

from coldstart_bench.analysis.findings import Headline


def headline_text(found: Headline) -> str:
    """Trial counts; cold TTFT as one median, or the factors that clearly change it, or "no
    clear difference" with the spread of the medians; then the biggest clear win on any
    metric. No variant is called fastest: that would rank noise."""
    medians = found.cold_ttft_medians
    if not medians:
        return f"No measured trial succeeded ({found.ok} of {found.total} ok); see Failures."
    counts = f"{found.ok:,} of {found.total:,} measured trials ok"
    parts = [counts + (f" ({found.skipped} skipped)." if found.skipped else ".")]
    parts.append(_cold_ttft(found))
    if found.best_win is not None:
        parts.append(f"Biggest clear win: {found.best_win.sentence()}.")
    return " ".join(parts)


def _cold_ttft(found: Headline) -> str:
    medians = found.cold_ttft_medians
    # a plain HTTP answer has no token: its "first token" is the end of the response
    name, long = (
        ("cold TTFT", "Cold TTFT (spawn → first token)")
        if found.streamed
        else (
            "cold time to the first response",
            "Cold time to the first response (spawn → its end)",
        )
    )
    if len(medians) == 1:
        return f"{long}: {medians[0]:,.1f} ms median."
    low, high = min(medians), max(medians)
    span = f"medians {low:,.0f}–{high:,.0f} ms across {len(medians)} variants"
    if not found.cold_ttft_compared:
        return (
            f"{name[0].upper()}{name[1:]}: {span}; too few trials per variant for an "
            "interval, so no ranking."
        )
    if not found.cold_ttft_effects:
        return f"No clear difference in {name} ({span}, spread {high / low:.2f}×)."
    said = "; ".join(e.sentence() for e in found.cold_ttft_effects)
    return f"{name[0].upper()}{name[1:]} ({span}): {said}."
