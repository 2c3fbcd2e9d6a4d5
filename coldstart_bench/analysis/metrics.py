# Longer than 400 lines: one record per metric, each written out where it is defined (the
# registry every table of metrics is derived from).
"""Every per-trial metric, defined once: one :class:`Metric` record each — its name, its
wording, unit and format, which way is better, whether a level can make it 0 by how it
works, whether factor effects are computed for it, where it sits in the summary table, and
the function that computes one trial's value.

Every other table of metrics is derived from :data:`METRICS`: the columns of the trials
frame, the statistics table (``summary.csv``, in this order), the effects and their order,
the summary's columns and their formats, the gate's choices and default, the results
reference. Adding a metric is one record here (and the golden files it changes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

from coldstart_bench.analysis.stats import mean, median, percentile
from coldstart_bench.analysis.trial_view import (
    TrialView,
    excess,
    first_field,
    first_success,
    goodput_of,
    penalty,
    steady,
)
from coldstart_bench.results.schema import TrialRecord

Better = Literal["lower", "higher"]
Table = Literal["startup", "requests", "load"]
Format = Literal["ms", "percent", "times", "rate", "count"]
# How a statistic is named in a column header.
STATISTIC_LABELS: dict[str, str] = {"median": "p50", "p95": "p95"}


@dataclass(frozen=True)
class Column:
    """Where a metric's statistic stands in the summary table: which table (the start-up
    part, the requests part, or the load part in its place), its slot (columns are sorted
    by it), the statistic over trials it shows, and whether it is the table's bold one."""

    table: Table
    slot: int
    statistic: str = "median"
    bold: bool = False


@dataclass(frozen=True)
class Metric:
    """One per-trial metric (see the module's docstring)."""

    name: str
    """Its column in the trials frame, its name in `summary.csv`, `--metric` and `[gate]`."""
    wording: str
    """How a sentence names it."""
    unit: str
    """What its values count: ms, a share, a ratio, req/s, requests."""
    compute: Callable[[TrialView], float | None]
    """One trial's value (None: not measured in that trial)."""
    better: Better = "lower"
    """Which way is an improvement."""
    zero_by_construction: bool = False
    """A level can make it exactly 0 by how it works (a reused connection makes no
    connect): a ratio to 0 then restates the mechanism, it is no finding."""
    effect_rank: int | None = None
    """Factor effects are computed for it, in this order (the headline's wins too)."""
    label: str | None = None
    """Its column header in the summary table (a statistic is added below it when the
    table shows more than one of the metric)."""
    columns: tuple[Column, ...] = ()
    """Where the summary table shows it."""
    fmt: Format = "ms"
    """How one of its figures is written."""
    hidden_when_absent: bool = False
    """Its columns are left out of a table where no variant measured it (TLS)."""
    gated_by_default: bool = False
    """What `coldstart gate` judges when told nothing else."""
    unstreamed_wording: str | None = None
    """Its wording in a run whose requests stream no tokens (plain HTTP, `stream = false`):
    a "first token" is then the end of the response."""
    load: bool = False
    """A load trial's figure: other trials have no value for it, not even an empty one."""
    cpu_twin: str | None = None
    """The metric of the CPU work done over the same span (the gate judges the two
    together: gate/measures.py)."""
    cpu: bool = False
    """A figure of the services' CPU work: trials that did not measure it have no value
    for it, not even an empty one (runs made before it was measured read as they did)."""

    @property
    def higher_is_better(self) -> bool:
        return self.better == "higher"

    def format(self, value: float | None) -> str:
        """One figure as the tables write it ("—" when there is none)."""
        if value is None:
            return DASH
        if self.fmt == "percent":
            return f"{value:.0%}"
        if self.fmt == "times":
            return f"{value:.2f}×"
        if self.fmt == "rate":
            return f"{value:.1f}"
        if self.fmt == "count":
            return f"{value:g}"
        return ms(value)


DASH = "—"


def ms(value: float | None, digits: int | None = None) -> str:
    """Milliseconds as every table writes them: no decimals from 1,000, one from 10."""
    if value is None:
        return DASH
    if digits is None:  # decided on the rounded value: 9.998 is "10.0", not "10.00"
        digits = 0 if abs(value) >= 999.95 else 1 if abs(value) >= 9.995 else 2
    return f"{value:,.{digits}f}"


