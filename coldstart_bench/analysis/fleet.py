"""A fleet's figures, per variant: when k of its N replicas were ready (k = 1..N, the
median over trials of each trial's k-th ready replica), each replica's start against one
replica alone (the contention ratio), how long the balancer lagged its first replica, who
answered the requests, and whether the balancer's own log agrees with the client."""

from __future__ import annotations

import dataclasses
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from coldstart_bench.analysis.stats import sorted_percentile
from coldstart_bench.results.schema import RequestRecord, TrialRecord


@dataclass(frozen=True)
class FleetRow:
    variant: str
    replicas: int
    balancer: str
    trials: int  # measured ok trials
    k_ready_ms: tuple[float | None, ...]  # median k-th ready, k = 1..N
    all_ready_ms: float | None  # the last replica (k = N)
    alone_ready_ms: float | None  # one replica's start alone, the other factors the same
    contention: float | None  # median replica start / alone (None: no fleet of one here)
    balancer_lag_ms: float | None  # HAProxy's first replica up − the first replica ready
    answered_by: dict[str, int]  # requests per replica
    log_agrees: float | None  # share of requests whose replica HAProxy's log names too
    early_requests: int = 0  # sent to a replica before the harness saw it ready
    cold_p95_ttft_ms: float | None = None  # [load]: users' TTFT while the fleet started
    warm_p95_ttft_ms: float | None = None  # [load]: the same, the fleet warm
    read_mib: float | None = None  # the replicas' page-cache misses until ready, together
    started: float | None = None  # scale_at_queue: replicas the queue had started (median)
    cpu_vs_alone: float | None = None  # each replica's CPU work to ready / one alone's
    cache_added_mib: float | None = None  # what the fleet wrote into its compile cache

    def started_text(self) -> str:
        """How many the queue started, where it started them (else nothing)."""
        if self.started is None or self.replicas == 1:
            return ""
        return f" ({self.started:g} of {self.replicas} started: 1 at t0, the rest by the queue)"

    def k_ready_text(self, spec: str = ",.0f", missing: str = "—", sep: str = " · ") -> str:
        """When the k-th replica was ready, k = 1..N (ms), each as ``spec`` formats it."""
        return sep.join(format(v, spec) if v is not None else missing for v in self.k_ready_ms)


def _kth(trials: Sequence[TrialRecord], n: int) -> tuple[float | None, ...]:
    per_k: list[list[float]] = [[] for _ in range(n)]
    for t in trials:
        assert t.fleet is not None
        ready = sorted(r for r in t.fleet.ready_ms if r is not None)
        for k, value in enumerate(ready[:n]):
            per_k[k].append(value)
    return tuple(statistics.median(v) if v else None for v in per_k)


def _others(t: TrialRecord) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in t.factors.items() if k != "replicas"))


def fleet_rows(trials: Sequence[TrialRecord], order: Sequence[str]) -> list[FleetRow]:
    """One row per fleet variant, in ``order``; [] for a run without fleets."""
    measured = [t for t in trials if t.fleet is not None and not t.warmup and t.status == "ok"]
    if not measured:
        return []
    alone: dict[tuple[tuple[str, str], ...], list[float]] = {}
    alone_cpu: dict[tuple[tuple[str, str], ...], list[float]] = {}
    for t in measured:
        assert t.fleet is not None
        if len(t.fleet.replicas) == 1:
            alone.setdefault(_others(t), []).extend(_starts(t))
            alone_cpu.setdefault(_others(t), []).extend(_cpu_ready(t))
    by_variant: dict[str, list[TrialRecord]] = {}
    for t in measured:
        by_variant.setdefault(t.variant, []).append(t)
    rows = []
    for variant in [v for v in order if v in by_variant]:
        group = by_variant[variant]
        fleet = group[0].fleet
        assert fleet is not None
        n = len(fleet.replicas)
        k_ready = _kth(group, n)
        every = [start for t in group for start in _starts(t)]
        base = alone.get(_others(group[0]))
        alone_ms = statistics.median(base) if base else None
        lags = [
            t.fleet.balancer_ready_ms - min(r for r in t.fleet.ready_ms if r is not None)
            for t in group
            if t.fleet and t.fleet.balancer_ready_ms is not None and any(t.fleet.ready_ms)
        ]
        answered = Counter(r.replica or "?" for t in group for r in _requests(t))
        cold, warm = _p95(group, "cold"), _p95(group, "warm")
        cpu_each = [c for t in group for c in _cpu_ready(t)]
        rows.append(
            FleetRow(
                variant=variant,
                replicas=n,
                balancer=fleet.balancer,
                trials=len(group),
                k_ready_ms=k_ready,
                all_ready_ms=k_ready[-1] if k_ready else None,
                alone_ready_ms=alone_ms,
                contention=_ratio_of_medians(every, base),
                balancer_lag_ms=statistics.median(lags) if lags else None,
                answered_by=dict(sorted(answered.items())),
                log_agrees=_agreement(group),
                early_requests=sum(_early(t) for t in group),
                cold_p95_ttft_ms=cold,
                warm_p95_ttft_ms=warm,
                read_mib=_read_mib(group),
                started=_started(group),
                cpu_vs_alone=_ratio_of_medians(cpu_each, alone_cpu.get(_others(group[0]))),
                cache_added_mib=_cache_added(group),
            )
        )
    return rows


