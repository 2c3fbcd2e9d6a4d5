"""The summary in a terminal: one table when it fits, two with nothing cut when not."""

from __future__ import annotations


def test_a_narrow_terminal_gets_the_summary_in_two_tables_with_nothing_cut():
    from rich.console import Console

    from coldstart_bench.analysis.summary import VariantSummary
    from coldstart_bench.report.terminal import print_summary

    row = VariantSummary(
        variant="warmup=startup,pooling=off,cache=on",
        factors={"warmup": "startup", "pooling": "off", "cache": "on"},
        trials=10,
        ok=10,
        failed=0,
        skipped=0,
        figures={
            "ready_ms": {"median": 1051.2, "p95": 1117.0},
            "cold_ttft_ms": {"median": 1091.0, "p95": 1154.3},
            "first_connect_ms": {"median": 0.13},
            "first_ttfb_ms": {"median": 14.6},
            "first_ttft_ms": {"median": 35.5},
            "later_connect_ms": {"median": 0.0},
            "later_reused_share": {"median": 1.0},
            "later_ttft_ms": {"median": 16.8},
        },
    )
    narrow = Console(width=80, record=True)
    print_summary(narrow, [row], "run")
    text = narrow.export_text()
    assert "run: start-up" in text and "run: requests" in text
    assert "…" not in text and "startup" in text and "1,091" in text
    assert "TLS" not in text  # no variant used TLS
    wide = Console(width=200, record=True)
    print_summary(wide, [row], "run")
    assert "run: start-up" not in wide.export_text()
