"""How a load trial's figures are measured (their :class:`~.metrics.Metric` records compute
them per trial with these functions), and the points of its picture.

A request's latency under load is counted from its *arrival*: the wait before it could be
sent (held until ready, retried, or the client's own lateness) plus its time to first token
— what a user of a replica that is still starting sees. The cold phase runs from spawn (or
ready); the warm phase is the same load on the same replica once it has served for a while.

Per trial:
- ``first_success_ms``: t0 → the end of the first answered request;
- ``load_cold_p50_ms`` / ``load_cold_p95_ms``, ``load_warm_p50_ms`` / ``load_warm_p95_ms``:
  percentiles of the latency from arrival, per phase;
- ``cold_penalty_p95``: cold p95 / warm p95 (how much worse the cold replica is), and
  ``cold_excess_p95_ms``: cold p95 − warm p95, the same in milliseconds (a ratio swings
  with its small denominator: the warm p95 of a busy machine);
- ``time_to_steady_ms``: t0 → the arrival of the first cold request from which every rolling
  window of ``steady_window`` requests has its p95 within ``(1 + steady_margin)`` × the warm
  p95 (None: not reached within the phase, or no warm phase to compare with);
- ``goodput_rps``: answered requests meeting the SLO (every request answered, without one)
  among those arriving in the phase's first ``goodput_window_s``, per second;
- ``load_errors``: cold requests never answered; ``load_retries``: their extra sends.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from coldstart_bench.results.schema import LoadRecord, TrialRecord
from coldstart_bench.scenario.patterns import PATTERNS
from coldstart_bench.scenario.settings import LoadSettings


def latency_from_arrival(record: LoadRecord) -> float | None:
    """Wait + time to first token (or to the whole answer where nothing streamed)."""
    request = record.request
    if request.status != "ok":
        return None
    first = request.ttft_ms if request.ttft_ms is not None else request.total_ms
    return None if first is None else record.wait_ms + first


def meets_slo(record: LoadRecord, judged: LoadSettings) -> bool:
    latency = latency_from_arrival(record)
    if latency is None:
        return False
    ttft, total = judged.slo_ttft_ms, judged.slo_total_ms
    if ttft is not None and latency > ttft:
        return False
    whole = record.wait_ms + (record.request.total_ms or 0.0)
    return total is None or whole <= total


def time_to_steady(
    cold: Sequence[LoadRecord], warm_p95: float | None, margin: float, window: int
) -> float | None:
    """The arrival (from t0) of the first cold request from which every rolling window of
    ``window`` requests (in arrival order; an unanswered request counts as infinitely
    slow) has its p95 within ``(1 + margin) × warm_p95``."""
    if warm_p95 is None or len(cold) < window:
        return None
    ordered = sorted(cold, key=lambda r: r.arrival_ms)
    latency = np.array([latency_from_arrival(r) or np.inf for r in ordered])
    windows = np.lib.stride_tricks.sliding_window_view(latency, window)
    with np.errstate(invalid="ignore"):  # an unanswered (infinite) one: a NaN, not steady
        within = np.percentile(windows, 95, axis=1) <= (1 + margin) * warm_p95
    if not within[-1]:
        return None  # not steady even at the end of the phase
    last_bad = np.flatnonzero(~within)
    start = 0 if not len(last_bad) else int(last_bad[-1]) + 1
    return float(ordered[start].arrival_ms)


def goodput(cold: Sequence[LoadRecord], judged: LoadSettings) -> float | None:
    if not cold:
        return None
    window_s = judged.goodput_window_s
    origin = min(r.arrival_ms for r in cold)
    early = [r for r in cold if r.arrival_ms - origin < window_s * 1000]
    return sum(meets_slo(r, judged) for r in early) / window_s


POINT_COLUMNS = [
    "variant",
    "trial",
    "pattern",
    "panel",
    "ready_s",
    "phase",
    "arrival_s",
    "since_s",
    "done_since_s",
    "latency_ms",
    "good",
]


def panel_of(name: str) -> str:
    """How the load picture draws a pattern's cold phase (a pattern no longer known: as
    arrivals over time)."""
    known = PATTERNS.get(name)
    return known.panel if known is not None else "timeline"


def load_points(trials: Iterable[TrialRecord]) -> pd.DataFrame:
    """One row per load request of the measured ok trials: when it arrived (s from t0, and
    ``since_s`` from its trial's ready for the cold phase, from the phase's first arrival
    for the warm one), its latency from arrival (NaN when not answered), when its answer
    ended (``done_since_s``, on the same clock as ``since_s``), its place among its phase's
    requests by latency (``rank``, 1 the fastest; unanswered last), whether it met the SLO,
    its phase, the load's pattern and how its panel is drawn."""
    rows = []
    for t in trials:
        if t.warmup or t.status != "ok" or not t.load or t.load_settings is None:
            continue
        ready_ms = t.ready_ms or 0.0
        warm_from = min((r.arrival_ms for r in t.load if r.phase == "warm"), default=0.0)
        for r in t.load:
            latency = latency_from_arrival(r)
            origin = ready_ms if r.phase == "cold" else warm_from
            done_ms = r.request.start_ms + (r.request.total_ms or 0.0)
            rows.append(
                {
                    "variant": t.variant,
                    "trial": t.trial,
                    "pattern": t.load_settings.pattern,
                    "panel": panel_of(t.load_settings.pattern),
                    "ready_s": ready_ms / 1000,
                    "phase": r.phase,
                    "arrival_s": r.arrival_ms / 1000,
                    "since_s": (r.arrival_ms - origin) / 1000,
                    "done_since_s": (done_ms - origin) / 1000,
                    "latency_ms": np.nan if latency is None else latency,
                    "good": meets_slo(r, t.load_settings),
                }
            )
    frame = pd.DataFrame(rows, columns=POINT_COLUMNS)
    if frame.empty:
        return frame.assign(rank=pd.Series(dtype=int))
    by_latency = frame.groupby(["trial", "phase"])["latency_ms"]
    return frame.assign(rank=by_latency.rank(method="first", na_option="bottom").astype(int))


