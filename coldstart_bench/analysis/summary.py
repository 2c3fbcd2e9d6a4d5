"""Per-variant figures: the statistics table (n, median, p95, spread, bootstrap CI of the
median, for every metric) and the headline rows the terminal, ``summary.md`` and the HTML
show, read from that same table — so a number means one thing wherever it appears."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from coldstart_bench.analysis.frames import (
    FACTOR_PREFIX,
    factor_columns,
    measured_ok,
    variant_order,
)
from coldstart_bench.analysis.metrics import BY_NAME, METRIC_NAMES
from coldstart_bench.analysis.stats import mad, median_ci
from coldstart_bench.results.logs import log_tail
from coldstart_bench.results.redact import redact_text
from coldstart_bench.results.schema import FAILED_STATUSES, TrialRecord

SUMMARY_COLUMNS = ("variant", "metric", "n", "median", "p95", "min", "max", "mad")
SUMMARY_COLUMNS += ("ci_low", "ci_high")


def metric_summary(
    frame: pd.DataFrame,
    metrics: Sequence[str] = METRIC_NAMES,
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


# The statistics of a metric a summary row keeps (the columns of the statistics table).
STATISTICS = ("n", "median", "p95", "min", "max", "mad", "ci_low", "ci_high")


@dataclass(frozen=True)
class VariantSummary:
    """One variant's headline row: its trial counts, then every statistic of every metric
    it measured (read from :func:`metric_summary`'s table), by metric and statistic."""

    variant: str
    factors: Mapping[str, str]
    trials: int
    ok: int
    failed: int  # failed + timeout
    skipped: int
    figures: Mapping[str, Mapping[str, float]]  # metric → statistic → value

    def figure(self, metric: str, statistic: str = "median") -> float | None:
        """A statistic of a metric over the variant's measured ok trials (None: the variant
        has no value of it)."""
        value = self.figures.get(metric, {}).get(statistic)
        return None if value is None else float(value)

    def measured(self, metric: str) -> bool:
        return metric in self.figures

    @property
    def load_seen(self) -> bool:
        """A load figure was measured (the table then shows the load's columns)."""
        return any(BY_NAME[m].load for m in self.figures if m in BY_NAME)


def summarise(
    frame: pd.DataFrame, stats: pd.DataFrame | None = None, order: Sequence[str] | None = None
) -> list[VariantSummary]:
    """One row per variant with measured trials, in ``order``; figures from ``stats`` (the
    table :func:`metric_summary` gives for this frame; computed when not given)."""
    if stats is None:
        stats = metric_summary(frame, order=order)
    figures: dict[str, dict[str, dict[str, float]]] = {}
    for record in stats.to_dict("records"):
        by_metric = figures.setdefault(str(record["variant"]), {})
        by_metric[str(record["metric"])] = {s: float(record[s]) for s in STATISTICS}
    measured = frame[~frame["warmup_trial"].astype(bool)] if not frame.empty else frame
    rows = []
    for variant in variant_order(measured, order):
        part = measured[measured["variant"] == variant]
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
                failed=int(part["status"].isin(FAILED_STATUSES).sum()),
                skipped=int((part["status"] == "skipped").sum()),
                figures=figures.get(variant, {}),
            )
        )
    return rows


BOX_COLUMNS = ["variant", "n", "q1", "median", "q3", "whisker_low", "whisker_high"]


def boxes(ok: pd.DataFrame, metric: str, order: Sequence[str]) -> pd.DataFrame:
    """Per variant in ``order`` with a value of ``metric`` among the measured ok trials
    ``ok``: the quartiles (numpy's linear percentiles) and Tukey's whiskers — the farthest
    values within 1.5 × the interquartile range of the box, as a box plot draws them."""
    rows = []
    for variant in order:
        values = ok.loc[ok["variant"] == variant, metric].dropna().to_numpy(dtype=float)
        if not len(values):
            continue
        q1, middle, q3 = (float(q) for q in np.percentile(values, [25, 50, 75]))
        reach = 1.5 * (q3 - q1)
        inside = values[(values >= q1 - reach) & (values <= q3 + reach)]
        rows.append(
            {
                "variant": variant,
                "n": len(values),
                "q1": q1,
                "median": middle,
                "q3": q3,
                "whisker_low": float(inside.min()) if len(inside) else q1,
                "whisker_high": float(inside.max()) if len(inside) else q3,
            }
        )
    return pd.DataFrame(rows, columns=BOX_COLUMNS)


@dataclass(frozen=True)
class Failure:
    trial: int
    variant: str
    status: str
    error: str
    log_tail: str = ""  # the last lines of the first failed service's log (secrets hidden)


# A report shows the log tails of this many failures; the rest are counted.
LOG_TAILS_SHOWN = 50


def failures(
    frame: pd.DataFrame, failed: Iterable[TrialRecord] = (), run_dir: Path | None = None
) -> list[Failure]:
    """The measured and warm-up trials that failed or timed out, in run order (from the
    trials frame); with the run directory, those of ``failed`` (their records) among the
    first carry their failed service's log tail."""
    if frame.empty:
        return []
    records = {t.trial: t for t in failed}
    rows = frame.loc[frame["status"].isin(FAILED_STATUSES), ["trial", "variant", "status", "error"]]
    found = []
    for trial, variant, status, error in rows.itertuples(index=False):
        tail = ""
        record = records.get(trial)
        if run_dir is not None and record is not None and len(found) < LOG_TAILS_SHOWN:
            logged = next((s for s in record.services if s.log and s.status != "ok"), None)
            if logged is not None and logged.log is not None:
                tail = redact_text(log_tail(run_dir / logged.log))
        found.append(Failure(int(trial), str(variant), str(status), reason_of(error), tail))
    return found


def skipped_variants(frame: pd.DataFrame) -> dict[str, str]:
    """variant → why its trials were not run (a failed ``requires`` check)."""
    if frame.empty:
        return {}
    found: dict[str, str] = {}
    rows = frame.loc[frame["status"] == "skipped", ["variant", "error"]]
    for variant, error in rows.itertuples(index=False):
        found.setdefault(str(variant), reason_of(error))
    return found


def reason_of(error: object) -> str:
    """A trial's error as a trials frame holds it (missing: NaN or None), in words."""
    return error if isinstance(error, str) and error else "(no reason recorded)"


def node_of(trial: TrialRecord) -> str | None:
    return trial.node.hostname if trial.node is not None else None
