"""Factor effects: what each level of a factor does to each metric, against the factor's
baseline level, compared within each combination of the other factors (so only that factor
differs) and averaged over them, with a bootstrap interval."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from coldstart_bench.analysis.frames import FACTOR_PREFIX, factor_columns, measured_ok
from coldstart_bench.analysis.metrics import (
    BY_NAME,
    EFFECT_METRICS,
    higher_is_better,
    wording,
)
from coldstart_bench.analysis.stats import (
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    CONFIDENCE,
    stratified_ratio,
)

# Which level of a factor is the baseline ("off"); every other level is a treatment. A
# factor with none of these compares against its first declared level.
BASELINE_LEVELS: tuple[str, ...] = ("off", "none", "cold", "false", "no", "0", "cpu", "base")


# Below this many trials in a cell (one variant), resampling says nothing about the median's
# spread (two values give at most three distinct medians), so the cell is left out of
# factor effects.
MIN_TRIALS_PER_CELL = 3


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
    # Every treatment trial measured exactly 0 (a reused connection makes no connect): the
    # ratio restates how the level works, it is no finding about speed.
    by_construction: bool = False
    confidence: float = CONFIDENCE  # of the interval (higher where many are read together)
    # Support: the strata where both levels had enough trials (a baseline of 0 included),
    # how many of them change the same way as the whole, and the trials in those.
    strata_measured: int = 0
    strata_agreeing: int = 0
    trials: int = 0
    streamed: bool = True  # the run's requests streamed tokens (else "first response")

    @property
    def change_pct(self) -> float:
        return (self.ratio - 1.0) * 100.0

    @property
    def clear(self) -> bool:
        """The confidence interval of the ratio excludes 1 (no change)."""
        return self.ci_high < 1.0 or self.ci_low > 1.0

    @property
    def supported(self) -> bool:
        """Not resting on one stratum where more were measured: a change seen in one
        combination of the other factors alone (a goodput of 0 in every other cell, say)
        is no finding about the factor."""
        return self.strata_measured <= 1 or self.strata_agreeing >= 2

    @property
    def finding(self) -> bool:
        """Clear, supported and not true by construction: worth a reader's attention."""
        return self.clear and self.supported and not self.by_construction

    @property
    def improves(self) -> bool:
        """The change goes the good way for its metric (lower, or higher for goodput)."""
        return self.ratio > 1 if higher_is_better(self.metric) else self.ratio < 1

    @property
    def gain(self) -> float:
        """The factor by which it improves (above 1) or worsens (below 1) its metric."""
        return self.ratio if higher_is_better(self.metric) else 1 / self.ratio

    @property
    def verdict(self) -> str:
        """``better``, ``worse`` (both clear findings) or ``unclear``."""
        if not self.finding:
            return "unclear"
        return "better" if self.improves else "worse"

    @property
    def label(self) -> str:
        """E.g. 'warmup=startup vs none: first request's TTFT'."""
        what = wording(self.metric, self.streamed)
        return f"{self.factor}={self.treatment} vs {self.baseline}: {what}"

    def sentence(self) -> str:
        """E.g. 'warmup=startup (vs none): first request's TTFT 45 % lower [40, 50]'."""
        what = wording(self.metric, self.streamed)
        if self.by_construction:
            return (
                f"{self.factor}={self.treatment} (vs {self.baseline}): {what} is 0 in every "
                f"trial — by construction, not a finding"
            )
        direction = "lower" if self.ratio < 1 else "higher"
        level = f"{self.confidence * 100:.4g}"
        if self.clear:  # both bounds on the change's side: its size, from small to large
            low, high = sorted(abs(b - 1) * 100 for b in (self.ci_low, self.ci_high))
            interval = f"[{level} % CI {_pct(low)}, {_pct(high)}]"
            verdict = self._support()
        else:  # a bound on either side: each in words
            interval = f"[{level} % CI {_change(self.ci_low)} to {_change(self.ci_high)}]"
            verdict = " (not clear: the interval includes no change)"
        return (
            f"{self.factor}={self.treatment} (vs {self.baseline}): {what} "
            f"{abs(self.change_pct):.0f} % {direction} {interval}{verdict}"
        )

    def _support(self) -> str:
        """How many trials carry a clear change, and in how many strata it holds."""
        share = (
            f"{self.strata_agreeing} of {self.strata_measured} combinations of the other factors"
        )
        if not self.supported:
            return f" (not a finding: only {share} show it)"
        if self.strata_measured > self.strata_agreeing:
            return f" ({self.trials:,} trials, in {share})"
        if self.strata_measured > 1:
            return f" ({self.trials:,} trials, consistent across the other factors)"
        return f" ({self.trials:,} trials)" if self.trials else ""


