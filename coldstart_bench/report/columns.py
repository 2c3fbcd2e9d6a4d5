"""The summary's columns, shared by the terminal table, the Markdown and the HTML report."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from coldstart_bench.analysis.summary import VariantSummary

_DASH = "—"


def ms(value: float | None, digits: int | None = None) -> str:
    if value is None:
        return _DASH
    if digits is None:  # decided on the rounded value: 9.998 is "10.0", not "10.00"
        digits = 0 if abs(value) >= 999.95 else 1 if abs(value) >= 9.995 else 2
    return f"{value:,.{digits}f}"


# (header, value of a row, bold?) for each metric column, in two groups: the start-up and
# the requests. A wide terminal shows both in one table, a narrow one in two.
_Column = tuple[str, Callable[[VariantSummary], str], bool]

STARTUP_COLUMNS: tuple[_Column, ...] = (
    ("ready\np50", lambda r: ms(r.ready_p50), False),
    ("ready\np95", lambda r: ms(r.ready_p95), False),
    ("cold TTFT\np50", lambda r: ms(r.cold_ttft_p50), True),
    ("cold TTFT\np95", lambda r: ms(r.cold_ttft_p95), False),
)
REQUEST_COLUMNS: tuple[_Column, ...] = (
    ("1st req\nconnect", lambda r: ms(r.first_connect_p50), False),
    ("1st req\nTLS", lambda r: ms(r.first_tls_p50) if r.tls_seen else _DASH, False),
    ("1st req\nTTFB", lambda r: ms(r.first_ttfb_p50), False),
    ("1st req\nTTFT", lambda r: ms(r.first_ttft_p50), False),
    ("later\nconnect", lambda r: ms(r.later_connect_p50), False),
    (
        "later\nreused",
        lambda r: _DASH if r.later_reused_share is None else f"{r.later_reused_share:.0%}",
        False,
    ),
    ("later\nTTFT", lambda r: ms(r.later_ttft_p50), False),
)


def _penalty(r: VariantSummary) -> str:
    return _DASH if r.cold_penalty_p95 is None else f"{r.cold_penalty_p95:.2f}×"


# A load trial's columns, in place of the request columns.
LOAD_COLUMNS: tuple[_Column, ...] = (
    ("first\nanswer", lambda r: ms(r.first_success_p50), False),
    ("cold\np95", lambda r: ms(r.load_cold_p95), True),
    ("warm\np95", lambda r: ms(r.load_warm_p95), False),
    ("cold\npenalty", _penalty, False),
    ("cold\nexcess", lambda r: ms(r.cold_excess_p95), False),
    ("steady\nafter", lambda r: ms(r.time_to_steady_p50), False),
    (
        "goodput\nreq/s",
        lambda r: _DASH if r.goodput_p50 is None else f"{r.goodput_p50:.1f}",
        False,
    ),
    (
        "not\nanswered",
        lambda r: _DASH if r.load_errors_p50 is None else f"{r.load_errors_p50:g}",
        False,
    ),
)
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
    "milliseconds; each figure is the median over trials (p95: the 95th percentile) of one "
    "value per trial; ready and cold TTFT from t0 (just before spawn); 1st req = the first "
    "request after ready; later = requests 2..n of the trial: their mean connect (0 when the "
    "connection was reused), share reused and median TTFT"
)


def detail_columns(rows: Sequence[VariantSummary]) -> tuple[_Column, ...]:
    """The columns after start-up: the load's where the run had load trials."""
    return LOAD_COLUMNS if any(r.load_seen for r in rows) else REQUEST_COLUMNS


def caption_for(rows: Sequence[VariantSummary]) -> str:
    return LOAD_CAPTION if any(r.load_seen for r in rows) else CAPTION


def shown_columns(columns: Sequence[_Column], rows: Sequence[VariantSummary]) -> list[_Column]:
    """The columns worth showing: TLS only if some variant used TLS."""
    tls = any(r.tls_seen for r in rows)
    return [c for c in columns if tls or "TLS" not in c[0]]


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
    heads = [*(factors or ["variant"]), "ok/n", *(h.replace("\n", " ") for h, _v, _b in columns)]
    body = [
        (
            [row.factors.get(f, _DASH) for f in factors] or [row.variant],
            [count_text(row), *(value(row) for _h, value, _b in columns)],
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
