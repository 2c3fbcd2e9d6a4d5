"""A fleet scaling out: for each fleet variant, when k of its N replicas were ready (the
median over trials of each trial's k-th ready replica), k on the x axis — and beside each
fleet of N, one replica alone, so the curve's climb is the replicas' contention."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt

from coldstart_bench.analysis.fleet import FleetRow
from coldstart_bench.report.style import GREY, OKABE_ITO, png_bytes


def fleet_picture(rows: Sequence[FleetRow]) -> bytes | None:
    """The k-ready curve of each fleet variant (None without a fleet of two or more)."""
    drawn = [r for r in rows if r.replicas > 1]
    if not drawn:
        return None
    fig, ax = plt.subplots(figsize=(11, 4.6), layout="constrained")
    styles = {"haproxy": "-", "first-ready": "--"}
    for i, row in enumerate(drawn):
        ks = [k for k, v in enumerate(row.k_ready_ms, 1) if v is not None]
        values = [v for v in row.k_ready_ms if v is not None]
        colour = OKABE_ITO[i % len(OKABE_ITO)]
        ax.plot(ks, values, marker="o", color=colour, linestyle=styles.get(row.balancer, "-"),
                label=f"{row.variant} (n = {row.trials})")  # fmt: skip
    alone = sorted({r.alone_ready_ms for r in drawn if r.alone_ready_ms is not None})
    if alone:  # one grey tick per distinct baseline (each fleet's other factors alike)
        ax.scatter([0.6] * len(alone), alone, color=GREY, marker="_", s=300)
        ax.annotate("one replica alone", xy=(0.6, alone[0]), xytext=(0.7, alone[0] * 0.9),
                    color=GREY, fontsize=9)  # fmt: skip
    ax.set_xlabel("k: replicas ready (the k-th to be ready)")
    ax.set_ylabel("ms from t0 (median over trials)")
    ax.set_xticks(range(1, max(r.replicas for r in drawn) + 1))
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("Replicas started at once: when the k-th was ready", loc="left", fontsize=11)
    return png_bytes(fig)
