"""A run's trial records as flat pandas frames — one row per trial, per request, per
reported phase.

The trials frame carries every per-trial metric of :mod:`.metrics` (``later_ttft_ms`` is
the median of that trial's later requests). Every per-variant figure in every output is
then a statistic of these values over the variant's measured ok trials (:mod:`.summary`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from coldstart_bench.analysis.metrics import METRIC_NAMES, trial_values
from coldstart_bench.analysis.stats import sorted_percentile
from coldstart_bench.results.schema import TrialRecord

FACTOR_PREFIX = "factor_"


def trials_frame(trials: Iterable[TrialRecord]) -> pd.DataFrame:
    """One row per trial: identity, factors (``factor_<name>`` columns), the record's own
    times and the metrics of :data:`.metrics.METRICS` (a load figure only where some trial
    had load). Warm-up trials are included (column ``warmup_trial``); filter them out for
    statistics."""
    rows = []
    for t in trials:
        row: dict[str, object] = {
            "run_id": t.run_id,
            "trial": t.trial,
            "variant": t.variant,
            **{FACTOR_PREFIX + k: v for k, v in t.factors.items()},
            "repetition": t.repetition,
            "warmup_trial": t.warmup,
            "status": t.status,
            "error": t.error,
            "spawn_ms": t.spawn_ms,
            "ready_ms": t.ready_ms,
            "cold_ttft_ms": t.cold_ttft_ms,
            "teardown_ms": t.teardown_ms,
            "wall_ms": t.wall_ms,
            "requests": len(t.requests),
            **dict(trial_values(t)),
            "first_total_ms": t.requests[0].total_ms if t.requests else None,
            "calibration_ms": t.machine.calibration_ms if t.machine else None,
            "calibration_cpu_ms": t.machine.calibration_cpu_ms if t.machine else None,
        }
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=["trial", "variant", "status", "warmup_trial", *METRIC_NAMES])
    return frame


def requests_frame(trials: Iterable[TrialRecord]) -> pd.DataFrame:
    """One row per request (trials without requests give none): the trial's identity and
    factors, then the request's fields; inter-token gaps as mean/p95/max."""
    rows = []
    for t in trials:
        pooled = t.factors.get("pooling", "on") != "off"
        previous = None
        for r in t.requests:
            itl = np.asarray(r.itl_ms, dtype=float)
            # How long the client had been silent: the previous request's end to this one's
            # first network action. A pooled request on a fresh connection: the pool found
            # its kept-alive connection closed (the server's keep-alive ran out) and
            # replaced it.
            idle = None
            if previous is not None and previous.total_ms is not None:
                idle = r.start_ms - (previous.start_ms + previous.total_ms)
            replaced = pooled and r.index > 0 and r.reused is False
            previous = r
            rows.append(
                {
                    "run_id": t.run_id,
                    "trial": t.trial,
                    "variant": t.variant,
                    **{FACTOR_PREFIX + k: v for k, v in t.factors.items()},
                    "repetition": t.repetition,
                    "warmup_trial": t.warmup,
                    "trial_status": t.status,
                    "ready_ms": t.ready_ms,
                    "request_index": r.index,
                    "status": r.status,
                    "status_code": r.status_code,
                    "http_version": r.http_version,
                    "reused": r.reused,
                    "start_ms": r.start_ms,
                    "dns_ms": r.dns_ms,
                    "connect_ms": r.connect_ms,
                    "tls_ms": r.tls_ms,
                    "ttfb_ms": r.ttfb_ms,
                    "ttft_ms": r.ttft_ms,
                    "total_ms": r.total_ms,
                    "tokens": r.tokens,
                    "usage_tokens": r.usage_tokens,
                    "idle_ms": idle,
                    "replaced": replaced,
                    "itl_mean_ms": float(itl.mean()) if itl.size else None,
                    "itl_p95_ms": sorted_percentile(sorted(r.itl_ms), 95) if itl.size else None,
                    "itl_max_ms": float(itl.max()) if itl.size else None,
                    "bytes": r.bytes,
                    "error": r.error,
                }
            )
    return pd.DataFrame(rows)


def phases_frame(trials: Iterable[TrialRecord]) -> pd.DataFrame:
    """One row per reported phase of each trial (times from the trial's t0)."""
    rows = [
        {
            "trial": t.trial,
            "variant": t.variant,
            **{FACTOR_PREFIX + k: v for k, v in t.factors.items()},
            "warmup_trial": t.warmup,
            "status": t.status,
            "service": p.service,
            "phase": p.phase,
            "start_ms": p.start_ms,
            "end_ms": p.end_ms,
            "duration_ms": p.duration_ms,
            "bytes": p.bytes,
        }
        for t in trials
        for p in t.phases
    ]
    return pd.DataFrame(rows)


def factor_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c.startswith(FACTOR_PREFIX)]


def measured_ok(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows that statistics are computed from: measured (not warm-up) and ok. Works on
    the trials, requests (the request's own status) and phases frames alike."""
    if frame.empty:
        return frame
    return frame[(~frame["warmup_trial"].astype(bool)) & (frame["status"] == "ok")]


def variant_order(frame: pd.DataFrame, declared: Sequence[str] | None = None) -> list[str]:
    """The variants in the scenario's order where known, else first-seen order."""
    seen = [str(v) for v in pd.unique(frame["variant"])] if not frame.empty else []
    if not declared:
        return seen
    return [v for v in declared if v in seen] + [v for v in seen if v not in declared]
