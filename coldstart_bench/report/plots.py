"""The report's PNG plots (matplotlib, non-interactive). Each function takes analysis frames
and returns PNG bytes, or None when the run has nothing to show for that plot.

Colours are the Okabe–Ito palette (safe for the common colour-vision deficiencies); every
plot has a title, units and labelled axes, and grows with the number of variants so labels
never overlap.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # before pyplot: no display, no GUI toolkit

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from coldstart_bench.analysis.effects import Effect
from coldstart_bench.analysis.frames import METRICS, measured_ok

OKABE_ITO = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#000000",  # black
)
HATCHES = ("", "//", "..", "xx", "\\\\")
GREY = "#BBBBBB"


def colour(i: int) -> tuple[str, str]:
    """Colour and hatch of the i-th series: colours first, then patterns on top of them."""
    return OKABE_ITO[i % len(OKABE_ITO)], HATCHES[(i // len(OKABE_ITO)) % len(HATCHES)]


def _figure(rows: int, width: float = 11.0, min_height: float = 3.0) -> tuple[Figure, object]:
    height = max(min_height, 1.2 + 0.38 * rows)
    fig, ax = plt.subplots(figsize=(width, height), layout="constrained")
    return fig, ax


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()


def _legend_below(ax: object, columns: int = 6) -> None:
    ax.legend(  # type: ignore[attr-defined]
        loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=columns, fontsize=8, frameon=False
    )


def waterfall(
    phases: pd.DataFrame,
    first_split: pd.DataFrame,
    trials: pd.DataFrame,
    order: Sequence[str],
    service_ready: pd.DataFrame | None = None,
) -> bytes | None:
    """Per variant, the median timeline from spawn to first token: the server's own phases
    where it reports them, the rest of spawn → ready in grey, then the first request. The
    right panel zooms in on the end, where a long first phase (imports) hides the rest."""
    ok = measured_ok(trials)
    variants = [v for v in order if v in set(ok["variant"])]
    if not variants:
        return None
    height = max(3.0, 1.6 + 0.38 * len(variants))
    fig, (full, zoom) = plt.subplots(
        1,
        2,
        figsize=(15, height),
        sharey=True,
        layout="constrained",
        gridspec_kw={"width_ratios": (1, 1)},
    )
    phase_names: list[str] = []
    if not phases.empty:
        phase_names = list(dict.fromkeys(phases.sort_values("start_ms")["phase"]))
    request_parts = [
        ("connect", "connect_ms"),
        ("TLS", "tls_ms"),
        ("wait for headers (TTFB)", "headers_wait_ms"),
        ("headers → first token", "first_token_wait_ms"),
    ]
    styles = {name: colour(i) for i, name in enumerate(phase_names)}
    for j, (label, _col) in enumerate(request_parts):
        styles[label] = colour(len(phase_names) + j)
    unreported = "spawn → ready, not reported by the server"
    styles[unreported] = (GREY, "")
    split = first_split.set_index("variant") if not first_split.empty else None
    bars: list[tuple[int, float, float, str]] = []  # (row, left, width, label)
    marks: list[tuple[int, float]] = []
    service_marks: list[tuple[int, float, str]] = []
    tail_start = float("inf")
    for y, variant in enumerate(variants):
        group = ok[ok["variant"] == variant]
        ready = float(group["ready_ms"].median())
        bars.append((y, 0.0, ready, unreported))
        longest_end = 0.0
        if not phases.empty:
            mine = phases[phases["variant"] == variant]
            spans = [
                (float(p.start_ms), max(float(p.duration_ms), 0.0), str(p.phase))
                for p in mine.itertuples()
            ]
            for left, width, name in spans:
                bars.append((y, left, width, name))
            if spans:
                longest = max(spans, key=lambda s: s[1])
                longest_end = longest[0] + longest[1]
        left = ready
        if split is not None and variant in split.index:
            row = split.loc[variant]
            for label, col in request_parts:
                width = float(row[col])
                if width > 0:
                    bars.append((y, left, width, label))
                    left += width
        cold = group["cold_ttft_ms"].median()
        if pd.notna(cold):
            marks.append((y, float(cold)))
        if service_ready is not None and not service_ready.empty:
            mine = service_ready[service_ready["variant"] == variant]
            if mine["service"].nunique() > 1:  # a chain: where each service became ready
                for row in mine.itertuples():
                    service_marks.append((y, float(row.ready_ms), str(row.service)))
        tail_start = min(tail_start, longest_end or ready)
    end = max([m for _, m in marks] + [b[1] + b[2] for b in bars])
    for ax in (full, zoom):
        seen: set[str] = set()
        for y, left, width, label in bars:
            face, hatch = styles[label]
            ax.barh(
                y,
                width,
                left=left,
                height=0.6,
                color=face,
                hatch=hatch,
                edgecolor="white",
                linewidth=0.5,
                label=None if label in seen or ax is zoom else label,
            )
            seen.add(label)
        for y, cold in marks:
            ax.plot([cold], [y], marker="|", color="black", markersize=16, markeredgewidth=2)
        for y, ready_at, name in service_marks:
            ax.plot([ready_at], [y - 0.38], marker="v", color="black", markersize=6)
            near_end = ready_at > 0.85 * end  # e.g. a chaos restart: label to the left
            ax.annotate(
                name,
                (ready_at, y - 0.38),
                xytext=(-2 if near_end else 2, 3),
                textcoords="offset points",
                ha="right" if near_end else "left",
                fontsize=6,
                clip_on=True,
            )
        ax.grid(axis="x", alpha=0.3)
    margin = max((end - tail_start) * 0.05, 1.0)
    zoom.set_xlim(max(tail_start - margin, 0.0), end + margin)
    full.set_xlim(0, end * 1.02)
    full.set_yticks(range(len(variants)), variants, fontsize=8)
    # Top to bottom in the scenario's order; room above the first bar for its ▼ labels.
    full.set_ylim(len(variants) - 0.5, -0.9 if service_marks else -0.5)
    full.set_xlabel("ms from spawn (t0), medians")
    zoom.set_xlabel("the same, zoomed in after the longest phase")
    full.set_title("Where the cold start goes: spawn → ready → first token")
    zoom.set_title("| = cold TTFT (first token of the first request); ▼ = a service ready")
    fig.legend(loc="outside lower center", ncol=5, fontsize=8, frameon=False)
    return _png(fig)


def distribution(trials: pd.DataFrame, order: Sequence[str]) -> bytes | None:
    """Box plot plus every trial as a jittered point of ``cold_ttft_ms`` per variant."""
    ok = measured_ok(trials)
    data = [(v, ok.loc[ok["variant"] == v, "cold_ttft_ms"].dropna().to_numpy()) for v in order]
    data = [(v, d) for v, d in data if len(d)]
    if not data:
        return None
    fig, ax = _figure(len(data))
    ax.boxplot(  # type: ignore[attr-defined]
        [d for _, d in data],
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
    ax.set_yticks(range(1, len(data) + 1), [v for v, _ in data], fontsize=8)  # type: ignore[attr-defined]
    ax.invert_yaxis()  # type: ignore[attr-defined]
    ax.set_xlabel("cold TTFT, ms (spawn → first token of the first request)")  # type: ignore[attr-defined]
    ax.set_title("Cold TTFT per variant: box = quartiles, points = trials")  # type: ignore[attr-defined]
    ax.grid(axis="x", alpha=0.3)  # type: ignore[attr-defined]
    return _png(fig)


def requests_by_index(by_index: pd.DataFrame, order: Sequence[str]) -> bytes | None:
    """Median TTFT by request index, one line per variant."""
    if by_index.empty or by_index["request_index"].nunique() < 2:
        return None
    fig, ax = plt.subplots(figsize=(11, 5.5), layout="constrained")
    variants = [v for v in order if v in set(by_index["variant"])]
    for i, variant in enumerate(variants):
        part = by_index[by_index["variant"] == variant].sort_values("request_index")
        face, _ = colour(i)
        style = ("-", "--", ":", "-.")[(i // len(OKABE_ITO)) % 4]
        ax.plot(
            part["request_index"] + 1,
            part["ttft_ms"],
            marker="o",
            linestyle=style,
            color=face,
            label=variant,
        )
    ax.set_xlabel("request number within the trial (1 = first after ready)")
    ax.set_ylabel("TTFT, ms (median)")
    ax.set_title("Time to first token by request: the first-request penalty")
    ax.set_xticks(sorted(by_index["request_index"].unique() + 1))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return _png(fig)


def connections(requests: pd.DataFrame, order: Sequence[str]) -> bytes | None:
    """Median connect / TLS / TTFB of fresh vs reused connections, per variant."""
    if requests.empty:
        return None
    ok = measured_ok(requests).copy()
    if ok.empty:
        return None
    ok["kind"] = np.where(ok["reused"].fillna(False).astype(bool), "reused", "fresh")
    rows = []
    for variant in order:
        for kind in ("fresh", "reused"):
            part = ok[(ok["variant"] == variant) & (ok["kind"] == kind)]
            if part.empty:
                continue
            connect = float(part["connect_ms"].fillna(0.0).median())
            tls = float(part["tls_ms"].fillna(0.0).median())
            ttfb = float(part["ttfb_ms"].median())
            rows.append(
                (
                    f"{variant} · {kind} (n={len(part)})",
                    connect,
                    tls,
                    max(ttfb - connect - tls, 0.0),
                )
            )
    fig, ax = _figure(len(rows))
    labels = [r[0] for r in rows]
    left = np.zeros(len(rows))
    for j, name in enumerate(("TCP connect", "TLS handshake", "rest of TTFB")):
        widths = np.array([r[j + 1] for r in rows])
        face, hatch = colour(j)
        ax.barh(
            range(len(rows)),
            widths,
            left=left,
            color=face,
            hatch=hatch,
            label=name,  # type: ignore[attr-defined]
            height=0.6,
            edgecolor="white",
        )
        left += widths
    ax.set_yticks(range(len(rows)), labels, fontsize=8)  # type: ignore[attr-defined]
    ax.invert_yaxis()  # type: ignore[attr-defined]
    ax.set_xlabel("milliseconds from request start (medians)")  # type: ignore[attr-defined]
    ax.set_title("Connection set-up: fresh vs reused connections")  # type: ignore[attr-defined]
    ax.grid(axis="x", alpha=0.3)  # type: ignore[attr-defined]
    _legend_below(ax, 3)
    return _png(fig)


def effects(found: Sequence[Effect]) -> bytes | None:
    """Forest plot: each factor level's effect on each metric as a ratio of medians with
    its 95 % CI, on a log axis so that halving and doubling sit equally far from 1× and a
    20× slowdown does not flatten a 15 % one."""
    if not found:
        return None
    fig, ax = _figure(len(found), min_height=3.5)
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
        [
            OKABE_ITO[2] if e.clear and e.ratio < 1 else OKABE_ITO[5] if e.clear else GREY
            for e in found
        ]
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
    labels = [
        f"{e.factor}={e.treatment} vs {e.baseline}: {METRICS.get(e.metric, e.metric)}"
        for e in found
    ]
    ax.set_yticks(ys, labels, fontsize=8)  # type: ignore[attr-defined]
    ax.invert_yaxis()  # type: ignore[attr-defined]
    ax.set_xlabel(  # type: ignore[attr-defined]
        "ratio of medians, level / baseline (95 % bootstrap CI, log scale); left of 1× = faster"
        + ("\n◀ below 0.1× (e.g. a reused connection's 0 ms connect)" if below.any() else "")
    )
    ax.set_title(  # type: ignore[attr-defined]
        "What each toggle buys\n"
        "(green: clearly faster, vermillion: clearly slower, grey: not clear)"
    )
    ax.grid(axis="x", alpha=0.3)  # type: ignore[attr-defined]
    return _png(fig)


def _ratio_ticks(left: float, right: float) -> matplotlib.ticker.Locator:
    """1-2-5 ticks per decade; on a narrow axis (less than 4× end to end) those would leave
    only 1×, so steps of 10 % instead."""
    if right / left >= 4:
        return matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0))
    steps = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.5, 1.7, 2.0, 2.5, 3.0)
    return matplotlib.ticker.FixedLocator([t for t in steps if left <= t <= right])


def _ratio_label(value: float, _position: object = None) -> str:
    """1 → "1×", 0.5 → "0.5× (−50 %)", 3 → "3× (+200 %)"."""
    if value <= 0:
        return ""
    change = (value - 1) * 100
    text = f"{value:.3g}×"
    return text if abs(change) < 0.5 else f"{text}\n({change:+.0f} %)".replace("-", "−")


def model_load(throughput: pd.DataFrame, order: Sequence[str]) -> bytes | None:
    """Median model-load throughput per variant, from phases that report their bytes."""
    if throughput.empty:
        return None
    med = throughput.groupby("variant")["mb_per_s"].median()
    variants = [v for v in order if v in med.index]
    fig, ax = _figure(len(variants))
    values = [float(med[v]) for v in variants]
    ax.barh(range(len(variants)), values, color=OKABE_ITO[0], height=0.6)  # type: ignore[attr-defined]
    for y, v in enumerate(values):
        ax.text(v, y, f" {v:,.0f}", va="center", fontsize=8)  # type: ignore[attr-defined]
    ax.set_yticks(range(len(variants)), variants, fontsize=8)  # type: ignore[attr-defined]
    ax.invert_yaxis()  # type: ignore[attr-defined]
    ax.set_xlabel("MB/s: weight-file bytes / (model_read + deserialize + to_device), median")  # type: ignore[attr-defined]
    ax.set_title(  # type: ignore[attr-defined]
        "Model-load throughput\n(a lazy loader, e.g. mmap, reads its pages later, at first "
        "use: its figure here is not all of its I/O)",
        fontsize=10,
    )
    ax.grid(axis="x", alpha=0.3)  # type: ignore[attr-defined]
    return _png(fig)
