"""The machine over the run: the calibration measured before each trial (how long a fixed
interpreter start took), in run order, with the load average beside it — so a reader sees
whether the machine's speed held while the trials ran, and when it did not."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from coldstart_bench.analysis.machine import MachineSummary
from coldstart_bench.report.style import GREY, OKABE_ITO, png_bytes


def machine_picture(trace: pd.DataFrame, summary: MachineSummary) -> bytes | None:
    """The calibration before each trial with its median over the run (the analysis's
    figures), and the load average beside it."""
    if len(trace) < 2 or summary.calibration_ms is None:
        return None
    fig, ax = plt.subplots(figsize=(11, 4.2), layout="constrained")
    x = np.arange(1, len(trace) + 1)
    calib = trace["calibration_ms"].to_numpy(float)
    middle = summary.calibration_ms
    ax.plot(x, calib, marker="o", markersize=3, linewidth=0.8, color=OKABE_ITO[0],
            label="calibration before the trial (ms)")  # fmt: skip
    ax.axhline(middle, color=GREY, linestyle="--", linewidth=1,
               label=f"its median, {middle:,.1f} ms")  # fmt: skip
    ax.set_xlabel("trial, in the order the run ran them")
    ax.set_ylabel("calibration, ms\n(interpreter start + stdlib imports)")
    ax.set_ylim(0, max(float(calib.max()) * 1.15, middle * 1.5))
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    loads = trace["load_1m"].to_numpy(float)
    if np.isfinite(loads).any():
        load_ax = ax.twinx()
        load_ax.plot(x, loads, color=OKABE_ITO[5], linewidth=1.0, alpha=0.8,
                     label="1-minute load average")  # fmt: skip
        cpus = trace["cpus"].dropna()
        if not cpus.empty:
            load_ax.axhline(float(cpus.max()), color=OKABE_ITO[5], linestyle=":", linewidth=1,
                            label=f"CPUs ({int(cpus.max())})")  # fmt: skip
        load_ax.set_ylabel("load average")
        load_ax.set_ylim(
            0, max(float(np.nanmax(loads)), float(cpus.max()) if len(cpus) else 1) * 1.3
        )
        more_handles, more_labels = load_ax.get_legend_handles_labels()
        handles += more_handles
        labels += more_labels
    spread = summary.calibration_spread
    ax.set_title(
        f"The machine over the run: the calibration's 10th–90th percentiles span "
        f"{spread:.0%} of its median" if spread is not None
        else "The machine over the run: too few trials for the calibration's spread",
        fontsize=10,
    )  # fmt: skip
    ax.legend(handles, labels, fontsize=8, loc="lower left", ncol=2, framealpha=0.9)
    return png_bytes(fig)
