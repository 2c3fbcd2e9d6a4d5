"""The summary's columns, shared by the terminal table, the Markdown and the HTML report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from coldstart_bench.analysis.metrics import BY_NAME, DASH, Table, TableColumn, ms, table_columns
from coldstart_bench.analysis.summary import VariantSummary

_DASH = DASH
__all__ = ["ms"]  # the tables' number format, for the commands that print figures


@dataclass(frozen=True)
class SummaryColumn:
    """One column of the summary table: its header, the text of a row's cell, bold or not
    — each metric's column, header and format from its record (analysis.metrics)."""

    header: str
    metric: str
    statistic: str
    bold: bool
    hidden_when_absent: bool

    def value(self, row: VariantSummary) -> str:
        return BY_NAME[self.metric].format(row.figure(self.metric, self.statistic))


def _columns(part: Table) -> tuple[SummaryColumn, ...]:
    def made(c: TableColumn) -> SummaryColumn:
        return SummaryColumn(
            c.header, c.metric.name, c.statistic, c.bold, c.metric.hidden_when_absent
        )

    return tuple(made(c) for c in table_columns(part))


# The metric columns in three parts: the start-up, and after it the requests or, in a run
# with load trials, the load. A wide terminal shows two in one table, a narrow one apart.
STARTUP_COLUMNS = _columns("startup")
REQUEST_COLUMNS = _columns("requests")
LOAD_COLUMNS = _columns("load")
LOAD_CAPTION = (
    "milliseconds from t0 unless said; each figure is the median over trials of one value "
    "per trial; cold / warm p95 = the 95th percentile of latency from arrival (waiting + "
    "time to first token) in the cold phase (from spawn) and the warm phase (the same load "
    "later); cold penalty = cold p95 / warm p95, cold excess = cold p95 − warm p95; steady "
    "after = t0 → from when the rolling p95 stays near the warm one; goodput = answers "
    "meeting the SLO per second in the first seconds; not answered = cold requests that got "
    "no answer"
)
CAPTION = (
    "milliseconds; each figure is the median over trials (p95: the 95th percentile; of "
    "fewer than 20 trials, about their largest) of one value per trial; ready and cold TTFT "
    "from t0 (just before spawn); 1st req = the first request after ready; later = requests "
    "2..n of the trial: their mean connect (0 when the connection was reused), share reused "
    "and median TTFT"
)


def detail_columns(rows: Sequence[VariantSummary]) -> tuple[SummaryColumn, ...]:
    """The columns after start-up: the load's where the run had load trials."""
    return LOAD_COLUMNS if any(r.load_seen for r in rows) else REQUEST_COLUMNS


def caption_for(rows: Sequence[VariantSummary]) -> str:
    return LOAD_CAPTION if any(r.load_seen for r in rows) else CAPTION


def shown_columns(
    columns: Sequence[SummaryColumn], rows: Sequence[VariantSummary]
) -> list[SummaryColumn]:
    """The columns worth showing: one that is hidden when absent (TLS) only where some
    variant measured its metric."""
    return [
        c for c in columns if not c.hidden_when_absent or any(r.measured(c.metric) for r in rows)
    ]


def factor_names(rows: Sequence[VariantSummary]) -> list[str]:
    names: list[str] = []
    for row in rows:
        names += [f for f in row.factors if f not in names]
    return names


def count_text(row: VariantSummary) -> str:
    if row.trials and row.skipped == row.trials:
        return "skipped"
    return f"{row.ok}/{row.trials}"


def plain_grid(
    rows: Sequence[VariantSummary],
) -> tuple[list[str], list[tuple[list[str], list[str]]]]:
    """Headers, then (factor labels, figures) per row, as plain text."""
    columns = shown_columns([*STARTUP_COLUMNS, *detail_columns(rows)], rows)
    factors = factor_names(rows)
    heads = [*(factors or ["variant"]), "ok/n", *(c.header.replace("\n", " ") for c in columns)]
    body = [
        (
            [row.factors.get(f, _DASH) for f in factors] or [row.variant],
            [count_text(row), *(c.value(row) for c in columns)],
        )
        for row in rows
    ]
    return heads, body


def repeats_text(repeats: Mapping[int, int], shown: Sequence[int]) -> str:
    """Which of the ``shown`` request numbers repeat an earlier one's prompt, in words
    ("" when none does): a response or prompt cache answers those from memory."""
    said = {n: first for n, first in repeats.items() if n in shown}
    if not said:
        return ""
    if len(said) == len(shown) - 1 and set(said.values()) == {min(shown)}:
        return "every request sends the same prompt"
    by_first: dict[int, list[int]] = {}
    for number, first in sorted(said.items()):
        by_first.setdefault(first, []).append(number)
    parts = []
    for first, numbers in by_first.items():
        if len(numbers) == 1:
            parts.append(f"request {numbers[0]} repeats request {first}'s prompt")
        else:
            listed = ", ".join(map(str, numbers[:-1])) + f" and {numbers[-1]}"
            parts.append(f"requests {listed} repeat request {first}'s prompt")
    return "; ".join(parts)
