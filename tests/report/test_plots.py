"""The forest plot of factor effects: a log ratio axis that also takes a 0 ms median."""

from __future__ import annotations

import io

import matplotlib.image
import pytest

from coldstart_bench.analysis.effects import Effect
from coldstart_bench.report import plots


def decoded_size(png: bytes) -> tuple[int, int]:
    pixels = matplotlib.image.imread(io.BytesIO(png), format="png")
    return pixels.shape[1], pixels.shape[0]


def test_effects_plot_takes_a_zero_ratio_and_a_twenty_fold_one():
    found = [
        Effect("pooling", "off", "on", "later_connect_ms", 0.0, 0.0, 0.0, 2),
        Effect("size", "small", "large", "later_ttft_ms", 19.8, 16.8, 23.8, 4),
        Effect("build", "base", "candidate", "cold_ttft_ms", 1.17, 1.05, 1.26, 1),
    ]
    png = plots.effects(found)
    assert png is not None
    width, height = decoded_size(png)
    assert width > 1000 and height > 300


def test_ratio_ticks_say_the_change_in_percent():
    assert plots._ratio_label(1.0) == "1×"
    assert plots._ratio_label(0.5) == "0.5×\n(−50 %)"
    assert plots._ratio_label(20.0) == "20×\n(+1900 %)"
    narrow = plots._ratio_ticks(0.7, 1.4).tick_values(0.7, 1.4)
    assert list(narrow) == [0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3]
    # 4× end to end, yet only 0.5× and 1× of the 1-2-5 ticks fall on it (the quickstart's)
    four = plots._ratio_ticks(0.407, 1.63).tick_values(0.407, 1.63)
    assert list(four) == [0.5, 0.6, 0.8, 1.0, 1.2, 1.5]  # thinned: labels never touch
    wide = [t for t in plots._ratio_ticks(0.05, 3.0).tick_values(0.05, 3.0) if 0.05 <= t <= 3]
    assert wide == pytest.approx([0.05, 0.1, 0.2, 0.5, 1.0, 2.0])


def test_no_effects_no_plot():
    assert plots.effects([]) is None
