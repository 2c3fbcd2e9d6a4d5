"""A run that cannot succeed stops early and says why: a wrong readiness path or a server
that cannot start fails every trial the same way, each after its whole timeout (80 trials
× 120 s of the quickstart: 2.7 hours for one typo).

Two rules, on the failures' reasons with their numbers (ports, pids, times) set aside:

- nothing has worked yet and the first :data:`FIRST` trials failed the same way;
- :data:`STREAK` trials in a row failed the same way, whatever came before.

``coldstart run --keep-going`` runs every trial anyway.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from coldstart_bench.results.schema import TrialRecord

FIRST = 2
STREAK = 5
_NUMBERS = re.compile(r"\d+(\.\d+)?")


def same_way(error: str | None) -> str:
    """A failure's reason as far as "the same failure" goes: its first line, numbers out."""
    first = (error or "(no reason recorded)").strip().splitlines()[0] if error else ""
    return _NUMBERS.sub("N", first.split("; last log lines:")[0])


@dataclass
class GiveUp:
    """Asked after every trial; says why the run should stop (None: go on)."""

    first: int = FIRST
    streak: int = STREAK
    succeeded: bool = False
    _recent: list[str] = field(default_factory=list)

    def after(self, record: TrialRecord) -> str | None:
        if record.status == "skipped":
            return None
        if record.status == "ok":
            self.succeeded = True
            self._recent.clear()
            return None
        reason = same_way(record.error)
        if self._recent and self._recent[-1] != reason:
            self._recent.clear()
        self._recent.append(reason)
        needed = self.streak if self.succeeded else self.first
        if len(self._recent) < needed:
            return None
        said = (record.error or "(no reason recorded)").strip().splitlines()[0]
        said = said.split("; last log lines:")[0].removesuffix("; its log is empty")
        before = "" if self.succeeded else ", and none has succeeded"
        return (
            f"the last {len(self._recent)} trials failed the same way{before}: {said} — "
            "fix that and run again, or pass --keep-going to run every trial anyway"
        )