# In the order the statistics table (summary.csv) lists them: the headline first.
METRICS: tuple[Metric, ...] = (
    Metric(
        "cold_ttft_ms",
        "cold TTFT (spawn → first token)",
        "ms",
        lambda v: v.trial.cold_ttft_ms,
        unstreamed_wording="cold time to the first response (spawn → its end)",
        effect_rank=0,
        label="cold TTFT",
        columns=(Column("startup", 3, bold=True), Column("startup", 4, "p95")),
        gated_by_default=True,
        cpu_twin="cpu_ttft_ms",
    ),
    Metric(
        "ready_ms",
        "time to ready",
        "ms",
        lambda v: v.trial.ready_ms,
        effect_rank=1,
        label="ready",
        columns=(Column("startup", 1), Column("startup", 2, "p95")),
        cpu_twin="cpu_ready_ms",
    ),
    Metric("spawn_ms", "spawn", "ms", lambda v: v.trial.spawn_ms),
    Metric(
        "first_connect_ms",
        "first request's connect",
        "ms",
        first_field("connect_ms"),
        zero_by_construction=True,
        effect_rank=3,
        label="1st req\nconnect",
        columns=(Column("requests", 1),),
    ),
    Metric(
        "first_tls_ms",
        "first request's TLS handshake",
        "ms",
        first_field("tls_ms"),
        label="1st req\nTLS",
        columns=(Column("requests", 2),),
        hidden_when_absent=True,
    ),
    Metric(
        "first_ttfb_ms",
        "first request's TTFB",
        "ms",
        first_field("ttfb_ms"),
        label="1st req\nTTFB",
        columns=(Column("requests", 3),),
    ),
    Metric(
        "first_ttft_ms",
        "first request's TTFT",
        "ms",
        first_field("ttft_ms"),
        unstreamed_wording="first request's response time",
        effect_rank=2,
        label="1st req\nTTFT",
        columns=(Column("requests", 4),),
    ),
    # Requests 2..n of the trial: the mean connect (a reused connection did no connecting:
    # 0 ms, not a missing value), so a pool smaller than the request count shows as its
    # share of fresh connects; the median TTFT.
    Metric(
        "later_connect_ms",
        "later requests' connect",
        "ms",
        lambda v: mean([r.connect_ms or 0.0 for r in v.later]),
        zero_by_construction=True,
        effect_rank=4,
        label="later\nconnect",
        columns=(Column("requests", 5),),
    ),
    Metric(
        "later_ttft_ms",
        "later requests' TTFT",
        "ms",
        lambda v: median(r.ttft_ms for r in v.later),
        unstreamed_wording="later requests' response time",
        effect_rank=5,
        label="later\nTTFT",
        columns=(Column("requests", 7),),
    ),
    Metric(
        "later_reused_share",
        "share of later requests on a reused connection",
        "share",
        lambda v: mean([1.0 if r.reused else 0.0 for r in v.later]),
        better="higher",
        label="later\nreused",
        columns=(Column("requests", 6),),
        fmt="percent",
    ),
    # With pooling: the later requests whose kept-alive connection had been closed while
    # idle, so the pool opened a new one.
    Metric(
        "later_replaced_share",
        "share of later pooled requests whose connection was replaced",
        "share",
        lambda v: mean([0.0 if r.reused else 1.0 for r in v.later]) if v.pooled else None,
        fmt="percent",
    ),
    Metric("teardown_ms", "teardown", "ms", lambda v: v.trial.teardown_ms),
    # The start-up's CPU work: user + system time of every process of the services started
    # for the trial (a cgroup each where one could be made), steadier than the wall clock on
    # a machine shared with other work.
    Metric(
        "cpu_ready_ms",
        "CPU time to ready (every process of the start-up)",
        "ms",
        lambda v: v.cpu_sum("ready_ms"),
        effect_rank=9,
        label="CPU to\nready",
        columns=(Column("startup", 5),),
        hidden_when_absent=True,
        cpu=True,
    ),
    Metric(
        "cpu_ttft_ms",
        "CPU time to the first token (every process of the start-up)",
        "ms",
        lambda v: v.cpu_sum("first_token_ms"),
        effect_rank=10,
        unstreamed_wording="CPU time to the first response (every process of the start-up)",
        label="CPU to\n1st token",
        columns=(Column("startup", 6),),
        hidden_when_absent=True,
        gated_by_default=True,
        cpu=True,
    ),
    Metric(
        "peak_rss_mib",
        "peak resident memory of the services' main processes",
        "MiB",
        lambda v: v.cpu_sum("peak_rss_mib"),
        cpu=True,
        fmt="count",
    ),
    Metric(
        "memory_peak_mib",
        "peak memory of the start-up's cgroups (its processes and the page cache they read)",
        "MiB",
        lambda v: v.cpu_sum("memory_peak_mib"),
        cpu=True,
        fmt="count",
    ),
    # A load trial's figures (analysis.load says how each is measured).
    Metric(
        "first_success_ms",
        "time to the first answer (t0 → end of the first success)",
        "ms",
        first_success,
        load=True,
        label="first\nanswer",
        columns=(Column("load", 1),),
    ),
    Metric(
        "load_cold_p50_ms",
        "cold phase: latency from arrival, median",
        "ms",
        lambda v: percentile(v.cold_latency, 50),
        load=True,
    ),
    Metric(
        "load_cold_p95_ms",
        "cold phase: latency from arrival, p95",
        "ms",
        lambda v: v.cold_p95,
        load=True,
        effect_rank=7,
        label="cold\np95",
        columns=(Column("load", 2, bold=True),),
    ),
    Metric(
        "load_warm_p50_ms",
        "warm phase: latency from arrival, median",
        "ms",
        lambda v: percentile(v.warm_latency, 50),
        load=True,
    ),
    Metric(
        "load_warm_p95_ms",
        "warm phase: latency from arrival, p95",
        "ms",
        lambda v: v.warm_p95,
        load=True,
        label="warm\np95",
        columns=(Column("load", 3),),
    ),
    Metric(
        "cold_penalty_p95",
        "cold penalty (cold p95 / warm p95)",
        "ratio",
        penalty,
        load=True,
        label="cold\npenalty",
        columns=(Column("load", 4),),
        fmt="times",
    ),
    Metric(
        "cold_excess_p95_ms",
        "cold excess (cold p95 − warm p95)",
        "ms",
        excess,
        load=True,
        label="cold\nexcess",
        columns=(Column("load", 5),),
    ),
    Metric(
        "time_to_steady_ms",
        "time to steady state",
        "ms",
        steady,
        load=True,
        effect_rank=6,
        label="steady\nafter",
        columns=(Column("load", 6),),
    ),
    Metric(
        "goodput_rps",
        "goodput in the first seconds (req/s meeting the SLO)",
        "req/s",
        goodput_of,
        load=True,
        better="higher",
        effect_rank=8,
        label="goodput\nreq/s",
        columns=(Column("load", 7),),
        fmt="rate",
    ),
    Metric(
        "load_errors",
        "cold requests not answered",
        "requests",
        lambda v: float(sum(r.request.status != "ok" for r in v.cold)),
        load=True,
        label="not\nanswered",
        columns=(Column("load", 8),),
        fmt="count",
    ),
    Metric(
        "load_retries",
        "extra sends (retries) in the cold phase",
        "requests",
        lambda v: float(sum(r.attempts - 1 for r in v.cold)),
        load=True,
        fmt="count",
    ),
)

