"""One entry to a run's numbers: :func:`analyse` computes every figure a report, the
terminal summary of ``coldstart run`` and ``coldstart report`` show, once, in that order
of dependence; the renderers only draw and write what it holds.

:func:`summarise_run` is its first part alone (the per-variant table, failures, skipped
variants): what ``coldstart run --no-report`` prints, without the effects' resampling.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

import pandas as pd

from coldstart_bench.analysis import frames
from coldstart_bench.analysis.diagnostics import Diagnosis, diagnose
from coldstart_bench.analysis.digest import RunDigest, digest
from coldstart_bench.analysis.effects import (
    Effect,
    declared_levels,
    effects_frame,
    factor_effects,
)
from coldstart_bench.analysis.findings import Headline, headline
from coldstart_bench.analysis.fleet import FleetRow, fleet_rows, typical_trials
from coldstart_bench.analysis.load import (
    burst_drain,
    good_answers,
    load_points,
    rolling_latency,
    warm_bands,
)
from coldstart_bench.analysis.machine import MachineSummary, machine_trace, summarise_machine
from coldstart_bench.analysis.phase_effects import phase_effects
from coldstart_bench.analysis.phase_stats import phase_stats
from coldstart_bench.analysis.phases import load_throughput, median_timelines, throughput_summary
from coldstart_bench.analysis.requests import (
    connection_setup,
    idle_gaps,
    repeated_prompts,
    request_index_summary,
)
from coldstart_bench.analysis.summary import (
    Failure,
    VariantSummary,
    boxes,
    failures,
    metric_summary,
    skipped_variants,
    summarise,
)
from coldstart_bench.results.schema import TrialRecord
from coldstart_bench.results.store import RunData


@dataclass(frozen=True)
class RunSummary:
    """A run's per-variant table and what did not succeed, in the scenario's order."""

    run: RunData
    title: str  # the scenario's name
    status: str  # how the run ended, and lines of trials.jsonl that could not be read
    order: list[str]  # variant ids, the scenario's order
    trials: list[TrialRecord]  # the records read (a sample of a large run; see detail_note);
    # a run over several machines: the node is one more factor
    frame: pd.DataFrame  # one row per trial, every trial (phase_effects.trials_with_phases)
    ok: pd.DataFrame  # its measured (not warm-up) ok trials: what statistics use
    stats: pd.DataFrame  # per variant and metric: n, median, p95, CI ... (summary.csv)
    rows: list[VariantSummary]  # the headline table, read from ``stats``
    failures: list[Failure]
    skipped: dict[str, str]  # variant → why it was not run
    machine: MachineSummary  # how fast and how busy the machine was over the run
    machine_frame: pd.DataFrame  # each trial's machine sample (analysis.machine)
    detail_note: str | None = None  # where ``trials`` is a sample of a large run: so said


@dataclass(frozen=True)
class RunAnalysis:
    """Every figure of a run's report (see :func:`analyse`)."""

    summary: RunSummary
    effects: list[Effect]
    phase_effects: list[Effect]  # on each start-up phase, intervals widened (Bonferroni)
    effects_table: pd.DataFrame  # effects.csv
    phase_effects_table: pd.DataFrame  # phase_effects.csv
    phase_stats: pd.DataFrame  # each variant's phases: median, CI, the server's own figure
    headline: Headline
    diagnoses: list[Diagnosis]
    requests: pd.DataFrame  # one row per request
    ok_requests: pd.DataFrame  # the measured ok ones
    idle: pd.DataFrame  # per variant, the median silence before its later requests, their TTFT
    cold_ttft_boxes: pd.DataFrame  # per variant, cold TTFT's quartiles and whiskers
    by_index: pd.DataFrame  # medians by request position (requests_by_index.csv)
    repeats: dict[int, int]  # request number → the earlier one whose prompt it repeats
    connections: pd.DataFrame  # set-up on fresh vs reused connections
    connections_cover: str  # which requests ``connections`` covers
    timelines: pd.DataFrame  # each variant's median trial, for the waterfall
    throughput: pd.DataFrame  # model-load MB/s per variant, with CIs
    load_points: pd.DataFrame  # one row per request of the load trials
    load_rolling: pd.DataFrame  # their rolling percentiles by arrival since ready
    load_drain: pd.DataFrame  # a burst's k-th fastest request, cold and warm
    load_good: pd.DataFrame  # answers meeting the SLO, counted as they end
    load_warm: pd.DataFrame  # the warm phase's p50 and p95, per variant
    machine_trace: pd.DataFrame  # the calibration and load before each trial, in run order
    fleet: list[FleetRow] = dataclasses.field(default_factory=list)  # per fleet variant
    fleet_trials: list[tuple[str, TrialRecord]] = dataclasses.field(default_factory=list)


