"""``coldstart compare`` and ``coldstart gate``: match the variants of two runs (or the two
levels of an A/B factor inside one run), compare their metrics, and decide.

The statistics and the decision rule live in :mod:`coldstart_bench.gatestats`.
"""

from __future__ import annotations

import shutil
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pandas as pd

from coldstart_bench import gatestats
from coldstart_bench.analysis import METRICS, measured_ok, trials_frame
from coldstart_bench.errors import ColdstartError
from coldstart_bench.records import TrialRecord
from coldstart_bench.report.tables import md_escape
from coldstart_bench.results import RunData, load_run, safe_name
from coldstart_bench.scenario import GateConfig

DEFAULT_METRICS = ("cold_ttft_ms",)
DEFAULT_MAX_REGRESSION = 0.05
DEFAULT_CONFIDENCE = 0.95
BASELINES_DIR = "baselines"


class GateInputError(ColdstartError):
    """Bad input for a gate: exit code 2."""


# Baselines -------------------------------------------------------------------------------


def baselines_root(results_dir: Path) -> Path:
    return results_dir / BASELINES_DIR


def save_baseline(run_dir: Path, name: str, results_dir: Path) -> Path:
    """Keep a run's ``run.json`` and ``trials.jsonl`` (and its summary) under a name."""
    run = load_run(run_dir)
    target = baselines_root(results_dir) / safe_name(name, fallback="")
    if not safe_name(name, fallback=""):
        raise GateInputError(f"baseline name {name!r} has no usable characters")
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for item in ("run.json", "trials.jsonl", "report/summary.md"):
        source = run.run_dir / item
        if source.exists():
            (tmp / item).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, tmp / item)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return target


def list_baselines(results_dir: Path) -> list[tuple[str, RunData]]:
    root = baselines_root(results_dir)
    found = []
    for path in sorted(root.iterdir()) if root.is_dir() else []:
        if path.is_dir() and not path.name.startswith("."):
            try:
                found.append((path.name, load_run(path)))
            except ColdstartError:
                continue
    return found


def remove_baseline(name: str, results_dir: Path) -> None:
    path = baselines_root(results_dir) / safe_name(name, fallback="-")
    if not path.is_dir():
        raise GateInputError(f"no baseline named {name!r} in {baselines_root(results_dir)}")
    shutil.rmtree(path)


def resolve_run(ref: str | Path, results_dir: Path) -> RunData:
    """A run directory, or the name of a saved baseline."""
    path = Path(ref)
    if path.is_dir():
        return load_run(path)
    named = baselines_root(results_dir) / safe_name(str(ref), fallback="-")
    if named.is_dir():
        return load_run(named)
    raise GateInputError(
        f"{ref}: neither a run directory nor a baseline saved in {baselines_root(results_dir)} "
        "(save one with `coldstart baseline save RUN --name NAME`)"
    )


# Matching --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Side:
    """The trials of one side of a comparison, by variant key."""

    label: str
    groups: dict[str, list[TrialRecord]]


def _key(factors: Mapping[str, str], drop: str | None = None) -> str:
    items = [(k, v) for k, v in factors.items() if k != drop]
    return ",".join(f"{k}={v}" for k, v in items) or "default"


def sides_from_runs(base: RunData, new: RunData) -> tuple[Side, Side]:
    def groups(run: RunData) -> dict[str, list[TrialRecord]]:
        out: dict[str, list[TrialRecord]] = {}
        for t in run.trials:
            out.setdefault(_key(dict(sorted(t.factors.items()))), []).append(t)
        return out

    return Side(str(base.run_dir), groups(base)), Side(str(new.run_dir), groups(new))


def sides_from_factor(run: RunData, factor: str, baseline_level: str) -> list[tuple[Side, Side]]:
    """A/B inside one run: the baseline level against each other level of ``factor``,
    variants matched on the other factors."""
    levels = {t.factors.get(factor) for t in run.trials}
    if factor not in {k for t in run.trials for k in t.factors}:
        raise GateInputError(f"--factor {factor!r} is not a factor of this run")
    if baseline_level not in levels:
        raise GateInputError(
            f"--baseline-level {baseline_level!r} is not a level of {factor!r} "
            f"(levels: {sorted(str(v) for v in levels)})"
        )
    pairs = []
    for level in sorted(str(v) for v in levels if v != baseline_level):
        base: dict[str, list[TrialRecord]] = {}
        new: dict[str, list[TrialRecord]] = {}
        for t in run.trials:
            key = _key(dict(sorted(t.factors.items())), drop=factor)
            key = f"{key} · {factor}={level} vs {baseline_level}"
            if t.factors.get(factor) == baseline_level:
                base.setdefault(key, []).append(t)
            elif t.factors.get(factor) == level:
                new.setdefault(key, []).append(t)
        pairs.append((Side(f"{factor}={baseline_level}", base), Side(f"{factor}={level}", new)))
    return pairs


