"""Exceptions that carry a message fit to show a user as-is (no traceback)."""

from __future__ import annotations

from collections.abc import Sequence


class ColdstartError(Exception):
    """An error caused by the user's input or environment; the CLI prints it and exits."""

    exit_code = 2


class ScenarioError(ColdstartError):
    """A scenario file that cannot be used. Each problem names the file and the key path."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__(self._format())

    def _format(self) -> str:
        if len(self.problems) == 1:
            return f"{self.source}: {self.problems[0]}"
        lines = [f"{self.source}: {len(self.problems)} problems"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


class RunDirError(ColdstartError):
    """A results directory that is missing or not a coldstart run."""


class GateInputError(ColdstartError):
    """Bad input for a gate (nothing to compare, an unknown metric, a missing baseline)."""


class ResultsNotWritable(ColdstartError):
    """The run's results (or its report) cannot be written: a full disk, a read-only or
    unwritable results directory. What was written before is intact."""

    exit_code = 3
