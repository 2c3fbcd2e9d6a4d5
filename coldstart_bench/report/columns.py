"""The summary's columns, shared by the terminal table, the Markdown and the HTML report."""

from __future__ import annotations

from collections.abc import Callable, Sequence

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
CAPTION = (
    "milliseconds; each figure is the median over trials (p95: the 95th percentile) of one "
    "value per trial; ready and cold TTFT from t0 (just before spawn); 1st req = the first "
    "request after ready; later = requests 2..n of the trial: their mean connect (0 when the "
    "connection was reused), share reused and median TTFT"
)


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
    columns = shown_columns([*STARTUP_COLUMNS, *REQUEST_COLUMNS], rows)
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
