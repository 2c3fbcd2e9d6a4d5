"""Per-variant figures: the statistics table (n, median, p95, spread, bootstrap CI of the
median, for every metric) and the headline rows the terminal, ``summary.md`` and the HTML
show, read from that same table — so a number means one thing wherever it appears."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from coldstart_bench.analysis.frames import (
    FACTOR_PREFIX,
    METRICS,
    factor_columns,
    measured_ok,
    variant_order,
)
from coldstart_bench.analysis.stats import mad, median_ci
from coldstart_bench.results.logs import log_tail
from coldstart_bench.results.redact import redact_text
from coldstart_bench.results.schema import TrialRecord

SUMMARY_COLUMNS = ("variant", "metric", "n", "median", "p95", "min", "max", "mad")
SUMMARY_COLUMNS += ("ci_low", "ci_high")


def metric_summary(
    frame: pd.DataFrame,
    metrics: Sequence[str] = tuple(METRICS),
    order: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Per variant and metric, over the measured ok trials: n, median, p95, min, max, MAD,
    and the bootstrap CI of the median. Variants in ``order`` (the scenario's), metrics in
    ``metrics``' order."""
    data = measured_ok(frame)
    rows = []
    groups = dict(tuple(data.groupby("variant", sort=False))) if not data.empty else {}
    for variant in variant_order(data, order):
        part = groups[variant]
        for metric in metrics:
            if metric not in part:
                continue
            values = part[metric].dropna().to_numpy(dtype=float)
            if not len(values):
                continue
            low, high = median_ci(values)
            rows.append(
                {
                    "variant": variant,
                    "metric": metric,
                    "n": len(values),
                    "median": float(np.median(values)),
                    "p95": float(np.percentile(values, 95)),
                    "min": float(values.min()),
                    "max": float(values.max()),
                    "mad": mad(values),
                    "ci_low": low,
                    "ci_high": high,
                }
            )
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


@dataclass(frozen=True)
class VariantSummary:
    """One variant's headline row: trial counts, then medians (``_p50``) and p95s of the
    per-trial metrics, each read from :func:`metric_summary`'s table."""

    variant: str
    factors: Mapping[str, str]
    trials: int
    ok: int
    failed: int  # failed + timeout
    skipped: int
    ready_p50: float | None
    ready_p95: float | None
    cold_ttft_p50: float | None
    cold_ttft_p95: float | None
    first_connect_p50: float | None
    first_tls_p50: float | None
    first_ttfb_p50: float | None
    first_ttft_p50: float | None
    later_connect_p50: float | None  # a reused connection counts as 0 ms of connecting
    later_reused_share: float | None
    later_ttft_p50: float | None
    tls_seen: bool
    # load trials only (None elsewhere)
    first_success_p50: float | None = None
    load_cold_p95: float | None = None  # the median over trials of each trial's cold p95
    load_warm_p95: float | None = None
    cold_penalty_p95: float | None = None
    cold_excess_p95: float | None = None
    time_to_steady_p50: float | None = None
    goodput_p50: float | None = None
    load_errors_p50: float | None = None

    @property
    def load_seen(self) -> bool:
        return self.load_cold_p95 is not None or self.first_success_p50 is not None


# VariantSummary field → (metric, statistic) in the statistics table.
_HEADLINE: dict[str, tuple[str, str]] = {
    "ready_p50": ("ready_ms", "median"),
    "ready_p95": ("ready_ms", "p95"),
    "cold_ttft_p50": ("cold_ttft_ms", "median"),
    "cold_ttft_p95": ("cold_ttft_ms", "p95"),
    "first_connect_p50": ("first_connect_ms", "median"),
    "first_tls_p50": ("first_tls_ms", "median"),
    "first_ttfb_p50": ("first_ttfb_ms", "median"),
    "first_ttft_p50": ("first_ttft_ms", "median"),
    "later_connect_p50": ("later_connect_ms", "median"),
    "later_reused_share": ("later_reused_share", "median"),
    "later_ttft_p50": ("later_ttft_ms", "median"),
    "first_success_p50": ("first_success_ms", "median"),
    "load_cold_p95": ("load_cold_p95_ms", "median"),
    "load_warm_p95": ("load_warm_p95_ms", "median"),
    "cold_penalty_p95": ("cold_penalty_p95", "median"),
    "cold_excess_p95": ("cold_excess_p95_ms", "median"),
    "time_to_steady_p50": ("time_to_steady_ms", "median"),
    "goodput_p50": ("goodput_rps", "median"),
    "load_errors_p50": ("load_errors", "median"),
}
HEADLINE_METRICS: tuple[str, ...] = tuple(dict.fromkeys(m for m, _s in _HEADLINE.values()))


