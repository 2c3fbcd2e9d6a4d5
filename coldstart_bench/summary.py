"""Per-variant headline figures of a run, computed from trial records (pure functions)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from coldstart_bench.records import TrialRecord
from coldstart_bench.stats import median, percentile


@dataclass(frozen=True)
class VariantSummary:
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


@dataclass(frozen=True)
class Failure:
    trial: int
    variant: str
    status: str
    error: str


def summarise(
    trials: Iterable[TrialRecord], variant_order: Sequence[str] | None = None
) -> list[VariantSummary]:
    """One summary per variant over the measured (non-warm-up) trials. Figures come from ok
    trials only; a failed trial has no honest cold start to report."""
    by_variant: dict[str, list[TrialRecord]] = {}
    for trial in trials:
        if not trial.warmup:
            by_variant.setdefault(trial.variant, []).append(trial)
    order = list(variant_order or []) + sorted(
        v for v in by_variant if v not in (variant_order or [])
    )
    return [_summarise_variant(v, by_variant[v]) for v in order if v in by_variant]


def _summarise_variant(variant: str, trials: list[TrialRecord]) -> VariantSummary:
    ok = [t for t in trials if t.status == "ok"]
    firsts = [t.requests[0] for t in ok if t.requests]
    later = [r for t in ok for r in t.requests[1:] if r.status == "ok"]
    ready = [t.ready_ms for t in ok]
    ttft = [t.cold_ttft_ms for t in ok]
    return VariantSummary(
        variant=variant,
        factors=dict(trials[0].factors),
        trials=len(trials),
        ok=len(ok),
        failed=sum(t.status in ("failed", "timeout") for t in trials),
        skipped=sum(t.status == "skipped" for t in trials),
        ready_p50=median(ready),
        ready_p95=percentile(ready, 95),
        cold_ttft_p50=median(ttft),
        cold_ttft_p95=percentile(ttft, 95),
        first_connect_p50=median(r.connect_ms for r in firsts),
        first_tls_p50=median(r.tls_ms for r in firsts),
        first_ttfb_p50=median(r.ttfb_ms for r in firsts),
        first_ttft_p50=median(r.ttft_ms for r in firsts),
        later_connect_p50=median((r.connect_ms or 0.0) for r in later) if later else None,
        later_reused_share=(sum(bool(r.reused) for r in later) / len(later)) if later else None,
        later_ttft_p50=median(r.ttft_ms for r in later),
        tls_seen=any(r.tls_ms is not None for r in firsts),
    )


def failures(trials: Iterable[TrialRecord]) -> list[Failure]:
    return [
        Failure(t.trial, t.variant, t.status, t.error or "(no reason recorded)")
        for t in trials
        if t.status in ("failed", "timeout")
    ]


def skipped_variants(trials: Iterable[TrialRecord]) -> dict[str, str]:
    """variant → why its trials were not run (a failed ``requires`` check)."""
    found: dict[str, str] = {}
    for t in trials:
        if t.status == "skipped":
            found.setdefault(t.variant, t.error or "(no reason recorded)")
    return found


def node_of(trial: TrialRecord) -> str | None:
    node = trial.extra.get("node") if isinstance(trial.extra, dict) else None
    return node.get("hostname") if isinstance(node, dict) else None


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
