"""Analysis of a run's trial records with pandas: flat frames, per-variant statistics with
bootstrap confidence intervals, per-request-index figures, and factor effects.

Pure functions of their inputs (bootstrap resampling uses a fixed seed), so the same run
gives the same report. Heavy imports (pandas, numpy) happen only when this module is used.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from coldstart_bench.records import TrialRecord, instance_name

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0
# Below this many trials in a cell (one variant), resampling says nothing about the median's
# spread (two values give at most three distinct medians), so the cell is left out of
# factor effects.
MIN_TRIALS_PER_CELL = 3
CONFIDENCE = 0.95
FACTOR_PREFIX = "factor_"

# Per-trial metrics, with the words a report uses for them.
METRICS: dict[str, str] = {
    "cold_ttft_ms": "cold TTFT (spawn → first token)",
    "ready_ms": "time to ready",
    "spawn_ms": "spawn",
    "first_connect_ms": "first request's connect",
    "first_tls_ms": "first request's TLS handshake",
    "first_ttfb_ms": "first request's TTFB",
    "first_ttft_ms": "first request's TTFT",
    "later_connect_ms": "later requests' connect",
    "later_ttft_ms": "later requests' TTFT",
    "teardown_ms": "teardown",
}
# The metrics factor effects are computed for, in the order a report shows them.
EFFECT_METRICS: tuple[str, ...] = (
    "cold_ttft_ms",
    "ready_ms",
    "first_ttft_ms",
    "first_connect_ms",
    "later_connect_ms",
    "later_ttft_ms",
)
# Which level of a factor is the baseline ("off"); every other level is a treatment. A
# factor with none of these compares against its first declared level.
BASELINE_LEVELS: tuple[str, ...] = ("off", "none", "cold", "false", "no", "0", "cpu", "base")


# Frames ------------------------------------------------------------------------------------


def _later(values: Iterable[float | None]) -> list[float]:
    return [v for v in values if v is not None]


def trials_frame(trials: Iterable[TrialRecord]) -> pd.DataFrame:
    """One row per trial: identity, factors (``factor_<name>`` columns) and the metrics of
    :data:`METRICS`. Warm-up trials are included (column ``warmup``); filter them out for
    statistics."""
    rows = []
    for t in trials:
        first = t.requests[0] if t.requests else None
        later = [r for r in t.requests[1:] if r.status == "ok"]
        row: dict[str, object] = {
            "run_id": t.run_id,
            "trial": t.trial,
            "variant": t.variant,
            **{FACTOR_PREFIX + k: v for k, v in t.factors.items()},
            "repetition": t.repetition,
            "warmup": t.warmup,
            "status": t.status,
            "error": t.error,
            "spawn_ms": t.spawn_ms,
            "ready_ms": t.ready_ms,
            "cold_ttft_ms": t.cold_ttft_ms,
            "teardown_ms": t.teardown_ms,
            "wall_ms": t.wall_ms,
            "first_connect_ms": first.connect_ms if first else None,
            "first_tls_ms": first.tls_ms if first else None,
            "first_ttfb_ms": first.ttfb_ms if first else None,
            "first_ttft_ms": first.ttft_ms if first else None,
            "first_total_ms": first.total_ms if first else None,
            # A reused connection did no connecting: 0 ms, not a missing value.
            "later_connect_ms": _mean([r.connect_ms or 0.0 for r in later]),
            "later_ttft_ms": _median(_later(r.ttft_ms for r in later)),
            "later_reused_share": _mean([1.0 if r.reused else 0.0 for r in later]),
            "requests": len(t.requests),
        }
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=["trial", "variant", "status", "warmup", *METRICS])
    return frame


def requests_frame(trials: Iterable[TrialRecord]) -> pd.DataFrame:
    """One row per request (trials without requests give none): the trial's identity and
    factors, then the request's fields; inter-token gaps as mean/p95/max."""
    rows = []
    for t in trials:
        for r in t.requests:
            itl = np.asarray(r.itl_ms, dtype=float)
            rows.append(
                {
                    "run_id": t.run_id,
                    "trial": t.trial,
                    "variant": t.variant,
                    **{FACTOR_PREFIX + k: v for k, v in t.factors.items()},
                    "repetition": t.repetition,
                    "warmup": t.warmup,
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
                    "itl_mean_ms": float(itl.mean()) if itl.size else None,
                    "itl_p95_ms": float(np.percentile(itl, 95)) if itl.size else None,
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
            "warmup": t.warmup,
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
    return frame[(~frame["warmup"].astype(bool)) & (frame["status"] == "ok")]


# Statistics --------------------------------------------------------------------------------


def _mean(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if len(values) else None


def _median(values: Sequence[float]) -> float | None:
    return float(np.median(values)) if len(values) else None


def mad(values: np.ndarray) -> float:
    """Median absolute deviation from the median (unscaled)."""
    return float(np.median(np.abs(values - np.median(values))))


def bootstrap_medians(
    values: np.ndarray, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED
) -> np.ndarray:
    """Medians of ``resamples`` resamples (with replacement) of ``values``."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(values), size=(resamples, len(values)))
    return np.median(values[picks], axis=1)


def median_ci(values: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the median."""
    if len(values) == 1:
        return float(values[0]), float(values[0])
    meds = bootstrap_medians(values)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(meds, [tail, 100 - tail])
    return float(low), float(high)


def metric_summary(
    frame: pd.DataFrame, metrics: Sequence[str] = tuple(METRICS), by: str = "variant"
) -> pd.DataFrame:
    """Per group and metric: n, median, p95, min, max, MAD, and the bootstrap CI of the
    median, over measured ok trials. Groups keep their first-seen order."""
    data = measured_ok(frame)
    rows = []
    for group, part in data.groupby(by, sort=False):
        for metric in metrics:
            if metric not in part:
                continue
            values = part[metric].dropna().to_numpy(dtype=float)
            if not len(values):
                continue
            low, high = median_ci(values)
            rows.append(
                {
                    by: group,
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
    return pd.DataFrame(
        rows,
        columns=[by, "metric", "n", "median", "p95", "min", "max", "mad", "ci_low", "ci_high"],
    )


def request_index_summary(requests: pd.DataFrame) -> pd.DataFrame:
    """Median connect/TTFB/TTFT/total and the reused share per variant and request index,
    over measured ok requests: the first-request penalty, and what pooling, warm-up and
    caching do to it."""
    if requests.empty:
        return pd.DataFrame(columns=["variant", "request_index", "n"])
    ok = measured_ok(requests).copy()
    ok["connect_or_zero_ms"] = ok["connect_ms"].fillna(0.0)
    grouped = ok.groupby(["variant", "request_index"], sort=False)
    out = grouped.agg(
        n=("ttft_ms", "size"),
        connect_ms=("connect_or_zero_ms", "median"),
        tls_ms=("tls_ms", "median"),
        ttfb_ms=("ttfb_ms", "median"),
        ttft_ms=("ttft_ms", "median"),
        total_ms=("total_ms", "median"),
        reused_share=("reused", lambda s: float(s.fillna(False).astype(bool).mean())),
    )
    return out.reset_index()


def first_request_split(frame: pd.DataFrame) -> pd.DataFrame:
    """Per variant, the median first request split into connect, TLS, the wait for the
    response headers after them (TTFB), and from headers to the first token."""
    data = measured_ok(frame)
    rows = []
    for variant, part in data.groupby("variant", sort=False):
        connect = float(part["first_connect_ms"].fillna(0.0).median())
        tls = float(part["first_tls_ms"].fillna(0.0).median())
        ttfb = float(part["first_ttfb_ms"].median())
        ttft = float(part["first_ttft_ms"].median())
        rows.append(
            {
                "variant": variant,
                "connect_ms": connect,
                "tls_ms": tls,
                "ttfb_ms": ttfb,
                "ttft_ms": ttft,
                "headers_wait_ms": max(ttfb - connect - tls, 0.0),
                "first_token_wait_ms": max(ttft - ttfb, 0.0),
            }
        )
    return pd.DataFrame(rows)


# Factor effects ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Effect:
    factor: str
    baseline: str
    treatment: str
    metric: str
    ratio: float  # median(treatment) / median(baseline), averaged over the strata
    ci_low: float
    ci_high: float
    strata: int  # combinations of the other factors both levels were measured in

    @property
    def change_pct(self) -> float:
        return (self.ratio - 1.0) * 100.0

    @property
    def clear(self) -> bool:
        """The confidence interval of the ratio excludes 1 (no change)."""
        return self.ci_high < 1.0 or self.ci_low > 1.0

    def sentence(self) -> str:
        """E.g. 'warmup=startup (vs none): first request's TTFT 45 % lower [40, 50]'."""
        what = METRICS.get(self.metric, self.metric)
        direction = "lower" if self.ratio < 1 else "higher"
        if self.ratio < 1:  # "X % lower": the interval of X runs the other way round
            low, high = (1 - self.ci_high) * 100, (1 - self.ci_low) * 100
        else:
            low, high = (self.ci_low - 1) * 100, (self.ci_high - 1) * 100
        verdict = "" if self.clear else " (not clear: the interval includes no change)"
        return (
            f"{self.factor}={self.treatment} (vs {self.baseline}): {what} "
            f"{abs(self.change_pct):.0f} % {direction} "
            f"[95 % CI {round(low) + 0}, {round(high) + 0}]{verdict}"
        )


def factor_contrasts(
    frame: pd.DataFrame, declared: Mapping[str, Sequence[str]] | None = None
) -> dict[str, tuple[str, tuple[str, ...]]]:
    """factor → (baseline, treatments) for every factor with two or more levels.

    ``declared`` gives each factor's levels in the scenario's order: the baseline is an
    "off"-like level where there is one, else the first declared level, and the treatments
    follow in declared order (first-seen order for levels not declared)."""
    found: dict[str, tuple[str, tuple[str, ...]]] = {}
    for column in factor_columns(frame):
        factor = column[len(FACTOR_PREFIX) :]
        seen = [str(v) for v in pd.unique(frame[column].dropna())]
        if len(seen) < 2:
            continue
        order = [lv for lv in (declared or {}).get(factor, ()) if lv in seen]
        levels = order + [lv for lv in seen if lv not in order]
        baseline = next((lv for lv in BASELINE_LEVELS if lv in levels), levels[0])
        found[factor] = (baseline, tuple(lv for lv in levels if lv != baseline))
    return found


def declared_levels(variants: Iterable[Mapping[str, object]]) -> dict[str, list[str]]:
    """Each factor's levels in the order the plan's variants (``run.json``) list them."""
    levels: dict[str, list[str]] = {}
    for variant in variants:
        factors = variant.get("factors")
        if not isinstance(factors, Mapping):
            continue
        for factor, level in factors.items():
            seen = levels.setdefault(str(factor), [])
            if str(level) not in seen:
                seen.append(str(level))
    return levels


def factor_effects(
    frame: pd.DataFrame,
    metrics: Sequence[str] = EFFECT_METRICS,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    min_trials: int = MIN_TRIALS_PER_CELL,
    declared: Mapping[str, Sequence[str]] | None = None,
) -> list[Effect]:
    """For each factor, each of its non-baseline levels and each metric: the ratio of
    medians treatment / baseline, computed within each combination of the other factors (a
    stratum, so only the factor differs) and averaged over the strata; the 95 % CI comes
    from resampling the trials of every cell at once. Strata where a level has fewer than
    ``min_trials`` trials are left out; so is a metric whose baseline median is 0."""
    data = measured_ok(frame)
    effects: list[Effect] = []
    if data.empty:
        return effects
    columns = factor_columns(data)
    rng = np.random.default_rng(seed)
    for factor, (baseline, treatments) in factor_contrasts(data, declared).items():
        column = FACTOR_PREFIX + factor
        others = [c for c in columns if c != column]
        groups = list(data.groupby(others, sort=False)) if others else [((), data)]
        for treatment in treatments:
            for metric in metrics:
                if metric not in data:
                    continue
                cells = [
                    (
                        stratum.loc[stratum[column] == baseline, metric].dropna().to_numpy(float),
                        stratum.loc[stratum[column] == treatment, metric].dropna().to_numpy(float),
                    )
                    for _key, stratum in groups
                ]
                effect = _stratified_ratio(cells, resamples, min_trials, rng)
                if effect is not None:
                    ratio, low, high, strata = effect
                    effects.append(
                        Effect(factor, baseline, treatment, metric, ratio, low, high, strata)
                    )
    return effects


def _stratified_ratio(
    cells: Sequence[tuple[np.ndarray, np.ndarray]],
    resamples: int,
    min_trials: int,
    rng: np.random.Generator,
) -> tuple[float, float, float, int] | None:
    """Mean over strata of median(treatment) / median(baseline), with a bootstrap CI;
    None when no stratum has enough trials on both sides."""
    point: list[float] = []
    boots: list[np.ndarray] = []
    for base, treat in cells:
        if min(len(base), len(treat)) < min_trials or np.median(base) <= 0:
            continue
        point.append(float(np.median(treat) / np.median(base)))
        b = np.median(base[rng.integers(0, len(base), (resamples, len(base)))], axis=1)
        t = np.median(treat[rng.integers(0, len(treat), (resamples, len(treat)))], axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            boots.append(np.where(b > 0, t / b, np.nan))
    if not point:
        return None
    tail = (1 - CONFIDENCE) / 2 * 100
    ratios = np.nanmean(np.vstack(boots), axis=0)
    low, high = np.nanpercentile(ratios, [tail, 100 - tail])
    return float(np.mean(point)), float(low), float(high), len(point)


def effects_frame(effects: Sequence[Effect]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "factor": e.factor,
                "baseline": e.baseline,
                "treatment": e.treatment,
                "metric": e.metric,
                "ratio": e.ratio,
                "ci_low": e.ci_low,
                "ci_high": e.ci_high,
                "change_pct": e.change_pct,
                "clear": e.clear,
                "strata": e.strata,
                "summary": e.sentence(),
            }
            for e in effects
        ]
    )


# Model load --------------------------------------------------------------------------------

LOAD_PHASES: tuple[str, ...] = ("model_read", "deserialize", "to_device")


def load_throughput(phases: pd.DataFrame) -> pd.DataFrame:
    """Per trial with load phases that report their bytes: bytes / (model_read +
    deserialize + to_device), in MB/s (10^6 bytes)."""
    if phases.empty or "bytes" not in phases:
        return pd.DataFrame(columns=["trial", "variant", "load_ms", "mb", "mb_per_s"])
    ok = measured_ok(phases)
    load = ok[ok["phase"].isin(LOAD_PHASES)]
    rows = []
    for (trial, variant), part in load.groupby(["trial", "variant"], sort=False):
        nbytes = part["bytes"].dropna()
        if nbytes.empty:
            continue
        load_ms = float(part["duration_ms"].sum())
        mb = float(nbytes.max()) / 1e6
        rows.append(
            {
                "trial": trial,
                "variant": variant,
                "load_ms": load_ms,
                "mb": mb,
                "mb_per_s": mb / (load_ms / 1000.0) if load_ms > 0 else None,
            }
        )
    return pd.DataFrame(rows, columns=["trial", "variant", "load_ms", "mb", "mb_per_s"])


def phase_medians(phases: pd.DataFrame) -> pd.DataFrame:
    """Median start and duration of each (service, phase) per variant, in the order the
    phases happened (by median start)."""
    if phases.empty:
        return pd.DataFrame(columns=["variant", "service", "phase", "start_ms", "duration_ms"])
    ok = measured_ok(phases)
    per_trial = ok.groupby(["variant", "trial", "service", "phase"], sort=False).agg(
        start_ms=("start_ms", "min"), duration_ms=("duration_ms", "sum")
    )
    out = per_trial.groupby(["variant", "service", "phase"], sort=False).median().reset_index()
    return out.sort_values(["variant", "start_ms"], kind="stable").reset_index(drop=True)


def variant_order(frame: pd.DataFrame, declared: Sequence[str] | None = None) -> list[str]:
    """The variants in the scenario's order where known, else first-seen order."""
    seen = [str(v) for v in pd.unique(frame["variant"])] if not frame.empty else []
    if not declared:
        return seen
    return [v for v in declared if v in seen] + [v for v in seen if v not in declared]


def factor_levels(frame: pd.DataFrame) -> Mapping[str, list[str]]:
    return {
        c[len(FACTOR_PREFIX) :]: [str(v) for v in pd.unique(frame[c].dropna())]
        for c in factor_columns(frame)
    }


def service_ready(trials: Iterable[TrialRecord]) -> pd.DataFrame:
    """Median ready time (from t0) of each service per variant, over measured ok trials.
    A chaos restart adds another instance of a service: it is "NAME (restart K)", as its
    phases are."""
    rows = []
    for t in trials:
        if t.warmup or t.status != "ok":
            continue
        seen: Counter[str] = Counter()
        for s in t.services:
            restarts = seen[s.name]
            seen[s.name] += 1
            if s.ready_ms is not None:
                name = instance_name(s.name, restarts)
                rows.append({"variant": t.variant, "service": name, "ready_ms": s.ready_ms})
    frame = pd.DataFrame(rows, columns=["variant", "service", "ready_ms"])
    if frame.empty:
        return frame
    return frame.groupby(["variant", "service"], sort=False)["ready_ms"].median().reset_index()