def summarise(
    frame: pd.DataFrame, stats: pd.DataFrame | None = None, order: Sequence[str] | None = None
) -> list[VariantSummary]:
    """One row per variant with measured trials, in ``order``; figures from ``stats`` (the
    table :func:`metric_summary` gives for this frame; computed when not given)."""
    if stats is None:
        stats = metric_summary(frame, HEADLINE_METRICS, order)
    values = {(r.variant, r.metric): r for r in stats.itertuples(index=False)}
    measured = frame[~frame["warmup_trial"].astype(bool)] if not frame.empty else frame
    rows = []
    for variant in variant_order(measured, order):
        part = measured[measured["variant"] == variant]
        figures = {}
        for name, (metric, statistic) in _HEADLINE.items():
            row = values.get((variant, metric))
            figures[name] = None if row is None else float(getattr(row, statistic))
        first = part.iloc[0]
        factors = {
            c[len(FACTOR_PREFIX) :]: str(first[c])
            for c in factor_columns(part)
            if pd.notna(first[c])
        }
        rows.append(
            VariantSummary(
                variant=variant,
                factors=factors,
                trials=len(part),
                ok=int((part["status"] == "ok").sum()),
                failed=int(part["status"].isin(["failed", "timeout"]).sum()),
                skipped=int((part["status"] == "skipped").sum()),
                tls_seen=(variant, "first_tls_ms") in values,
                **figures,
            )
        )
    return rows


@dataclass(frozen=True)
class Failure:
    trial: int
    variant: str
    status: str
    error: str
    log_tail: str = ""  # the last lines of the first failed service's log (secrets hidden)


# A report shows the log tails of this many failures; the rest are counted.
LOG_TAILS_SHOWN = 50


def failures(trials: Iterable[TrialRecord], run_dir: Path | None = None) -> list[Failure]:
    """The measured and warm-up trials that failed or timed out, in run order; with the run
    directory, the first ones carry their failed service's log tail."""
    found = []
    for t in trials:
        if t.status not in ("failed", "timeout"):
            continue
        tail = ""
        if run_dir is not None and len(found) < LOG_TAILS_SHOWN:
            logged = next((s for s in t.services if s.log and s.status != "ok"), None)
            if logged is not None and logged.log is not None:
                tail = redact_text(log_tail(run_dir / logged.log))
        found.append(Failure(t.trial, t.variant, t.status, t.error or "(no reason recorded)", tail))
    return found


def skipped_variants(trials: Iterable[TrialRecord]) -> dict[str, str]:
    """variant → why its trials were not run (a failed ``requires`` check)."""
    found: dict[str, str] = {}
    for t in trials:
        if t.status == "skipped":
            found.setdefault(t.variant, t.error or "(no reason recorded)")
    return found


def node_of(trial: TrialRecord) -> str | None:
    return trial.node.hostname if trial.node is not None else None


def stratify_by_node(trials: Sequence[TrialRecord]) -> list[TrialRecord]:
    """Trials from several machines get their node as one more factor (and in the variant
    id), so no statistic averages two machine types together. One machine: unchanged."""
    nodes = {node_of(t) for t in trials} - {None}
    if len(nodes) < 2:
        return list(trials)
    out = []
    for t in trials:
        node = node_of(t) or "unknown"
        out.append(
            dataclasses.replace(
                t, factors={**t.factors, "node": node}, variant=f"{t.variant},node={node}"
            )
        )
    return out