def _support(
    cells: Sequence[tuple[np.ndarray, np.ndarray]], ratio: float, min_trials: int
) -> tuple[int, int, int]:
    """(strata measured, strata whose medians move the way ``ratio`` does, their trials)."""
    measured = [(b, t) for b, t in cells if min(len(b), len(t)) >= min_trials]
    way = np.sign(ratio - 1.0)
    agreeing = [(b, t) for b, t in measured if np.sign(np.median(t) - np.median(b)) == way != 0]
    return len(measured), len(agreeing), sum(len(b) + len(t) for b, t in agreeing)


def _pct(value: float) -> str:
    """A percentage as the interval shows it: whole numbers, but never a bound rounded to a
    0 it is not (0.3 stays 0.3, 0.04 stays 0.04)."""
    return f"{value:.1g}" if 0 < abs(value) < 1 else f"{value:.0f}"


def _change(ratio: float) -> str:
    """A ratio as a change in words: "43 % lower", "0.3 % higher", "no change"."""
    if ratio == 1:
        return "no change"
    return f"{_pct(abs(ratio - 1) * 100)} % {'lower' if ratio < 1 else 'higher'}"


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
    """Each factor's levels in the order the plan's variants (``run.json``) list them,
    given each variant's factors (factor → level)."""
    levels: dict[str, list[str]] = {}
    for factors in variants:
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
    confidence: float = CONFIDENCE,
    skip: Collection[str] = (),
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
        if factor in skip:
            continue
        column = FACTOR_PREFIX + factor
        others = [c for c in columns if c != column]
        present = [m for m in metrics if m in data]
        needed = data[[*others, column, *present]]
        groups = list(needed.groupby(others, sort=False)) if others else [((), needed)]
        for treatment in treatments:
            # which trials of each stratum are at the baseline and at the treatment, found
            # once for every metric (a million trials' text compared once, not per metric)
            split = []
            for _key, stratum in groups:
                level = stratum[column].to_numpy(dtype=object)
                split.append((stratum, level == baseline, level == treatment))
            for metric in present:
                cells = [
                    (_finite(stratum, metric, at_base), _finite(stratum, metric, at_treatment))
                    for stratum, at_base, at_treatment in split
                ]
                effect = stratified_ratio(cells, rng, resamples, min_trials, confidence)
                if effect is not None:
                    ratio, low, high, strata = effect
                    known = BY_NAME.get(metric)
                    zero = (
                        known is not None
                        and known.zero_by_construction
                        and all(not np.any(treat) for _base, treat in cells if len(treat))
                    )
                    measured, agreeing, carried = _support(cells, ratio, min_trials)
                    effects.append(
                        Effect(
                            factor,
                            baseline,
                            treatment,
                            metric,
                            ratio,
                            low,
                            high,
                            strata,
                            zero,
                            confidence,
                            measured,
                            agreeing,
                            carried,
                        )
                    )
    return effects


def _finite(stratum: pd.DataFrame, metric: str, rows: np.ndarray) -> np.ndarray:
    """The metric's values in these rows, missing ones left out."""
    values = stratum[metric].to_numpy(dtype=float, na_value=np.nan)[rows]
    return values[~np.isnan(values)]


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
                "by_construction": e.by_construction,
                "strata": e.strata,
                "strata_measured": e.strata_measured,
                "strata_agreeing": e.strata_agreeing,
                "trials": e.trials,
                "confidence": e.confidence,
                "summary": e.sentence(),
            }
            for e in effects
        ]
    )
