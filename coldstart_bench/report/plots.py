"""The report's PNG plots (matplotlib, non-interactive) besides the waterfall
(:mod:`.waterfall`). Each function takes analysis frames and returns PNG bytes, or None
when the run has nothing to show for that plot. Every plot has a title, units and labelled
axes, and grows with the number of variants so labels never overlap.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd

from coldstart_bench.analysis.effects import Effect
from coldstart_bench.report.columns import repeats_text
from coldstart_bench.report.style import GREY, OKABE_ITO, colour, figure, png_bytes, whiskers


def distribution(ok: pd.DataFrame, boxes: pd.DataFrame, order: Sequence[str]) -> bytes | None:
    """Box plot (the analysis's quartiles and whiskers) plus every trial as a jittered
    point of ``cold_ttft_ms`` per variant, from the measured ok trials."""
    if boxes.empty:
        return None
    data = [
        (box.variant, ok.loc[ok["variant"] == box.variant, "cold_ttft_ms"].dropna().to_numpy())
        for box in boxes.itertuples()
    ]
    fig, ax = figure(len(data))
    ax.bxp(  # type: ignore[attr-defined]
        [
            {
                "med": b.median,
                "q1": b.q1,
                "q3": b.q3,
                "whislo": b.whisker_low,
                "whishi": b.whisker_high,
                "fliers": [],
            }
            for b in boxes.itertuples()
        ],
        orientation="horizontal",
        widths=0.5,
        showfliers=False,
        medianprops={"color": OKABE_ITO[5], "linewidth": 2},
    )
    rng = np.random.default_rng(0)
    for i, (_v, d) in enumerate(data, start=1):
        ax.scatter(
            d,
            i + rng.uniform(-0.15, 0.15, len(d)),
            s=12,
            alpha=0.7,  # type: ignore[attr-defined]
            color=OKABE_ITO[0],
            zorder=3,
        )
    labels = [f"{v} (n={len(d)})" for v, d in data]
    ax.set_yticks(range(1, len(data) + 1), labels, fontsize=8)  # type: ignore[attr-defined]
    ax.invert_yaxis()  # type: ignore[attr-defined]
    ax.set_xlabel("cold TTFT, ms (spawn → first token of the first request)")  # type: ignore[attr-defined]
    ax.set_title("Cold TTFT per variant: box = quartiles, points = trials")  # type: ignore[attr-defined]
    ax.grid(axis="x", alpha=0.3)  # type: ignore[attr-defined]
    return png_bytes(fig)


def requests_by_index(
    by_index: pd.DataFrame, order: Sequence[str], repeats: Mapping[int, int]
) -> bytes | None:
    """Median TTFT by request number, one line per variant; the requests that repeat an
    earlier prompt (where a cache can dip) are said under the axis."""
    if by_index.empty or by_index["request"].nunique() < 2:
        return None
    fig, ax = plt.subplots(figsize=(11, 5.5), layout="constrained")
    variants = [v for v in order if v in set(by_index["variant"])]
    for i, variant in enumerate(variants):
        part = by_index[by_index["variant"] == variant].sort_values("request")
        face, _ = colour(i)
        style = ("-", "--", ":", "-.")[(i // len(OKABE_ITO)) % 4]
        ax.plot(
            part["request"],
            part["ttft_ms"],
            marker="o",
            linestyle=style,
            color=face,
            label=f"{variant} (n={int(part['n'].min())})",
        )
    numbers = sorted(int(n) for n in by_index["request"].unique())
    repeated = repeats_text(repeats, numbers)
    ax.set_xlabel(
        "request number within the trial (1 = first after ready)"
        + (f"\n{repeated}" if repeated else "")
    )
    ax.set_ylabel("TTFT, ms (median)")
    ax.set_title("Time to first token by request: the first-request penalty")
    ax.set_xticks(numbers)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return png_bytes(fig)


def connections(setup: pd.DataFrame, covered: str, order: Sequence[str]) -> bytes | None:
    """Connection set-up per request, fresh vs reused connections at the same request
    positions: TCP connect and TLS (left, on their own scale), and the time to response
    headers they are part of (right); medians with quartile whiskers."""
    if setup.empty:
        return None
    rank = {v: i for i, v in enumerate(order)}
    rows = setup.assign(_rank=setup["variant"].map(rank).fillna(len(rank)))
    rows = rows.sort_values(["_rank", "kind"], kind="stable").reset_index(drop=True)
    labels = [f"{r.variant} · {r.kind} (n={r.n})" for r in rows.itertuples()]
    tls_seen = bool((rows["tls_p50"] > 0).any())
    fig, (left, right) = plt.subplots(
        1,
        2,
        figsize=(13, max(3.0, 1.4 + 0.38 * len(rows))),
        sharey=True,
        layout="constrained",
        gridspec_kw={"width_ratios": (1, 1)},
    )
    ys = np.arange(len(rows))
    connect, tls = rows["connect_p50"].to_numpy(), rows["tls_p50"].to_numpy()
    left.barh(ys, connect, height=0.6, color=OKABE_ITO[0], label="TCP connect")
    if tls_seen:
        left.barh(ys, tls, left=connect, height=0.6, color=OKABE_ITO[1], label="TLS handshake")
    whiskers(left, ys, rows["setup_p50"], rows["setup_p25"], rows["setup_p75"])
    for y, row in zip(ys, rows.itertuples(), strict=True):
        if row.kind == "reused":
            left.annotate("reused: no set-up", (0, y), xytext=(4, 0), textcoords="offset points",
                          va="center", fontsize=7, color="#555555")  # fmt: skip
    left.set_xlim(0, max(float(rows["setup_p75"].max()) * 1.15, 0.01))
    left.set_xlabel("ms: TCP connect" + (" + TLS handshake" if tls_seen else "") + " (median, IQR)")
    left.set_title("Connection set-up per request")
    left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=8, frameon=False)
    right.barh(ys, rows["ttfb_p50"], height=0.6, color=OKABE_ITO[2])
    whiskers(right, ys, rows["ttfb_p50"], rows["ttfb_p25"], rows["ttfb_p75"])
    right.set_xlabel("ms from request start to response headers (median, IQR)")
    right.set_title("Time to first byte, set-up included")
    left.set_yticks(ys, labels, fontsize=8)
    left.invert_yaxis()
    for ax in (left, right):
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(
        f"Fresh vs reused connections, {covered}"
        + (" (request 1 is left out: it also pays the server's first-request costs)"
           if covered.startswith("requests 2") else ""),
        fontsize=10,
    )  # fmt: skip
    return png_bytes(fig)


def effects(found: Sequence[Effect]) -> bytes | None:
    """Forest plot: each factor level's effect on each metric as a ratio of medians with
    its 95 % CI, on a log axis so that halving and doubling sit equally far from 1× and a
    20× slowdown does not flatten a 15 % one."""
    if not found:
        return None
    fig, ax = figure(len(found), min_height=3.5)
    ys = np.arange(len(found))
    # A reused connection's connect is 0 ms: ratios and bounds of 0 have no place on a log
    # axis, and one near-0 effect would squeeze all others into a corner, so anything below
    # a tenth of the baseline is drawn at 0.1× with a "<" marker (the text gives the value).
    floor = 0.1
    ratio = np.array([e.ratio for e in found])
    shown = np.clip(ratio, floor, None)
    low = np.clip([e.ci_low for e in found], floor, None)
    high = np.clip([e.ci_high for e in found], floor, None)
    colours = np.array(
        [{"better": OKABE_ITO[2], "worse": OKABE_ITO[5]}.get(e.verdict, GREY) for e in found]
    )
    ax.errorbar(
        shown,
        ys,
        xerr=[np.maximum(shown - low, 0), np.maximum(high - shown, 0)],
        fmt="none",  # type: ignore[attr-defined]
        ecolor="#555555",
        capsize=3,
    )
    below = ratio < floor
    for marker, rows in (("o", ~below), ("<", below)):
        if rows.any():
            ax.scatter(shown[rows], ys[rows], c=colours[rows], s=40, marker=marker, zorder=3)  # type: ignore[attr-defined]
    ax.axvline(1, color="black", linewidth=1)  # type: ignore[attr-defined]
    ax.set_xscale("log")  # type: ignore[attr-defined]
    left, right = min(float(low.min()), 0.8) / 1.15, max(float(high.max()), 1.25) * 1.15
    ax.set_xlim(left, right)  # type: ignore[attr-defined]
    ax.xaxis.set_major_locator(_ratio_ticks(left, right))  # type: ignore[attr-defined]
    ax.xaxis.set_major_formatter(  # type: ignore[attr-defined]
        matplotlib.ticker.FuncFormatter(_ratio_label)
    )
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())  # type: ignore[attr-defined]
    labels = [e.label for e in found]
    ax.set_yticks(ys, labels, fontsize=8)  # type: ignore[attr-defined]
    ax.invert_yaxis()  # type: ignore[attr-defined]
    ax.set_xlabel(  # type: ignore[attr-defined]
        "ratio of medians, level / baseline (95 % bootstrap CI, log scale); left of 1× = less"
        + ("\n◀ below 0.1× (e.g. a reused connection's 0 ms connect)" if below.any() else "")
    )
    ax.set_title(  # type: ignore[attr-defined]
        "What each toggle buys\n"
        "(green: clearly better, vermillion: clearly worse, grey: not clear;\n"
        "better is less, but more for goodput)"
    )
    ax.grid(axis="x", alpha=0.3)  # type: ignore[attr-defined]
    return png_bytes(fig)


def _ratio_ticks(left: float, right: float) -> matplotlib.ticker.Locator:
    """1-2-5 ticks per decade where at least four of them fall on the axis; a narrower
    axis (0.41× to 1.63× shows only 0.5× and 1× of those) gets finer steps instead."""
    decades = matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0))
    if sum(left <= t <= right for t in decades.tick_values(left, right)) >= 4:
        return decades
    steps = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.5, 1.7, 2.0, 2.5)
    steps += (3.0, 4.0, 5.0)
    # Outward from 1×, a tick only where it is a tenth of the axis from the last one, so
    # the two-line labels never run into each other.
    gap = math.log(right / left) / 10
    kept = [1.0] if left <= 1.0 <= right else []
    for side in ([t for t in steps if t < 1.0][::-1], [t for t in steps if t > 1.0]):
        last = 1.0
        for t in side:
            if left <= t <= right and abs(math.log(t / last)) >= gap:
                kept.append(t)
                last = t
    return matplotlib.ticker.FixedLocator(sorted(kept))


def _ratio_label(value: float, _position: object = None) -> str:
    """1 → "1×", 0.5 → "0.5× (−50 %)", 3 → "3× (+200 %)"."""
    if value <= 0:
        return ""
    change = (value - 1) * 100
    text = f"{value:.3g}×"
    return text if abs(change) < 0.5 else f"{text}\n({change:+.0f} %)".replace("-", "−")


def model_load(summary: pd.DataFrame, order: Sequence[str]) -> bytes | None:
    """Median model-load throughput per variant with its 95 % interval and n, from phases
    that report their bytes; the title says when no variant clearly differs."""
    if summary.empty:
        return None
    rows = summary.set_index("variant")
    variants = [v for v in order if v in rows.index]
    rows = rows.loc[variants]
    fig, ax = figure(len(variants))
    ys = np.arange(len(variants))
    ax.barh(ys, rows["median"], color=OKABE_ITO[0], height=0.6)  # type: ignore[attr-defined]
    whiskers(ax, ys, rows["median"], rows["ci_low"], rows["ci_high"])
    for y, (median, high, n) in enumerate(
        zip(rows["median"], rows["ci_high"], rows["n"], strict=True)
    ):
        ax.annotate(  # type: ignore[attr-defined]
            f"{median:,.0f} (n={n})", (high, y), xytext=(4, 0), textcoords="offset points",
            va="center", fontsize=8,
        )  # fmt: skip
    labels = [f"{v}" for v in variants]
    ax.set_yticks(ys, labels, fontsize=8)  # type: ignore[attr-defined]
    ax.invert_yaxis()  # type: ignore[attr-defined]
    ax.set_xlim(0, float(rows["ci_high"].max()) * 1.25)  # type: ignore[attr-defined]
    ax.set_xlabel(  # type: ignore[attr-defined]
        "MB/s: weight-file bytes / (model_read + deserialize + to_device); median, 95 % CI"
    )
    title = "Model-load throughput (a lazy loader, e.g. mmap, reads pages at first use)"
    if summary.attrs.get("all_overlap") and len(variants) > 1:
        title += "\nThe intervals overlap: no variant of this run clearly loads faster"
    ax.set_title(title, fontsize=10)  # type: ignore[attr-defined]
    ax.grid(axis="x", alpha=0.3)  # type: ignore[attr-defined]
    return png_bytes(fig)


def ttft_vs_idle(
    ok_requests: pd.DataFrame, idle: pd.DataFrame, order: Sequence[str]
) -> bytes | None:
    """Each later request's TTFT against how long the client had been silent before it,
    per variant (from the measured ok requests); an x where the pool found its connection
    closed and opened a new one. Drawn when some request followed a silence of a second or
    more."""
    if ok_requests.empty or "idle_ms" not in ok_requests:
        return None
    later = ok_requests[ok_requests["idle_ms"].notna()]
    if later.empty or later["idle_ms"].max() < 1000:
        return None
    fig, ax = figure(8, width=11.0, min_height=5.0)
    variants = [v for v in order if v in set(later["variant"])]
    # Variants with the same gap would hide each other: each is drawn beside the others
    # there (a small x shift), with a bar at its median.
    medians = idle.set_index("variant")
    gap_of = {v: round(float(medians.loc[v, "idle_median_ms"]) / 500) for v in variants}
    step = 0.04 * max(later["idle_ms"].max() / 1000, 1.0)
    for i, variant in enumerate(variants):
        part = later[later["variant"] == variant]
        beside = [v for v in variants if gap_of[v] == gap_of[variant]]
        shift = (beside.index(variant) - (len(beside) - 1) / 2) * step
        face, _hatch = colour(i)
        kept, replaced = part[~part["replaced"].astype(bool)], part[part["replaced"].astype(bool)]
        label = f"{variant} (n={len(part)})"
        for rows, marker, size in ((kept, "o", 18), (replaced, "x", 40)):
            if not rows.empty:
                ax.scatter(rows["idle_ms"] / 1000 + shift, rows["ttft_ms"], s=size, marker=marker,  # type: ignore[attr-defined]
                           color=face, alpha=0.8, label=label)  # fmt: skip
                label = None
        x = float(medians.loc[variant, "idle_median_ms"]) / 1000 + shift
        ttft = float(medians.loc[variant, "ttft_median_ms"])
        ax.plot([x - step * 0.4, x + step * 0.4], [ttft, ttft],  # type: ignore[attr-defined]
                color="black", linewidth=1.5)  # fmt: skip
    ax.set_xlabel(  # type: ignore[attr-defined]
        "seconds the client was silent before the request (variants at one gap drawn side "
        "by side; — their median)"
    )  # type: ignore[attr-defined]
    ax.set_ylabel("TTFT, ms")  # type: ignore[attr-defined]
    ax.set_title(  # type: ignore[attr-defined]
        "TTFT after an idle gap (×: the pooled connection had been closed and was replaced)"
    )
    ax.grid(alpha=0.3)  # type: ignore[attr-defined]
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)  # type: ignore[attr-defined]
    return png_bytes(fig)
