"""The figures of a load trial, and the points of its picture.

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

from coldstart_bench.analysis.stats import percentile
from coldstart_bench.results.schema import LoadRecord, TrialRecord
from coldstart_bench.scenario.settings import LoadSettings

LOAD_METRICS: dict[str, str] = {
    "first_success_ms": "time to the first answer (t0 → end of the first success)",
    "load_cold_p50_ms": "cold phase: latency from arrival, median",
    "load_cold_p95_ms": "cold phase: latency from arrival, p95",
    "load_warm_p50_ms": "warm phase: latency from arrival, median",
    "load_warm_p95_ms": "warm phase: latency from arrival, p95",
    "cold_penalty_p95": "cold penalty (cold p95 / warm p95)",
    "cold_excess_p95_ms": "cold excess (cold p95 − warm p95)",
    "time_to_steady_ms": "time to steady state",
    "goodput_rps": "goodput in the first seconds (req/s meeting the SLO)",
    "load_errors": "cold requests not answered",
    "load_retries": "extra sends (retries) in the cold phase",
}


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


def load_figures(trial: TrialRecord) -> dict[str, float | None]:
    """The figures of one load trial (see the module's docstring); {} for other trials."""
    if not trial.load or trial.load_settings is None:
        return {}
    judged = trial.load_settings
    cold = [r for r in trial.load if r.phase == "cold"]
    warm = [r for r in trial.load if r.phase == "warm"]
    cold_lat = [v for r in cold if (v := latency_from_arrival(r)) is not None]
    warm_lat = [v for r in warm if (v := latency_from_arrival(r)) is not None]
    answered = [
        r.request.start_ms + (r.request.total_ms or 0.0) for r in cold if r.request.status == "ok"
    ]
    warm_p95 = percentile(warm_lat, 95)
    cold_p95 = percentile(cold_lat, 95)
    figures: dict[str, float | None] = {
        "first_success_ms": min(answered) if answered else None,
        "load_cold_p50_ms": percentile(cold_lat, 50),
        "load_cold_p95_ms": cold_p95,
        "load_warm_p50_ms": percentile(warm_lat, 50),
        "load_warm_p95_ms": warm_p95,
        "cold_penalty_p95": cold_p95 / warm_p95 if cold_p95 and warm_p95 else None,
        "cold_excess_p95_ms": (
            cold_p95 - warm_p95 if cold_p95 is not None and warm_p95 is not None else None
        ),
        "time_to_steady_ms": time_to_steady(
            cold, warm_p95, judged.steady_margin, judged.steady_window
        ),
        "goodput_rps": goodput(cold, judged),
        "load_errors": float(sum(r.request.status != "ok" for r in cold)),
        "load_retries": float(sum(r.attempts - 1 for r in cold)),
    }
    return figures


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


def load_points(trials: Iterable[TrialRecord]) -> pd.DataFrame:
    """One row per load request of the measured ok trials: when it arrived (s from t0),
    its latency from arrival (NaN when not answered), whether it met the SLO, its phase."""
    rows = []
    for t in trials:
        if t.warmup or t.status != "ok" or not t.load or t.load_settings is None:
            continue
        for r in t.load:
            latency = latency_from_arrival(r)
            rows.append(
                {
                    "variant": t.variant,
                    "trial": t.trial,
                    "ready_s": (t.ready_ms or 0.0) / 1000,
                    "phase": r.phase,
                    "arrival_s": r.arrival_ms / 1000,
                    "done_s": (r.request.start_ms + (r.request.total_ms or 0.0)) / 1000,
                    "latency_ms": np.nan if latency is None else latency,
                    "good": meets_slo(r, t.load_settings),
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "variant",
            "trial",
            "ready_s",
            "phase",
            "arrival_s",
            "done_s",
            "latency_ms",
            "good",
        ],
    )


def rolling_latency(points: pd.DataFrame, bins: int = 30) -> pd.DataFrame:
    """Per variant, the cold phase cut into ``bins`` slices of arrival time, pooled over
    trials: p50 and p95 of the latency from arrival (unanswered: infinitely slow), and the
    goodput (SLO-meeting answers completed per second per trial) of each slice."""
    columns = ["variant", "t_s", "p50_ms", "p95_ms", "goodput_rps", "n"]
    cold = points[points["phase"] == "cold"]
    rows = []
    for variant, part in cold.groupby("variant", sort=False):
        edges = np.linspace(0.0, float(part["arrival_s"].max()) + 1e-9, bins + 1)
        trials = max(part["trial"].nunique(), 1)
        width = edges[1] - edges[0]
        for low, high in itertools.pairwise(edges):
            arrived = part[(part["arrival_s"] >= low) & (part["arrival_s"] < high)]
            done = part[(part["done_s"] >= low) & (part["done_s"] < high) & part["good"]]
            latency = arrived["latency_ms"].fillna(np.inf).to_numpy(float)
            rows.append(
                {
                    "variant": variant,
                    "t_s": (low + high) / 2,
                    "p50_ms": float(np.percentile(latency, 50)) if len(latency) else np.nan,
                    "p95_ms": float(np.percentile(latency, 95)) if len(latency) else np.nan,
                    "goodput_rps": len(done) / width / trials if width > 0 else np.nan,
                    "n": len(latency),
                }
            )
    return pd.DataFrame(rows, columns=columns)
