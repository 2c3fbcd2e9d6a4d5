"""The report's tables as files: GitHub-flavoured Markdown for a CI step summary, and CSV."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from coldstart_bench.analysis.effects import Effect
from coldstart_bench.analysis.fleet import FleetRow
from coldstart_bench.analysis.frames import FACTOR_PREFIX
from coldstart_bench.analysis.metrics import PHASE_PREFIX
from coldstart_bench.analysis.run_analysis import RunAnalysis
from coldstart_bench.report.columns import caption_for, ms, plain_grid
from coldstart_bench.report.markdown import md_escape


def fleet_lines(rows: Sequence[FleetRow]) -> list[str]:
    """The fleet's figures as Markdown (none for a run without a fleet)."""
    if not rows:
        return []
    loaded = any(r.cold_p95_ttft_ms is not None for r in rows)
    heads = [
        "variant",
        "k of N ready (ms, k = 1..N)",
        "one alone",
        "contention",
        "balancer lag",
        "answered by",
        "balancer's log agrees",
        "sent before ready",
        "read from storage",
        "CPU to ready vs alone",
        "compile cache written",
    ]
    if loaded:
        heads += ["users' TTFT p95, scaling out", "warm"]
    lines = ["### The fleet", "", "| " + " | ".join(heads) + " |",
             "|---|---|" + "---:|" * 3 + "---|" + "---:|" * (len(heads) - 6)]  # fmt: skip
    for r in rows:
        k_ready = r.k_ready_text() + r.started_text()
        cells = [
            md_escape(r.variant),
            k_ready,
            _ms(r.alone_ready_ms),
            f"{r.contention:.2f}×" if r.contention is not None else "—",
            _ms(r.balancer_lag_ms),
            md_escape(", ".join(f"{k} {v}" for k, v in r.answered_by.items())),
            f"{r.log_agrees:.0%}" if r.log_agrees is not None else "—",
            str(r.early_requests),
            f"{r.read_mib:,.1f} MiB" if r.read_mib is not None else "—",
            f"{r.cpu_vs_alone:.2f}×" if r.cpu_vs_alone is not None else "—",
            f"{r.cache_added_mib:,.1f} MiB" if r.cache_added_mib is not None else "—",
        ]
        if loaded:
            cells += [_ms(r.cold_p95_ttft_ms), _ms(r.warm_p95_ttft_ms)]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "_Medians over measured ok trials. Contention: each replica's own start (spawn → "
        "ready) over one replica's alone (the same other factors); balancer lag: HAProxy's "
        "first replica up after the first replica was ready (its health checks); sent "
        "before ready: requests a replica answered that were sent before the harness saw it "
        "ready; read from storage: what the replicas' main processes read from disk until "
        "ready, together (page-cache misses); CPU to ready vs alone: each replica's CPU work "
        "from spawn to ready over one replica's alone (near 1: each did all of its start-up "
        "work itself, none reused another's, e.g. compiled entries); compile cache written: "
        "what the fleet added to its compile cache. fleet.csv has the figures._",
        "",
    ]
    return lines


def _ms(value: float | None) -> str:
    return f"{value:,.0f} ms" if value is not None else "—"


