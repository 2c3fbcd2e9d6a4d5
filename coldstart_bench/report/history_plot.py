"""A history drawn: per series, each run's trials and median over its commits, each change
point a line labelled with its commit and size; under them the machine's calibration per
run, so a reader sees whether a step is the build's or the runner's. One PNG and one
self-contained HTML page per scenario; every figure comes from the history's view."""

from __future__ import annotations

import base64
import html
import math

import matplotlib.pyplot as plt

from coldstart_bench.analysis.metrics import BY_NAME, PHASE_PREFIX
from coldstart_bench.history.changes import ChangePoint
from coldstart_bench.history.series import SeriesView
from coldstart_bench.report.style import GREY, OKABE_ITO, png_bytes


def _wording(metric: str) -> str:
    known = BY_NAME.get(metric)
    if known is not None:
        return f"{known.wording} ({known.unit})"
    if metric.startswith(PHASE_PREFIX):
        return f"the {metric.removeprefix(PHASE_PREFIX)} phase (ms)"
    return metric


MAX_LABELS = 40  # commits named under the runs' axis (change points are named on the plot)


def history_picture(scenario: str, views: list[SeriesView]) -> bytes | None:
    """One panel per series, the calibration per run below them, runs on a shared axis."""
    if not views:
        return None
    labels = max((v.labels for v in views), key=len)
    calibrations = next((v.calibrations for v in views if any(v.calibrations)), None)
    panels = len(views) + (1 if calibrations else 0)
    fig, axes = plt.subplots(
        panels,
        1,
        figsize=(12, 1.0 + 2.3 * panels),
        sharex=True,
        layout="constrained",
        squeeze=False,
    )
    for ax, view in zip(axes[:, 0], views, strict=False):
        x = range(len(view.labels))
        ax.plot(  # every trial, in one artist: a history of 1,000 runs is 1,000s of points
            [i for i, values in enumerate(view.trials) for _v in values],
            [v for values in view.trials for v in values],
            linestyle="none",
            marker=".",
            markersize=4,
            color=OKABE_ITO[0],
            alpha=0.5,
        )
        ax.plot(
            list(x),
            view.medians,
            color=OKABE_ITO[0],
            linewidth=1.2,
            marker="o",
            markersize=3,
            label="median of the run's trials",
        )
        for change in view.changes:
            ax.axvline(change.index - 0.5, color=OKABE_ITO[5], linewidth=1.5)
            moved = " · the machine moved too" if change.machine_moved else ""
            ax.annotate(
                f"{change.commit or change.run_id}: {change.ratio - 1:+.0%}{moved}",
                xy=(change.index - 0.5, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(4, -12),
                textcoords="offset points",
                color=OKABE_ITO[5],
                fontsize=9,
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1},
            )
        ax.set_title(f"{view.variant} · {_wording(view.metric)}", fontsize=10, loc="left")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    if calibrations:
        ax = axes[-1, 0]
        shown = [c if c is not None else float("nan") for c in calibrations]
        ax.plot(range(len(shown)), shown, color=GREY, marker="o", markersize=3, linewidth=1)
        ax.set_title(
            "the machine: calibration per run (median, ms; higher = slower)",
            fontsize=10,
            loc="left",
        )
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    every = max(1, math.ceil(len(labels) / MAX_LABELS))  # a readable axis at any length
    ticks = range(0, len(labels), every)
    axes[-1, 0].set_xticks(list(ticks), [labels[i] for i in ticks], rotation=60, fontsize=8)
    axes[-1, 0].set_xlabel("run, oldest first (its commit)")
    fig.suptitle(f"{scenario}: cold start over time (| = a change point)", fontsize=12)
    return png_bytes(fig)


def _p(p: float) -> str:
    return f"{p:.2g}" if p >= 1e-300 else "&lt; 1e-300"


def history_page(
    scenario: str, views: list[SeriesView], changes: list[ChangePoint], png: bytes | None
) -> str:
    """The plot and every change point as one self-contained page (everything escaped)."""
    esc = html.escape
    drawn = {(v.variant, v.metric) for v in views}
    undrawn = {(c.variant, c.metric) for c in changes} - drawn
    rows = "".join(
        f"<tr><td>{esc(c.variant)}</td><td>{esc(c.metric)}</td>"
        f"<td>{esc(c.commit or c.run_id)}</td><td>{c.ratio - 1:+.1%}</td>"
        f"<td>[{c.low - 1:+.1%}, {c.high - 1:+.1%}]</td><td>{c.before:,.1f} → {c.after:,.1f}</td>"
        f"<td>{_p(c.p)}</td><td>{'yes' if c.machine_moved else 'no'}</td></tr>"
        for c in changes
    )
    note = (
        f"<p>The picture draws {len(views)} series; the change points of {len(undrawn)} more "
        "are listed here too (<code>coldstart history plot --metric METRIC</code> draws "
        "chosen ones).</p>"
        if undrawn
        else ""
    )
    table = (
        "<table><tr><th>variant</th><th>metric</th><th>from commit</th><th>step</th>"
        "<th>95 % CI</th><th>medians</th><th>p</th><th>machine moved</th></tr>"
        f"{rows}</table>"
        if rows
        else "<p>No change points in these series.</p>"
    )
    image = (
        f'<img alt="{esc(scenario)} over time" src="data:image/png;base64,'
        f'{base64.b64encode(png).decode()}">'
        if png
        else ""
    )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{esc(scenario)}: cold start over time</title>"
        "<style>body{font-family:sans-serif;max-width:1250px;margin:2em auto}"
        "img{max-width:100%}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}</style></head><body>"
        f"<h1>{esc(scenario)}: cold start over time</h1>{table}{note}{image}</body></html>"
    )
