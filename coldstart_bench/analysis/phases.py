"""Figures from the phases targets report: model-load throughput, and each variant's median
trial as a timeline for the waterfall."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from coldstart_bench.analysis.frames import measured_ok
from coldstart_bench.analysis.stats import median_ci
from coldstart_bench.results.schema import TrialRecord, instance_name

LOAD_PHASES: tuple[str, ...] = ("model_read", "deserialize", "to_device")


def load_throughput(phases: pd.DataFrame) -> pd.DataFrame:
    """Per trial with load phases that report their bytes: bytes / (model_read +
    deserialize + to_device), in MB/s (10^6 bytes)."""
    if phases.empty or "bytes" not in phases:
        return pd.DataFrame(columns=["trial", "variant", "load_ms", "mb", "mb_per_s"])
    ok = measured_ok(phases)
    load = ok[ok["phase"].isin(LOAD_PHASES)]
    per_trial = (
        load.groupby(["trial", "variant"], sort=False)
        .agg(load_ms=("duration_ms", "sum"), nbytes=("bytes", "max"))
        .dropna(subset=["nbytes"])
        .reset_index()
    )
    per_trial["load_ms"] = per_trial["load_ms"].astype(float)
    per_trial["mb"] = per_trial["nbytes"].astype(float) / 1e6
    seconds = per_trial["load_ms"] / 1000.0
    per_trial["mb_per_s"] = (per_trial["mb"] / seconds).where(per_trial["load_ms"] > 0, None)
    return per_trial[["trial", "variant", "load_ms", "mb", "mb_per_s"]]


def throughput_summary(throughput: pd.DataFrame) -> pd.DataFrame:
    """Per variant: n, the median load throughput (MB/s) and its 95 % bootstrap interval,
    and whether every variant's interval overlaps every other's (``all_overlap``: then the
    run shows no clear difference in loading)."""
    columns = ["variant", "n", "median", "ci_low", "ci_high"]
    rows = []
    for variant, part in throughput.groupby("variant", sort=False):
        values = part["mb_per_s"].dropna().to_numpy(dtype=float)
        if len(values):
            low, high = median_ci(values)
            rows.append([variant, len(values), float(np.median(values)), low, high])
    table = pd.DataFrame(rows, columns=columns)
    table.attrs["all_overlap"] = bool(
        table.empty or table["ci_low"].max() <= table["ci_high"].min()
    )
    return table


TIMELINE_COLUMNS = ["variant", "trial", "kind", "part", "service", "lane", "start_ms", "end_ms"]
# The lane of the first request's parts and the cold TTFT when a trial runs a chain.
REQUEST_LANE = "first request"


def median_trial(trials: Sequence[TrialRecord]) -> TrialRecord | None:
    """The measured ok trial with the median cold TTFT (the lower middle of an even
    count), by time to ready where no trial sent requests."""
    ok = [t for t in trials if not t.warmup and t.status == "ok"]
    if not ok:
        return None
    timed = [t for t in ok if t.cold_ttft_ms is not None]
    ranked = (
        sorted(timed, key=lambda t: t.cold_ttft_ms or 0.0)
        if timed
        else sorted(ok, key=lambda t: t.ready_ms or 0.0)
    )
    return ranked[(len(ranked) - 1) // 2]


def median_timelines(trials: Iterable[TrialRecord]) -> pd.DataFrame:
    """For each variant, the timeline of its median trial (:func:`median_trial`), from t0:
    the part of spawn → ready the server did not report (``unreported``), each reported
    phase (``phase``), the first request split into connect, TLS, the wait for headers and
    for the first token (``request``), each service's ready time and the cold TTFT (points:
    start = end). One real trial per variant, so its parts end at its own cold TTFT —
    medians of each part would not add up to the median of the whole.

    ``lane`` is the row each part belongs on: "" for a trial of one service; in a chain,
    each service instance's own row (its spawn → ready, its phases — named
    "service/phase" —, its ready) and :data:`REQUEST_LANE` for the request. Spans a service
    exported (OpenTelemetry) get a row per level of nesting below its own ("spans, level
    1", …), so a parent and its children never hide each other."""
    by_variant: dict[str, list[TrialRecord]] = {}
    for t in trials:
        by_variant.setdefault(t.variant, []).append(t)
    rows: list[dict[str, object]] = []
    for variant, group in by_variant.items():
        trial = median_trial(group)
        if trial is not None:
            rows += [
                {"variant": variant, "trial": trial.trial, "kind": kind, "part": part,
                 "service": service, "lane": lane, "start_ms": start, "end_ms": end}
                for kind, part, start, end, service, lane in _timeline(trial)
            ]  # fmt: skip
    return pd.DataFrame(rows, columns=TIMELINE_COLUMNS)


_Span = tuple[str, str, float, float, str, str]  # kind, part, start, end, service, lane
SPAWN_TO_READY = "spawn → ready, not reported by the server"


def _timeline(trial: TrialRecord) -> list[_Span]:
    """The parts of one trial; see :func:`median_timelines`."""
    instances: list[tuple[str, float | None, float | None]] = []  # name, spawn, ready
    seen: Counter[str] = Counter()
    for s in trial.services:
        instances.append((instance_name(s.name, seen[s.name]), s.spawn_ms, s.ready_ms))
        seen[s.name] += 1
    chain = len(instances) > 1
    spans: list[_Span] = []
    if not chain and trial.ready_ms is not None:
        spans.append(("unreported", SPAWN_TO_READY, 0.0, trial.ready_ms, "", ""))
    for name, spawn, ready in instances if chain else ():
        if spawn is not None and ready is not None:
            spans.append(("unreported", SPAWN_TO_READY, spawn, ready, name, name))
    for p in trial.phases:
        part = f"{p.service}/{p.phase}" if chain else p.phase  # as the phase tables name it
        end = max(p.end_ms, p.start_ms)
        lane = p.service if chain else ""
        if p.source == "otel":  # nested spans: an icicle of rows under the service's own
            lane = f"{lane}{' · ' if lane else ''}spans, level {(p.depth or 0) + 1}"
        spans.append(("phase", part, p.start_ms, end, p.service, lane))
    for name, _spawn, ready in instances:
        if ready is not None:
            spans.append(("ready", "ready", ready, ready, name, name if chain else ""))
    lane = REQUEST_LANE if chain else ""
    first = trial.requests[0] if trial.requests else None
    if first is not None and first.ttfb_ms is not None:
        at = first.start_ms
        connect, tls = first.connect_ms or 0.0, first.tls_ms or 0.0
        first_token = first.ttft_ms if first.ttft_ms is not None else first.ttfb_ms
        for part, length in (
            ("connect", connect),
            ("TLS", tls),
            ("wait for headers", max(first.ttfb_ms - connect - tls, 0.0)),
            ("headers → first token", max(first_token - first.ttfb_ms, 0.0)),
        ):
            if length > 0:
                spans.append(("request", part, at, at + length, "", lane))
                at += length
    if trial.cold_ttft_ms is not None:
        spans.append(("cold_ttft", "cold TTFT", trial.cold_ttft_ms, trial.cold_ttft_ms, "", lane))
    return spans
