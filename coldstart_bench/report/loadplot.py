"""The picture of load on a cold replica: for each variant, every request of the cold phase
as a point (when it arrived since spawn, how long it waited for its first token), the
rolling median and p95, when the replica became ready, the band the same load gives once
the replica is warm — and below, the goodput over time."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from coldstart_bench.report.style import GREY, OKABE_ITO, png_bytes


def load_picture(points: pd.DataFrame, rolling: pd.DataFrame, order: Sequence[str]) -> bytes | None:
    variants = [v for v in order if v in set(points["variant"])]
    if not variants:
        return None
    fig, axes = plt.subplots(
        len(variants) + 1,
        1,
        figsize=(11, 2.6 * len(variants) + 2.4),
        sharex=True,
        layout="constrained",
        gridspec_kw={"height_ratios": [3] * len(variants) + [2]},
    )
    goodput_ax = axes[-1]
    finite = points["latency_ms"].replace(np.inf, np.nan).dropna()
    top = float(finite.max()) * 1.6 if not finite.empty else 1000.0
    bottom = max(float(finite.min()) / 1.6, 0.1) if not finite.empty else 1.0
    for i, (ax, variant) in enumerate(zip(axes[:-1], variants, strict=True)):
        mine = points[points["variant"] == variant]
        cold, warm = mine[mine["phase"] == "cold"], mine[mine["phase"] == "warm"]
        answered = cold[cold["latency_ms"].notna()]
        lost = cold[cold["latency_ms"].isna()]
        ax.scatter(answered["arrival_s"], answered["latency_ms"], s=6, alpha=0.35,
                   color=OKABE_ITO[0], label="a request (latency from arrival)")  # fmt: skip
        if not lost.empty:
            ax.scatter(lost["arrival_s"], np.full(len(lost), top / 1.3), marker="x", s=14,
                       color=OKABE_ITO[5], label="not answered")  # fmt: skip
        line = rolling[rolling["variant"] == variant]
        ax.plot(line["t_s"], line["p50_ms"], color="black", linewidth=1.2, label="rolling p50")
        ax.plot(line["t_s"], line["p95_ms"], color=OKABE_ITO[5], linewidth=1.2,
                label="rolling p95")  # fmt: skip
        if not warm.empty:
            band = warm["latency_ms"].dropna()
            low, high = np.percentile(band, [50, 95])
            ax.axhspan(low, high, color=OKABE_ITO[2], alpha=0.18,
                       label=f"warm p50–p95 (n={len(band)})")  # fmt: skip
        ready = float(cold["ready_s"].median()) if not cold.empty else None
        if ready is not None:
            ax.axvline(ready, color=GREY, linestyle="--", linewidth=1.2, label="ready (median)")
        ax.set_yscale("log")
        ax.set_ylim(bottom, top)
        trials = cold["trial"].nunique()
        ax.set_title(f"{variant} — {len(cold)} cold requests over {trials} trial(s)", fontsize=9,
                     loc="left")  # fmt: skip
        ax.set_ylabel("ms from arrival\nto first token")
        ax.grid(alpha=0.3)
        if i == 0:
            ax.legend(fontsize=7, loc="upper right", ncol=3)
        goodput = line["goodput_rps"]
        goodput_ax.plot(line["t_s"], goodput, color=OKABE_ITO[i % len(OKABE_ITO)],
                        label=variant, linewidth=1.2)  # fmt: skip
    goodput_ax.set_ylabel("goodput\n(req/s per trial)")
    goodput_ax.set_xlabel("seconds since spawn (t0), cold phase; warm band: the same load, later")
    goodput_ax.grid(alpha=0.3)
    goodput_ax.legend(fontsize=7, loc="upper left")
    fig.suptitle("Load on a cold replica: latency from arrival, and goodput, since spawn")
    return png_bytes(fig)
