"""Figures by request position within a trial: the first-request penalty, and the first
request split into connect, TLS, waiting for headers and waiting for the first token."""

from __future__ import annotations

import pandas as pd

from coldstart_bench.analysis.frames import measured_ok


def request_index_summary(requests: pd.DataFrame) -> pd.DataFrame:
    """Median connect/TTFB/TTFT/total and the reused share per variant and request index,
    over measured ok requests: the first-request penalty, and what pooling, warm-up and
    caching do to it."""
    if requests.empty:
        return pd.DataFrame(columns=["variant", "request_index", "n"])
    ok = measured_ok(requests).copy()
    ok["connect_or_zero_ms"] = ok["connect_ms"].fillna(0.0)
    grouped = ok.groupby(["variant", "request_index"], sort=False)
    out = grouped.agg(
        n=("ttft_ms", "size"),
        connect_ms=("connect_or_zero_ms", "median"),
        tls_ms=("tls_ms", "median"),
        ttfb_ms=("ttfb_ms", "median"),
        ttft_ms=("ttft_ms", "median"),
        total_ms=("total_ms", "median"),
        reused_share=("reused", lambda s: float(s.fillna(False).astype(bool).mean())),
    )
    return out.reset_index()


def first_request_split(frame: pd.DataFrame) -> pd.DataFrame:
    """Per variant, the median first request split into connect, TLS, the wait for the
    response headers after them (TTFB), and from headers to the first token."""
    data = measured_ok(frame)
    rows = []
    for variant, part in data.groupby("variant", sort=False):
        connect = float(part["first_connect_ms"].fillna(0.0).median())
        tls = float(part["first_tls_ms"].fillna(0.0).median())
        ttfb = float(part["first_ttfb_ms"].median())
        ttft = float(part["first_ttft_ms"].median())
        rows.append(
            {
                "variant": variant,
                "connect_ms": connect,
                "tls_ms": tls,
                "ttfb_ms": ttfb,
                "ttft_ms": ttft,
                "headers_wait_ms": max(ttfb - connect - tls, 0.0),
                "first_token_wait_ms": max(ttft - ttfb, 0.0),
            }
        )
    return pd.DataFrame(rows)