def _values(frame: pd.DataFrame, metric: str) -> list[float]:
    if frame.empty or metric not in frame:
        return []
    return [float(v) for v in frame[metric].dropna()]


def _matched(
    pairs: Sequence[tuple[Side, Side]],
) -> tuple[list[tuple[str, pd.DataFrame, pd.DataFrame]], list[str]]:
    """(variant key, base frame, new frame) of every variant both sides have — each side's
    measured ok trials, framed once — and the variants only one side has."""
    matched = []
    unmatched: list[str] = []
    for base, new in pairs:
        unmatched += [f"only in {base.label}: {k}" for k in base.groups if k not in new.groups]
        unmatched += [f"only in {new.label}: {k}" for k in new.groups if k not in base.groups]
        for key in (k for k in new.groups if k in base.groups):
            frames = (measured_ok(trials_frame(side.groups[key])) for side in (base, new))
            matched.append((key, *frames))
    return matched, unmatched


# Gate ------------------------------------------------------------------------------------


@dataclass
class GateSettings:
    metrics: tuple[str, ...] = DEFAULT_METRICS
    max_regression: float = DEFAULT_MAX_REGRESSION
    confidence: float = DEFAULT_CONFIDENCE
    budgets: dict[str, float] = field(default_factory=dict)
    factor: str | None = None
    baseline_level: str | None = None

    @property
    def alpha(self) -> float:
        return 1 - self.confidence


def settings_for(run: RunData, overrides: Mapping[str, Any]) -> GateSettings:
    """The scenario's ``[gate]`` table (as recorded in the run) under the command line."""
    recorded = run.metadata.get("scenario", {}).get("as_run", {}).get("gate") or {}
    cfg = GateConfig.model_validate(recorded) if recorded else GateConfig()
    settings = GateSettings(
        metrics=tuple(cfg.metrics) if cfg.metrics else DEFAULT_METRICS,
        max_regression=cfg.max_regression
        if cfg.max_regression is not None
        else DEFAULT_MAX_REGRESSION,
        confidence=cfg.confidence or DEFAULT_CONFIDENCE,
        budgets=dict(cfg.budgets),
        factor=cfg.factor,
        baseline_level=cfg.baseline_level,
    )
    for key, value in overrides.items():
        if value is not None and value != () and value != {}:
            setattr(settings, key, value)
    for metric in (*settings.metrics, *settings.budgets):
        if metric not in METRICS:
            raise GateInputError(f"unknown metric {metric!r}; choose from {', '.join(METRICS)}")
    return settings


@dataclass
class GateResult:
    decisions: list[gatestats.Decision]
    budgets: list[tuple[str, str, float, float, bool]]  # variant, metric, median, budget, ok
    unmatched: list[str]
    settings: GateSettings
    base_label: str
    new_label: str

    @property
    def exit_code(self) -> int:
        if any(d.verdict == "inconclusive" for d in self.decisions):
            return 2
        failed = any(d.verdict == "regression" for d in self.decisions)
        return 1 if failed or any(not ok for *_r, ok in self.budgets) else 0

    @property
    def verdict(self) -> str:
        return {0: "pass", 1: "fail", 2: "inconclusive"}[self.exit_code]


def run_gate(pairs: Sequence[tuple[Side, Side]], settings: GateSettings) -> GateResult:
    matched, unmatched = _matched(pairs)
    comparisons = _comparisons(matched, settings.metrics, settings.confidence)
    budgets: list[tuple[str, str, float, float, bool]] = []
    for key, _base, new in matched:
        for metric, limit in settings.budgets.items():
            n = _values(new, metric)
            if n:
                median = float(statistics.median(n))
                budgets.append((key, metric, median, limit, median <= limit))
    if not comparisons and not budgets:
        raise GateInputError(
            "no variant with ok measured trials on both sides; nothing to gate"
            + (f" ({'; '.join(unmatched[:5])})" if unmatched else "")
        )
    decisions = gatestats.decide(comparisons, settings.alpha, settings.max_regression)
    labels = pairs[0] if pairs else (Side("", {}), Side("", {}))
    return GateResult(decisions, budgets, unmatched, settings, labels[0].label, labels[1].label)