def summarise_run(read: RunData | RunDigest) -> RunSummary:
    """The summary of a run in memory, or of a digest that streamed it (every statistic
    from every trial either way)."""
    read = read if isinstance(read, RunDigest) else digest(read)
    run, frame = read.run, read.frame
    order = frames.variant_order(frame, run.variant_order)
    stats = metric_summary(frame, order=order)
    status = run.status
    if run.problems:
        status += f"; {len(run.problems)} unreadable line(s) in trials.jsonl skipped"
    if read.detail_note:
        status += f"; {read.detail_note}"
    skipped = skipped_variants(frame)
    return RunSummary(
        run=run,
        title=run.name,
        status=status,
        order=order,
        trials=run.trials,
        frame=frame,
        ok=frames.measured_ok(frame),
        stats=stats,
        rows=summarise(frame, stats, order),
        failures=failures(frame, read.failed, run.run_dir),
        skipped={v: skipped[v] for v in order if v in skipped},
        machine=summarise_machine(read.machine),
        machine_frame=read.machine,
        detail_note=read.detail_note,
    )


# Harness factors that act on the client alone: a server's start-up cannot see them.
CLIENT_FACTORS = ("pooling", "before_ready", "idle_s")


def streamed(trials: list[TrialRecord]) -> bool:
    """Whether the run's requests streamed tokens (a plain HTTP request has none: its
    "first token" is the end of its response). True where no request was answered."""
    answered = [r for t in trials for r in t.requests if r.status == "ok"]
    return not answered or any(r.tokens is not None for r in answered)


def client_only_factors(run: RunData) -> set[str]:
    """The run's client-side factors that no service is given as a template variable
    (``{pooling}`` in a command or its environment would make it the server's too)."""
    services = json.dumps(run.metadata.scenario.as_run.get("services", []))
    return {f for f in CLIENT_FACTORS if "{" + f + "}" not in services}


def analyse(read: RunData | RunDigest) -> RunAnalysis:
    """Every figure of the run's report: the summary, the factor effects (on the metrics
    and on each start-up phase), the headline's findings, known pitfalls, and the frames
    each plot draws."""
    summary = summarise_run(read)
    run = summary.run
    trials, frame = summary.trials, summary.frame
    levels = declared_levels(v.factors for v in run.planned_variants)
    requests = frames.requests_frame(trials)
    diagnoses = diagnose(requests)
    untested = {"pooling"} if any(d.kind == "pooling-untested" for d in diagnoses) else set()
    effects = factor_effects(frame, declared=levels, skip=untested)
    ok_requests = frames.measured_ok(requests)
    connections, cover = connection_setup(requests)
    points = load_points(trials)
    on_phases = phase_effects(frame, levels, skip=client_only_factors(run))
    if not streamed(trials):
        effects = [dataclasses.replace(e, streamed=False) for e in effects]
    return RunAnalysis(
        summary=summary,
        effects=effects,
        phase_effects=on_phases,
        effects_table=effects_frame(effects),
        phase_effects_table=effects_frame(on_phases),
        phase_stats=phase_stats(trials, summary.order),
        headline=headline(frame, summary.ok, summary.rows, effects, streamed(trials)),
        diagnoses=diagnoses,
        requests=requests,
        ok_requests=ok_requests,
        idle=idle_gaps(ok_requests, summary.order),
        cold_ttft_boxes=boxes(summary.ok, "cold_ttft_ms", summary.order),
        by_index=request_index_summary(requests, summary.order),
        repeats=repeated_prompts(run.request_prompts),
        connections=connections,
        connections_cover=cover,
        timelines=median_timelines(trials),
        throughput=throughput_summary(load_throughput(frames.phases_frame(trials))),
        load_points=points,
        load_rolling=rolling_latency(points),
        load_drain=burst_drain(points),
        load_good=good_answers(points),
        load_warm=warm_bands(points),
        machine_trace=machine_trace(summary.machine_frame),
        fleet=fleet_rows(trials, summary.order),
        fleet_trials=typical_trials(trials, summary.order),
    )
