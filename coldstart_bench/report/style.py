"""How the report's plots look: the Okabe–Ito palette (safe for the common colour-vision
deficiencies), figures that grow with the number of rows, PNG output, quartile or interval
whiskers."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # before pyplot: no display, no GUI toolkit

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

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


def figure(rows: int, width: float = 11.0, min_height: float = 3.0) -> tuple[Figure, object]:
    height = max(min_height, 1.2 + 0.38 * rows)
    fig, ax = plt.subplots(figsize=(width, height), layout="constrained")
    return fig, ax


def png_bytes(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()


def whiskers(ax: object, ys: np.ndarray, mid: pd.Series, low: pd.Series, high: pd.Series) -> None:
    """Quartile whiskers on horizontal bars."""
    ax.errorbar(  # type: ignore[attr-defined]
        mid.to_numpy(),
        ys,
        xerr=[(mid - low).clip(lower=0).to_numpy(), (high - mid).clip(lower=0).to_numpy()],
        fmt="none",
        ecolor="#333333",
        capsize=3,
        linewidth=1,
    )