def _comparisons(
    matched: Sequence[tuple[str, pd.DataFrame, pd.DataFrame]],
    metrics: Sequence[str],
    confidence: float,
) -> list[gatestats.Comparison]:
    rows = []
    for key, base, new in matched:
        for metric in metrics:
            b, n = _values(base, metric), _values(new, metric)
            if b and n:
                rows.append(gatestats.compare(key, metric, b, n, confidence))
    return rows


def compare_verdict(c: gatestats.Comparison, alpha: float) -> str:
    if c.p_two_sided < alpha:
        return "slower" if c.ratio > 1 else "faster"
    return "no change"


# Output ----------------------------------------------------------------------------------


def gate_markdown(result: GateResult) -> str:
    s = result.settings
    icon = {"pass": "✅", "fail": "❌", "inconclusive": "⚠️"}[result.verdict]
    lines = [
        f"## {icon} cold-start gate: {result.verdict}",
        "",
        f"{md_escape(result.new_label)} vs baseline {md_escape(result.base_label)}; "
        f"regression = slower "
        f"by more than {s.max_regression:.0%} **and** significant at {s.confidence:.0%} "
        f"(one-sided Mann–Whitney U, Holm-corrected over {len(result.decisions)} comparison(s)).",
        "",
        "| verdict | variant | metric | base median | new median | change | 95 % CI "
        "| p (adj.) | n base/new | outliers |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for d in result.decisions:
        c = d.comparison
        lines.append(
            f"| {d.verdict} | {md_escape(c.variant)} | {c.metric} | {c.base_median:,.1f} | "
            f"{c.new_median:,.1f} | {c.change_pct:+.1f} % | "
            f"[{(c.ratio_low - 1) * 100:+.1f}, {(c.ratio_high - 1) * 100:+.1f}] % | "
            f"{d.p_adjusted:.3g} | {c.n_base}/{c.n_new} | {c.outliers_base}/{c.outliers_new} |"
        )
    if result.budgets:
        lines += [
            "",
            "| budget | variant | metric | new median | limit |",
            "|---|---|---|---:|---:|",
        ]
        for variant, metric, median, limit, ok in result.budgets:
            lines.append(
                f"| {'ok' if ok else 'over budget'} | {md_escape(variant)} | {metric} | "
                f"{median:,.1f} | {limit:,.1f} |"
            )
    notes = [d for d in result.decisions if d.verdict in ("inconclusive", "warning")]
    if notes or result.unmatched:
        lines.append("")
        lines += [
            f"- {md_escape(d.comparison.variant)} {d.comparison.metric}: {md_escape(d.reason)}"
            for d in notes
        ]
        lines += [f"- unmatched: {md_escape(u)}" for u in result.unmatched]
    return "\n".join(lines) + "\n"


def gate_junit(result: GateResult) -> str:
    """One test case per gated (variant, metric) and per budget."""
    cases = len(result.decisions) + len(result.budgets)
    failures = sum(d.verdict == "regression" for d in result.decisions)
    failures += sum(not ok for *_r, ok in result.budgets)
    errors = sum(d.verdict == "inconclusive" for d in result.decisions)
    suite = ET.Element(
        "testsuite",
        name="coldstart gate",
        tests=str(cases),
        failures=str(failures),
        errors=str(errors),
    )
    for d in result.decisions:
        c = d.comparison
        case = ET.SubElement(suite, "testcase", classname=f"coldstart.{c.variant}", name=c.metric)
        if d.verdict == "regression":
            ET.SubElement(case, "failure", message=d.reason).text = d.reason
        elif d.verdict == "inconclusive":
            ET.SubElement(case, "error", message=d.reason).text = d.reason
        else:
            ET.SubElement(case, "system-out").text = f"{d.verdict}: {d.reason}"
    for variant, metric, median, limit, ok in result.budgets:
        case = ET.SubElement(
            suite, "testcase", classname=f"coldstart.{variant}", name=f"{metric} budget"
        )
        message = f"median {median:.1f} ms vs budget {limit:.1f} ms"
        if not ok:
            ET.SubElement(case, "failure", message=message).text = message
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def compare_rows(
    pairs: Sequence[tuple[Side, Side]], metrics: Sequence[str], confidence: float
) -> tuple[list[gatestats.Comparison], list[str]]:
    matched, unmatched = _matched(pairs)
    return _comparisons(matched, metrics, confidence), unmatched
