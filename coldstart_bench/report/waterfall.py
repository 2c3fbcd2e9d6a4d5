"""The waterfall: where each variant's cold start goes, drawn from its median trial."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import matplotlib.pyplot as plt
import matplotlib.ticker
import pandas as pd

from coldstart_bench.analysis.phases import REQUEST_LANE, SPAWN_TO_READY
from coldstart_bench.report.style import GREY, OKABE_ITO, png_bytes

# The first request's parts keep their colours in every run; phases get the rest.
_REQUEST_COLOURS = {
    "connect": "#882255",  # wine, not black: the | of the cold TTFT is black
    "TLS": OKABE_ITO[6],
    "wait for headers": OKABE_ITO[5],
    "headers → first token": OKABE_ITO[3],
}
# Enough for a real engine's phases (vLLM's preset has 7, its spans 16 more): a long phase
# must never be folded into "other phases" because the palette ran out.
_PHASE_COLOURS = (
    OKABE_ITO[0], OKABE_ITO[1], OKABE_ITO[2], OKABE_ITO[4], "#8C564B", "#332288", "#BCBD22",
    "#4D4D4D", "#DDCC77", "#AA4499", "#44AA99", "#117733", "#CC6677", "#999933",
)  # fmt: skip
# Past this many milliseconds an axis counts in seconds (70,000 ms reads badly).
_SECONDS_FROM_MS = 10_000
_OTHER = "other phases (shorter)"


def _phase_styles(timeline: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """Colour and hatch per part: the request's parts fixed, the longest phases (by their
    longest span in any variant) one colour each, the rest together as "other phases" —
    so no two legend entries look alike."""
    phases = timeline[timeline["kind"] == "phase"]
    longest = (phases["end_ms"] - phases["start_ms"]).groupby(phases["part"]).max().sort_values()
    kept = list(longest.index[::-1][: len(_PHASE_COLOURS)])
    styles: dict[str, tuple[str, str]] = {SPAWN_TO_READY: (GREY, "")}
    order = list(dict.fromkeys(phases.sort_values("start_ms")["part"]))
    for name in order:
        styles[name] = (_PHASE_COLOURS[kept.index(name)], "") if name in kept else ("#777777", "..")
    styles.update({k: (v, "") for k, v in _REQUEST_COLOURS.items()})
    return styles


def _rows(timeline: pd.DataFrame, variants: Sequence[str]) -> list[tuple[str, str]]:
    """(variant, lane) of every row: one per variant, or in a chain one per service
    instance and one for the first request, in the order they happen."""
    rows: list[tuple[str, str]] = []
    for variant in variants:
        mine = timeline[timeline["variant"] == variant]
        lanes = mine.groupby("lane", sort=False)["start_ms"].min().sort_values(kind="stable")
        request_lanes = [lane for lane in lanes.index if lane == REQUEST_LANE]
        others = [lane for lane in lanes.index if lane != REQUEST_LANE]
        rows += [(variant, lane) for lane in others + request_lanes]
    return rows


def waterfall(timeline: pd.DataFrame, order: Sequence[str]) -> bytes | None:
    """Per variant, the timeline of its median trial (by cold TTFT) from spawn to first
    token: the server's own phases where it reports them, the rest of spawn → ready in
    grey, then the first request; ▼ where each service became ready, | at the cold TTFT.
    A chain of services gets a row per service and one for the request.
    A right panel zooms in on the end, where a long first phase (imports) hides the rest,
    where that magnifies at least 3x."""
    variants = [v for v in order if v in set(timeline["variant"])]
    if not variants:
        return None
    styles = _phase_styles(timeline)
    spans = timeline[timeline["kind"].isin(["unreported", "phase", "request"])]
    points = timeline[timeline["kind"].isin(["ready", "cold_ttft"])]
    end = float(timeline["end_ms"].max())
    tail_start = end
    for variant in variants:
        mine = spans[spans["variant"] == variant]
        phases = mine[mine["kind"] == "phase"]
        if not phases.empty:
            longest = phases.loc[(phases["end_ms"] - phases["start_ms"]).idxmax()]
            tail_start = min(tail_start, float(longest["end_ms"]))
        else:
            ready = mine[mine["kind"] == "unreported"]["end_ms"]
            tail_start = min(tail_start, float(ready.max()) if not ready.empty else 0.0)
    # A zoom that magnifies less than 3x (the longest phase ends early somewhere, e.g. a
    # variant that skips it) shows nothing new: one panel then.
    zoomed = end - tail_start < end / 3
    rows = _rows(timeline, variants)
    fig, axes = plt.subplots(
        1,
        2 if zoomed else 1,
        figsize=(15, max(3.0, 1.7 + 0.38 * len(rows))),
        sharey=True,
        layout="constrained",
        squeeze=False,
    )
    full, zoom = axes[0][0], (axes[0][1] if zoomed else None)
    drawn: list[str] = []
    for ax in (full, zoom) if zoom is not None else (full,):
        for y, (variant, lane) in enumerate(rows):
            for row in spans[(spans["variant"] == variant) & (spans["lane"] == lane)].itertuples():
                label = row.part if row.part in styles and styles[row.part][1] != ".." else _OTHER
                face, hatch = styles.get(row.part, ("#777777", ".."))
                ax.barh(
                    y,
                    max(row.end_ms - row.start_ms, 0.0),
                    left=row.start_ms,
                    height=0.6,
                    color=face,
                    hatch=hatch,
                    edgecolor="white",
                    linewidth=0.5,
                    label=label if ax is full and label not in drawn else None,
                )
                if ax is full and label not in drawn:
                    drawn.append(label)
            for row in points[
                (points["variant"] == variant) & (points["lane"] == lane)
            ].itertuples():
                if row.kind == "cold_ttft":
                    ax.plot([row.start_ms], [y], marker="|", color="black", markersize=16,
                            markeredgewidth=2)  # fmt: skip
                else:
                    ax.plot([row.start_ms], [y - 0.38], marker="v", color="black", markersize=6)
        for y, ((variant, _lane), (after, _next)) in enumerate(itertools.pairwise(rows)):
            if variant != after and len(rows) > len(variants):  # variants of several rows
                ax.axhline(y + 0.5, color=GREY, linewidth=0.6)
        ax.grid(axis="x", alpha=0.3)
    full.set_xlim(0, end * 1.02)
    unit = "ms"
    if end > _SECONDS_FROM_MS:
        unit = "s"
        for ax in (full, zoom) if zoom is not None else (full,):
            ax.xaxis.set_major_formatter(
                matplotlib.ticker.FuncFormatter(lambda x, _pos: f"{x / 1000:g}")
            )
    # A variant's later rows (its spans' levels, a chain's services) name only their lane.
    labels = [
        f"… {lane}"
        if i and rows[i - 1][0] == variant
        else (f"{variant} · {lane}" if lane else variant)
        for i, (variant, lane) in enumerate(rows)
    ]
    full.set_yticks(range(len(rows)), labels, fontsize=8)
    full.set_ylim(len(rows) - 0.5, -0.9)  # top to bottom in the scenario's order
    full.set_xlabel(f"{unit} from spawn (t0)")
    title = "Where the cold start goes: each variant's median trial (by cold TTFT)"
    markers = "| = cold TTFT (first token of the first request);  ▼ = ready"
    if zoom is not None:
        margin = max((end - tail_start) * 0.05, 1.0)
        zoom.set_xlim(max(tail_start - margin, 0.0), end + margin)
        zoom.set_xlabel("the same, zoomed in after the longest phase")
        zoom.set_title(markers)
        full.set_title(title)
    else:
        full.set_title(f"{title}\n{markers}", fontsize=10)
    fig.legend(loc="outside lower center", ncol=5, fontsize=8, frameon=False)
    return png_bytes(fig)