def rolling_latency(points: pd.DataFrame, bins: int | None = None) -> pd.DataFrame:
    """Per variant whose arrivals are spread in time (a timeline panel), the cold phase cut into
    slices of arrival time since ready, pooled over trials: p50 and p95 of the latency from
    arrival (unanswered: infinitely slow) and how many arrived in each. ``bins`` slices, or
    by default as many as leave ~8 requests in each (8 to 30), so that a percentile has
    points to stand on."""
    columns = ["variant", "t_s", "p50_ms", "p95_ms", "n"]
    cold = points[(points["phase"] == "cold") & (points["panel"] == "timeline")]
    rows = []
    for variant, part in cold.groupby("variant", sort=False):
        slices = bins if bins is not None else int(np.clip(len(part) // 8, 8, 30))
        edges = np.linspace(
            float(part["since_s"].min()), float(part["since_s"].max()) + 1e-9, slices + 1
        )
        for low, high in itertools.pairwise(edges):
            arrived = part[(part["since_s"] >= low) & (part["since_s"] < high)]
            latency = arrived["latency_ms"].fillna(np.inf).to_numpy(float)
            rows.append(
                {
                    "variant": variant,
                    "t_s": (low + high) / 2,
                    "p50_ms": float(np.percentile(latency, 50)) if len(latency) else np.nan,
                    "p95_ms": float(np.percentile(latency, 95)) if len(latency) else np.nan,
                    "n": len(latency),
                }
            )
    return pd.DataFrame(rows, columns=columns)


def burst_drain(points: pd.DataFrame) -> pd.DataFrame:
    """Per variant whose load arrives all at once (a ranked panel: a burst) and per phase:
    the median over trials of the latency of the k-th fastest request (``rank``): how the
    queue drains, cold and warm."""
    burst = points[points["panel"] == "ranked"]
    columns = ["variant", "phase", "rank", "latency_ms", "n"]
    if burst.empty:
        return pd.DataFrame(columns=columns)
    grouped = burst.assign(latency=burst["latency_ms"].fillna(np.inf)).groupby(
        ["variant", "phase", "rank"], sort=False
    )["latency"]
    return (
        grouped.agg(latency_ms="median", n="size")
        .reset_index()
        .sort_values(["variant", "phase", "rank"], kind="stable")
    )[columns]


def good_answers(points: pd.DataFrame, steps: int = 200) -> pd.DataFrame:
    """Per variant, the cold phase's answers that met the SLO, counted as they end: how
    many had ended by each moment since ready, per trial (mean over trials)."""
    columns = ["variant", "t_s", "good_per_trial"]
    cold = points[points["phase"] == "cold"]
    if cold.empty:
        return pd.DataFrame(columns=columns)
    ends = cold.loc[cold["good"], "done_since_s"]
    low = min(float(cold["since_s"].min()), 0.0)
    high = float(ends.max()) if not ends.empty else float(cold["since_s"].max())
    grid = np.linspace(low, max(high, low + 1e-3), steps)
    rows = []
    for variant, part in cold.groupby("variant", sort=False):
        trials = max(part["trial"].nunique(), 1)
        done = np.sort(part.loc[part["good"], "done_since_s"].to_numpy(float))
        counts = np.searchsorted(done, grid, side="right") / trials
        rows += [
            {"variant": variant, "t_s": t, "good_per_trial": c}
            for t, c in zip(grid, counts, strict=True)
        ]
    return pd.DataFrame(rows, columns=columns)


def warm_bands(points: pd.DataFrame) -> pd.DataFrame:
    """Per variant, the warm phase's latency from arrival pooled over trials: its p50 and
    p95 (the band a cold phase is drawn against)."""
    columns = ["variant", "p50_ms", "p95_ms", "n"]
    warm = points[(points["phase"] == "warm") & points["latency_ms"].notna()]
    rows = []
    for variant, part in warm.groupby("variant", sort=False):
        low, high = np.percentile(part["latency_ms"].to_numpy(float), [50, 95])
        rows.append({"variant": variant, "p50_ms": float(low), "p95_ms": float(high),
                     "n": len(part)})  # fmt: skip
    return pd.DataFrame(rows, columns=columns)
