"""The picture of load on a cold replica, one panel per variant, every trial aligned on its
own readiness (the replica's response is the question, not when each start happened to
end), and below, the answers that met the SLO as they end.

- Arrivals spread in time (a pattern drawn as a timeline: Poisson, a steady rate, a
  concurrency): every cold request as a
  point at its arrival since ready and its latency from arrival, the rolling median and
  p95, and the band the same load gives once the replica is warm.
- A burst (a pattern drawn ranked): its requests ranked by latency (the k-th fastest of
  each trial), the median over trials of each rank, cold against warm — how the queue
  drains."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from coldstart_bench.report.style import GREY, OKABE_ITO, png_bytes

_LINE_STYLES = ("-", "--", ":", "-.")


def load_picture(
    points: pd.DataFrame,
    rolling: pd.DataFrame,
    drain: pd.DataFrame,
    good: pd.DataFrame,
    warm: pd.DataFrame,
    order: Sequence[str],
) -> bytes | None:
    variants = [v for v in order if v in set(points["variant"])]
    if not variants:
        return None
    fig, axes = plt.subplots(
        len(variants) + 1,
        1,
        figsize=(11, 2.6 * len(variants) + 2.8),
        layout="constrained",
        gridspec_kw={"height_ratios": [3] * len(variants) + [2.4]},
    )
    finite = points["latency_ms"].replace(np.inf, np.nan).dropna()
    top = float(finite.max()) * 1.6 if not finite.empty else 1000.0
    bottom = max(float(finite.min()) / 1.6, 0.1) if not finite.empty else 1.0
    spread = points[(points["phase"] == "cold") & (points["panel"] == "timeline")]
    span = (float(spread["since_s"].min()), float(spread["since_s"].max())) if len(spread) else None
    handles: dict[str, object] = {}
    for ax, variant in zip(axes[:-1], variants, strict=True):
        mine = points[points["variant"] == variant]
        if (mine["panel"] == "ranked").all():
            _burst_panel(ax, mine, drain[drain["variant"] == variant], top)
        else:
            _arrivals_panel(ax, mine, rolling[rolling["variant"] == variant],
                            warm[warm["variant"] == variant], top)  # fmt: skip
            if span is not None:
                ax.set_xlim(
                    span[0] - 0.05 * (span[1] - span[0]), span[1] + 0.05 * (span[1] - span[0])
                )
        ax.set_yscale("log")
        ax.set_ylim(bottom, top)
        ax.set_ylabel("ms from arrival\nto first token")
        ax.grid(alpha=0.3)
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    _good_panel(axes[-1], good, variants)
    # One legend for every panel, beside the first: none covers a point.
    axes[0].legend(handles.values(), handles.keys(), loc="upper left", bbox_to_anchor=(1.01, 1.0),
                   fontsize=7, frameon=False)  # fmt: skip
    if (points["panel"] == "ranked").all():
        fig.suptitle("A burst on a cold replica at ready: latency from arrival, fastest first")
    else:
        fig.suptitle(
            "Load on a cold replica: latency from arrival, each trial aligned on its ready"
        )
    return png_bytes(fig)


def _arrivals_panel(
    ax: Axes, mine: pd.DataFrame, line: pd.DataFrame, band: pd.DataFrame, top: float
) -> None:
    cold = mine[mine["phase"] == "cold"]
    answered = cold[cold["latency_ms"].notna()]
    lost = cold[cold["latency_ms"].isna()]
    ax.scatter(answered["since_s"], answered["latency_ms"], s=6, alpha=0.35,
               color=OKABE_ITO[0], label="a cold request")  # fmt: skip
    if not lost.empty:
        ax.scatter(lost["since_s"], np.full(len(lost), top / 1.3), marker="x", s=14,
                   color=OKABE_ITO[5], label="not answered")  # fmt: skip
    ax.plot(line["t_s"], line["p50_ms"], color="black", linewidth=1.2, label="rolling p50")
    ax.plot(line["t_s"], line["p95_ms"], color=OKABE_ITO[5], linewidth=1.2, label="rolling p95")
    _warm_band(ax, band)
    ax.axvline(0.0, color=GREY, linestyle="--", linewidth=1.2, label="ready (each trial's)")
    trials = cold["trial"].nunique()
    ready = cold.groupby("trial")["ready_s"].first()
    ax.set_title(
        f"{mine['variant'].iloc[0]} — {len(cold)} cold requests over {trials} trial(s); "
        f"ready {ready.min():.1f}–{ready.max():.1f} s after spawn",
        fontsize=9,
        loc="left",
    )
    ax.set_xlabel("seconds since ready (arrival)", fontsize=8)


def _burst_panel(ax: Axes, mine: pd.DataFrame, drain: pd.DataFrame, top: float) -> None:
    cold = mine[mine["phase"] == "cold"]
    answered = cold[cold["latency_ms"].notna()]
    lost = cold[cold["latency_ms"].isna()]
    ax.scatter(answered["rank"], answered["latency_ms"], s=6, alpha=0.35, color=OKABE_ITO[0],
               label="a cold request")  # fmt: skip
    if not lost.empty:
        ax.scatter(lost["rank"], np.full(len(lost), top / 1.3), marker="x", s=14,
                   color=OKABE_ITO[5], label="not answered")  # fmt: skip
    for phase, colour, label in (("cold", "black", "cold burst, median"),
                                 ("warm", OKABE_ITO[2], "warm burst, median")):  # fmt: skip
        part = drain[drain["phase"] == phase].replace(np.inf, np.nan)
        ax.plot(part["rank"], part["latency_ms"], color=colour, linewidth=1.4, label=label)
    trials = cold["trial"].nunique()
    size = int(cold.groupby("trial").size().max()) if len(cold) else 0
    ax.set_title(
        f"{mine['variant'].iloc[0]} — a burst of {size} at ready, {trials} trial(s)",
        fontsize=9,
        loc="left",
    )
    ax.set_xlabel("request of the burst, fastest first", fontsize=8)


def _warm_band(ax: Axes, band: pd.DataFrame) -> None:
    if band.empty:
        return
    ax.axhspan(float(band["p50_ms"].iloc[0]), float(band["p95_ms"].iloc[0]), color=OKABE_ITO[2],
               alpha=0.18, label="warm p50–p95")  # fmt: skip


def _good_panel(ax: Axes, good: pd.DataFrame, variants: Sequence[str]) -> None:
    for i, variant in enumerate(variants):
        part = good[good["variant"] == variant]
        ax.plot(part["t_s"], part["good_per_trial"], linewidth=1.4,
                color=OKABE_ITO[i % len(OKABE_ITO)],
                linestyle=_LINE_STYLES[(i // len(OKABE_ITO)) % len(_LINE_STYLES)],
                label=variant)  # fmt: skip
    ax.axvline(0.0, color=GREY, linestyle="--", linewidth=1.2)
    ax.set_ylabel("answers within\nthe SLO, per trial")
    ax.set_xlabel("seconds since ready (answer ended); cold phase")
    ax.set_title("Answers that met the SLO, counted as they end", fontsize=9, loc="left")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