def _read_mib(trials: Sequence[TrialRecord]) -> float | None:
    """The median over trials of what the replicas read from storage until ready, all
    together (None where a replica's reads are unknown)."""
    totals = []
    for t in trials:
        reads = [s.cpu.read_mib_ready if s.cpu else None for s in t.services]
        if reads and all(r is not None for r in reads):
            totals.append(sum(r for r in reads if r is not None))
    return statistics.median(totals) if totals else None


def _ratio_of_medians(values: Sequence[float], alone: Sequence[float] | None) -> float | None:
    """The fleet's replicas against one replica alone: median over median (None without
    both, or where alone is 0)."""
    if not values or not alone or statistics.median(alone) <= 0:
        return None
    return statistics.median(values) / statistics.median(alone)


def _cpu_ready(t: TrialRecord) -> list[float]:
    """Each replica's CPU work from spawn to ready (where measured)."""
    return [s.cpu.ready_ms for s in t.services if s.cpu is not None and s.cpu.ready_ms is not None]


def _cache_added(trials: Sequence[TrialRecord]) -> float | None:
    """What the fleet wrote into its compile cache, MiB (the median over trials)."""
    added = [t.compile_cache.bytes_added / 2**20 for t in trials if t.compile_cache is not None]
    return statistics.median(added) if added else None


def _started(trials: Sequence[TrialRecord]) -> float | None:
    """With replicas started on the queue: how many were, the median over trials."""
    counts = [
        sum(q is not None for q in t.fleet.queue_at_start)
        for t in trials
        if t.fleet is not None and t.fleet.queue_at_start
    ]
    return statistics.median(counts) if counts else None


def _starts(t: TrialRecord) -> list[float]:
    """Each replica's own start, spawn → ready (a staggered replica's starts later than t0)."""
    assert t.fleet is not None
    spawned = {s.name: s.spawn_ms for s in t.services}
    starts = []
    for name, ready in zip(t.fleet.replicas, t.fleet.ready_ms, strict=False):
        spawn = spawned.get(name)
        if ready is not None and spawn is not None:
            starts.append(ready - spawn)
    return starts


def _requests(t: TrialRecord) -> list[RequestRecord]:
    """The trial's requests, one after another or of its load."""
    return [*t.requests, *(r.request for r in t.load)]


def _early(t: TrialRecord) -> int:
    """Requests sent to a replica before the harness saw it ready."""
    assert t.fleet is not None
    ready = dict(zip(t.fleet.replicas, t.fleet.ready_ms, strict=False))
    early = 0
    for r in _requests(t):
        at = ready.get(r.replica or "")
        early += r.replica is not None and (at is None or r.start_ms < at)
    return early


def _p95(trials: Sequence[TrialRecord], phase: str) -> float | None:
    values = sorted(
        r.request.ttft_ms
        for t in trials
        for r in t.load
        if r.phase == phase and r.request.status == "ok" and r.request.ttft_ms is not None
    )
    return sorted_percentile(values, 95) if values else None


def _agreement(trials: Sequence[TrialRecord]) -> float | None:
    """The share of requests on whose replica HAProxy's log agrees: one after another, the
    one its log names at the same position; under load (answers logged as they end, in no
    order of the client's), as many answers per replica as the client counted."""
    agreed = counted = 0
    for t in trials:
        if t.fleet is None or t.fleet.balancer != "haproxy":
            continue
        mine = [r.replica for r in _requests(t)]
        theirs = list(t.fleet.balancer_answers)
        counted += len(mine)
        if t.load:
            ours, logged = Counter(mine), Counter(theirs)
            agreed += sum(min(n, logged[name]) for name, n in ours.items() if name)
        else:
            agreed += sum(a == b for a, b in zip(mine, theirs, strict=False) if a)
    return agreed / counted if counted else None


def fleet_table(rows: Sequence[FleetRow]) -> pd.DataFrame:
    """fleet.csv: one row per fleet variant, a column per field of :class:`FleetRow`."""
    return pd.DataFrame(
        [
            {
                **dataclasses.asdict(r),
                "k_ready_ms": r.k_ready_text(".1f", missing="-", sep=" "),
                "answered_by": " ".join(f"{k}:{v}" for k, v in r.answered_by.items()),
            }
            for r in rows
        ],
        columns=[f.name for f in dataclasses.fields(FleetRow)],
    )


def typical_trials(
    trials: Sequence[TrialRecord], order: Sequence[str]
) -> list[tuple[str, TrialRecord]]:
    """Per fleet variant of two replicas or more, its typical trial: the measured ok one
    whose last replica was ready nearest the variant's median (what a Gantt shows)."""
    by_variant: dict[str, list[tuple[float, TrialRecord]]] = {}
    for t in trials:
        if t.fleet is None or t.warmup or t.status != "ok" or len(t.fleet.replicas) < 2:
            continue
        known = [r for r in t.fleet.ready_ms if r is not None]
        if known:
            by_variant.setdefault(t.variant, []).append((max(known), t))
    chosen = []
    for variant in [v for v in order if v in by_variant]:
        group = by_variant[variant]
        middle = statistics.median(last for last, _t in group)
        chosen.append((variant, min(group, key=lambda pair: abs(pair[0] - middle))[1]))
    return chosen