BY_NAME: Mapping[str, Metric] = {m.name: m for m in METRICS}
METRIC_NAMES: tuple[str, ...] = tuple(BY_NAME)
# The metrics factor effects are computed for, in the order a report shows them.
EFFECT_METRICS: tuple[str, ...] = tuple(
    m.name for m in sorted((m for m in METRICS if m.effect_rank is not None),
                           key=lambda m: m.effect_rank or 0)
)  # fmt: skip
DEFAULT_GATED: tuple[str, ...] = tuple(m.name for m in METRICS if m.gated_by_default)
# Metrics named so are a start-up phase's duration (see analysis.phase_effects).
PHASE_PREFIX = "phase:"


def metric(name: str) -> Metric | None:
    return BY_NAME.get(name)


def higher_is_better(name: str) -> bool:
    """Which way is better for a metric; a start-up phase's duration is better lower."""
    found = BY_NAME.get(name)
    return found is not None and found.higher_is_better


def wording(name: str, streamed: bool = True) -> str:
    """How a metric is named in a sentence: 'first request's TTFT', 'the model_load phase'
    (``streamed`` False: in a run whose requests stream no tokens)."""
    if name in BY_NAME:
        found = BY_NAME[name]
        return found.wording if streamed else found.unstreamed_wording or found.wording
    if name.startswith(PHASE_PREFIX):
        return f"the {name.removeprefix(PHASE_PREFIX)} phase"
    return name


def trial_values(trial: TrialRecord) -> Iterator[tuple[str, float | None]]:
    """Each metric's value for one trial, in :data:`METRICS`' order (a load figure only for
    a load trial)."""
    view = TrialView(trial)
    for m in METRICS:
        if (view.loaded or not m.load) and (view.cpu_measured or not m.cpu):
            yield m.name, m.compute(view)


def trial_metrics(trial: TrialRecord) -> dict[str, float | None]:
    """One trial's metrics by name."""
    return dict(trial_values(trial))


@dataclass(frozen=True)
class TableColumn:
    """One column of the summary table: a metric's statistic with its header."""

    metric: Metric
    statistic: str
    header: str
    bold: bool


def table_columns(table: Table) -> tuple[TableColumn, ...]:
    """The columns of one part of the summary table, in slot order, each headed by its
    metric's label (and the statistic, where the part shows more than one of the metric)."""
    placed = [(c, m) for m in METRICS for c in m.columns if c.table == table]
    placed.sort(key=lambda pair: pair[0].slot)
    shown_times = {m.name: sum(1 for _c, other in placed if other is m) for _c, m in placed}
    out = []
    for column, m in placed:
        header = m.label or m.name
        if shown_times[m.name] > 1:
            header += "\n" + STATISTIC_LABELS.get(column.statistic, column.statistic)
        out.append(TableColumn(m, column.statistic, header, column.bold))
    return tuple(out)