def summary_markdown(analysis: RunAnalysis, status_line: str) -> str:
    """The summary table, what to check, the effects, failures and skipped variants, as
    GitHub-flavoured Markdown."""
    summary = analysis.summary
    title, rows, failures, skipped = summary.title, summary.rows, summary.failures, summary.skipped
    effects, diagnoses, phase_effects = analysis.effects, analysis.diagnoses, analysis.phase_effects
    heads, grid = plain_grid(rows)
    labels_width = len(grid[0][0]) if grid else 1
    lines = [f"## {md_escape(title)}", "", md_escape(status_line), ""]
    lines.append("| " + " | ".join(md_escape(h) for h in heads) + " |")
    aligns = ["---"] * labels_width + ["---:"] * (len(heads) - labels_width)
    lines.append("|" + "|".join(aligns) + "|")
    for labels, cells in grid:
        lines.append("| " + " | ".join(md_escape(str(c)) for c in [*labels, *cells]) + " |")
    lines += ["", f"_{caption_for(rows)}_", ""]
    if diagnoses:
        lines += ["### Worth checking", ""]
        lines += [f"- {md_escape(d.message)}" for d in diagnoses]
        lines.append("")
    if effects:
        lines += ["### What each toggle buys", ""]
        lines += _effect_lines(effects, "effects.csv")
    if phase_effects:
        lines += ["### What each toggle changes in the start-up phases", ""]
        lines += ["_Intervals widened so that all of them hold together at 95 % (Bonferroni)._", ""]
        lines += _effect_lines(phase_effects, "phase_effects.csv")
    lines += _phase_lines(analysis.phase_stats)
    lines += fleet_lines(analysis.fleet)
    if failures:
        lines += [f"### {len(failures)} trial(s) did not succeed", ""]
        for f in failures[:20]:
            reason = f.error.splitlines()[0] if f.error else ""
            lines.append(
                f"- trial {f.trial} `{md_escape(f.variant)}` {f.status}: {md_escape(reason)}"
            )
        lines.append("")
    if skipped:
        lines += ["### Skipped variants", ""]
        lines += [f"- `{md_escape(v)}`: {md_escape(r)}" for v, r in skipped.items()]
        lines.append("")
    return "\n".join(lines)


def _effect_lines(effects: Sequence[Effect], table: str) -> list[str]:
    """The findings, one a line; the comparisons that found nothing counted, not listed
    (a reader looks for what changed; every one is in ``table``)."""
    found = [e for e in effects if e.finding]
    lines = [f"- {md_escape(e.sentence())}" for e in found] or ["- No clear change."]
    rest = len(effects) - len(found)
    if rest:
        lines.append(
            f"- _{rest} more comparison(s) found no clear change or one true by construction "
            f"(each in {table})._"
        )
    return [*lines, ""]


def _phase_lines(stats: pd.DataFrame) -> list[str]:
    if stats.empty:
        return []
    own = stats["reported_median"].notna().any()  # a server printed figures of its own
    lines = ["### Start-up phases", ""]
    caption = "_Milliseconds, over measured ok trials: the median and its 95 % bootstrap interval"
    caption += (
        "; server's own: the median of the figure the server printed for that phase._"
        if own
        else "._"
    )
    heads = ["variant", "phase", "n", "median", "95 % CI"] + (["server's own"] if own else [])
    lines += [caption, "", "| " + " | ".join(heads) + " |"]
    lines.append("|---|---|" + "---:|" * (len(heads) - 2))
    previous = None
    for row in stats.itertuples(index=False):
        cells = [
            "" if row.variant == previous else md_escape(str(row.variant)),
            md_escape(str(row.phase)),
            str(row.n),
            ms(float(row.median)),
            _interval(row),
        ]
        if own:
            cells.append("" if pd.isna(row.reported_median) else ms(float(row.reported_median)))
        previous = row.variant
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def flat_trials(per_trial: pd.DataFrame, requests: pd.DataFrame) -> pd.DataFrame:
    """One row per request with its trial's figures beside it (``req_`` columns are the
    request's; ``req_number`` 1 is the first after ready, as every report counts); a trial
    that sent no request still gets one row, its ``req_`` cells empty."""
    if per_trial.empty:
        return per_trial
    keep = [c for c in per_trial.columns if not c.startswith(("first_", "later_", PHASE_PREFIX))]
    per_trial = per_trial[keep]
    if requests.empty:
        return per_trial
    identity = {"run_id", "variant", "repetition", "warmup_trial", "trial_status", "ready_ms"}
    req = requests.drop(
        columns=[c for c in requests.columns if c in identity or c.startswith(FACTOR_PREFIX)]
    )
    number = req.pop("request_index") + 1
    req.insert(1, "number", number)
    req = req.rename(columns={c: f"req_{c}" for c in req.columns if c != "trial"})
    return per_trial.merge(req, on="trial", how="left")


def _interval(row: object) -> str:
    """A median's interval, or "—" where one trial gives none."""
    low, high = float(row.ci_low), float(row.ci_high)  # type: ignore[attr-defined]
    if int(row.n) < 2:  # type: ignore[attr-defined]
        return "—"
    return f"{ms(low)} – {ms(high)}"
