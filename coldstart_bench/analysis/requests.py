"""Figures by request position within a trial: the first-request penalty, and connection
set-up on fresh and reused connections."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from coldstart_bench.analysis.frames import measured_ok


def request_index_summary(
    requests: pd.DataFrame, order: Sequence[str] | None = None
) -> pd.DataFrame:
    """Median connect/TTFB/TTFT/total and the reused share per variant and request number
    (``request``: 1 is the first after ready, as every report counts), over measured ok
    requests: the first-request penalty, and what pooling, warm-up and caching do to it.
    Variants in ``order`` (the matrix's), the rest after them."""
    if requests.empty:
        return pd.DataFrame(columns=["variant", "request", "n"])
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
    ).reset_index()
    rank = {v: i for i, v in enumerate(order or ())}
    position = out["variant"].map(lambda v: rank.get(v, len(rank)))
    return (
        out.assign(_position=position)
        .sort_values(["_position", "request_index"], kind="stable")
        .drop(columns="_position")
        .reset_index(drop=True)
        .assign(request_index=lambda f: f["request_index"] + 1)
        .rename(columns={"request_index": "request"})
    )


def repeated_prompts(prompts: Sequence[str]) -> dict[int, int]:
    """Request number → the earlier request whose prompt it repeats (numbers from 1): where
    a response or prompt cache can answer from memory, so its TTFT dips."""
    first: dict[str, int] = {}
    repeats: dict[int, int] = {}
    for number, prompt in enumerate(prompts, start=1):
        if prompt in first:
            repeats[number] = first[prompt]
        else:
            first[prompt] = number
    return repeats


def connection_setup(requests: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Per variant and connection kind (fresh or reused), over measured ok requests at the
    same positions — requests 2..n, since request 1 also pays the server's first-request
    costs and is always fresh — the median and quartiles of the TCP connect, the TLS
    handshake, their sum (the set-up) and the TTFB. Returns the table and which requests it
    covers ("requests 2..n", or "request 1 only" when trials send one request)."""
    columns = ["variant", "kind", "n"] + [
        f"{m}_{s}" for m in ("connect", "tls", "setup", "ttfb") for s in ("p25", "p50", "p75")
    ]
    if requests.empty:
        return pd.DataFrame(columns=columns), ""
    ok = measured_ok(requests)
    later = ok[ok["request_index"] >= 1]
    covered = "requests 2..n"
    if later.empty:
        later, covered = ok, "request 1 only"
    data = later.assign(
        kind=later["reused"].fillna(False).astype(bool).map({True: "reused", False: "fresh"}),
        connect=later["connect_ms"].fillna(0.0),  # a reused connection makes none: 0 ms
        tls=later["tls_ms"].fillna(0.0),
    )
    data = data.assign(setup=data["connect"] + data["tls"], ttfb=data["ttfb_ms"])
    rows = []
    for (variant, kind), part in data.groupby(["variant", "kind"], sort=False):
        row: dict[str, object] = {"variant": variant, "kind": kind, "n": len(part)}
        for metric in ("connect", "tls", "setup", "ttfb"):
            values = part[metric].dropna().to_numpy(dtype=float)
            quartiles = np.percentile(values, [25, 50, 75]) if len(values) else [np.nan] * 3
            for stat, value in zip(("p25", "p50", "p75"), quartiles, strict=True):
                row[f"{metric}_{stat}"] = float(value)
        rows.append(row)
    return pd.DataFrame(rows, columns=columns), covered


def idle_gaps(ok_requests: pd.DataFrame, order: Sequence[str]) -> pd.DataFrame:
    """Per variant, the measured ok requests that followed a silence (the later ones): how
    many, and the median silence before them and their median TTFT."""
    columns = ["variant", "n", "idle_median_ms", "ttft_median_ms"]
    if ok_requests.empty or "idle_ms" not in ok_requests:
        return pd.DataFrame(columns=columns)
    later = ok_requests[ok_requests["idle_ms"].notna()]
    rows = [
        {
            "variant": v,
            "n": len(part),
            "idle_median_ms": float(part["idle_ms"].median()),
            "ttft_median_ms": float(part["ttft_ms"].median()),
        }
        for v in order
        if len(part := later[later["variant"] == v])
    ]
    return pd.DataFrame(rows, columns=columns)
