"""``coldstart compare`` and ``coldstart gate``: the settings of a gate, the comparisons of
two matched sides, and the result with its exit code."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from coldstart_bench.analysis.frames import METRICS
from coldstart_bench.errors import GateInputError
from coldstart_bench.gate.matching import Side, matched_frames, metric_values
from coldstart_bench.gate.rule import Comparison, Decision, compare, decide
from coldstart_bench.results.store import RunData
from coldstart_bench.scenario.schema import GateConfig

DEFAULT_METRICS = ("cold_ttft_ms",)
DEFAULT_MAX_REGRESSION = 0.05
DEFAULT_CONFIDENCE = 0.95


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
    decisions: list[Decision]
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
    matched, unmatched = matched_frames(pairs)
    comparisons = _comparisons(matched, settings.metrics, settings.confidence)
    budgets: list[tuple[str, str, float, float, bool]] = []
    for key, _base, new in matched:
        for metric, limit in settings.budgets.items():
            n = metric_values(new, metric)
            if n:
                median = float(np.median(n))
                budgets.append((key, metric, median, limit, median <= limit))
    if not comparisons and not budgets:
        raise GateInputError(
            "no variant with ok measured trials on both sides; nothing to gate"
            + (f" ({'; '.join(unmatched[:5])})" if unmatched else "")
        )
    decisions = decide(comparisons, settings.alpha, settings.max_regression)
    labels = pairs[0] if pairs else (Side("", {}), Side("", {}))
    return GateResult(decisions, budgets, unmatched, settings, labels[0].label, labels[1].label)


def _comparisons(
    matched: Sequence[tuple[str, pd.DataFrame, pd.DataFrame]],
    metrics: Sequence[str],
    confidence: float,
) -> list[Comparison]:
    rows = []
    for key, base, new in matched:
        for metric in metrics:
            b, n = metric_values(base, metric), metric_values(new, metric)
            if b and n:
                rows.append(compare(key, metric, b, n, confidence))
    return rows


def compare_verdict(c: Comparison, alpha: float) -> str:
    if c.p_two_sided < alpha:
        return "slower" if c.ratio > 1 else "faster"
    return "no change"


def compare_rows(
    pairs: Sequence[tuple[Side, Side]], metrics: Sequence[str], confidence: float
) -> tuple[list[Comparison], list[str]]:
    matched, unmatched = matched_frames(pairs)
    return _comparisons(matched, metrics, confidence), unmatched
