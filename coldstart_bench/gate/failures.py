"""Trials that failed are a verdict too. The timing comparisons read only the ok trials,
so a build whose cold start crashes in half its trials would be judged on the half that
started: for each matched variant the gate also compares how often each side failed.

- **regression**: the new side fails significantly more often than the baseline (Fisher's
  exact test, one-sided, Bonferroni over the variants), said with both rates.
- **inconclusive**: the new side failed some trials, not significantly more than the
  baseline: a failing build never passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from coldstart_bench.analysis.stats import more_failures_p
from coldstart_bench.analysis.summary import reason_of
from coldstart_bench.results.schema import FAILED_STATUSES


@dataclass(frozen=True)
class FailureCheck:
    variant: str
    base_failed: int
    base_n: int
    new_failed: int
    new_n: int
    p_adjusted: float
    first_error: str  # the new side's first failure, in its own words

    @property
    def verdict(self) -> str:
        """``regression``, ``inconclusive`` (the new side failed, not clearly more often)
        or ``pass`` (it did not fail)."""
        if not self.new_failed:
            return "pass"
        return "regression" if self.significant else "inconclusive"

    significant_level: float = 0.05

    @property
    def significant(self) -> bool:
        return self.p_adjusted < self.significant_level

    @property
    def points(self) -> float:
        """How much more often the new side fails, in percentage points."""
        return 100 * (self.new_failed / self.new_n - self.base_failed / max(self.base_n, 1))

    def sentence(self) -> str:
        rates = (
            f"{self.new_failed} of {self.new_n} trials failed, the baseline "
            f"{self.base_failed} of {self.base_n}"
        )
        if self.verdict == "regression":
            return (
                f"fails more often: {rates} ({self.points:+.0f} points, one-sided Fisher "
                f"p = {self.p_adjusted:.2g} adjusted); first failure: {self.first_error}"
            )
        return (
            f"{rates}: not clearly more often, but a build that fails does not pass; "
            f"first failure: {self.first_error}"
        )


def _counted(frame: pd.DataFrame) -> pd.DataFrame:
    """Measured trials that ran (warm-up and skipped ones do not count)."""
    if frame.empty:
        return frame
    return frame[~frame["warmup_trial"].astype(bool) & (frame["status"] != "skipped")]


def failure_checks(
    matched: Sequence[tuple[str, pd.DataFrame, pd.DataFrame]], alpha: float
) -> list[FailureCheck]:
    """Per matched variant (key, base trials, new trials: trials frames), how often each
    side failed."""
    counted = [(key, _counted(base), _counted(new)) for key, base, new in matched]
    m = max(len(counted), 1)
    checks = []
    for key, base, new in counted:
        base_failed = int(base["status"].isin(FAILED_STATUSES).sum()) if len(base) else 0
        failed = new[new["status"].isin(FAILED_STATUSES)] if len(new) else new
        p = more_failures_p(base_failed, len(base), len(failed), len(new))
        said = reason_of(failed["error"].iloc[0]) if len(failed) else ""
        first = " ".join(line.strip() for line in said.splitlines() if line.strip())
        check = FailureCheck(
            key, base_failed, len(base), len(failed), len(new), min(1.0, m * p), _cut(first), alpha
        )
        checks.append(check)
    return checks


def _cut(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
