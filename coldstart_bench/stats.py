"""Order statistics as pure functions (no numpy, so the run path stays light)."""

from __future__ import annotations

import math
from collections.abc import Iterable


def _clean(values: Iterable[float | None]) -> list[float]:
    return sorted(v for v in values if v is not None and not math.isnan(v))


def percentile(values: Iterable[float | None], q: float) -> float | None:
    """The q-th percentile (0..100) with linear interpolation between closest ranks, the
    same definition as numpy's default; None when there are no values."""
    if not 0 <= q <= 100:
        raise ValueError(f"q must be within 0..100, got {q}")
    data = _clean(values)
    if not data:
        return None
    position = (len(data) - 1) * q / 100
    lower = math.floor(position)
    upper = min(lower + 1, len(data) - 1)
    return data[lower] + (data[upper] - data[lower]) * (position - lower)


def median(values: Iterable[float | None]) -> float | None:
    return percentile(values, 50)
