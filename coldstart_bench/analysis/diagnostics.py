"""Known pitfalls recognised in a run's numbers, said in words a user can act on.

One so far: Nagle's algorithm on the server meeting the client's delayed ACK. A server that
does not set TCP_NODELAY holds back each small write while an earlier one is unacknowledged;
on a reused (kept-alive) connection the client, out of its quick-ACK start, waits ~40 ms
(Linux's minimum delayed-ACK time) before acknowledging, so a streamed response sends its
headers at once and then stalls, and all tokens arrive together. Fresh connections do not
show it (the kernel ACKs a new connection's first segments at once), so pooling looks
*slower* — a result that misleads unless someone says why.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from coldstart_bench.analysis.frames import FACTOR_PREFIX, measured_ok

POOLING = FACTOR_PREFIX + "pooling"
# The gap from headers to first token that a delayed ACK adds: Linux waits 40 ms at least
# and 200 ms at most; less than 30 ms more than fresh connections is not this.
STALL_MIN_MS = 30.0
STALL_MAX_MS = 250.0
MIN_REQUESTS = 3


@dataclass(frozen=True)
class Diagnosis:
    kind: str
    variants: tuple[str, ...]
    message: str


def _first_token_gap(requests: pd.DataFrame) -> pd.Series:
    """Headers → first token (or → end of the body where nothing streamed), per request."""
    until = requests["ttft_ms"].where(requests["ttft_ms"].notna(), requests["total_ms"])
    return until - requests["ttfb_ms"]


def nagle_stalls(requests: pd.DataFrame) -> list[Diagnosis]:
    """Pairs of variants that differ only in ``pooling`` where later requests on reused
    connections wait 30–250 ms longer between headers and first token than on fresh ones,
    and at least three times as long."""
    if requests.empty or POOLING not in requests:
        return []
    ok = measured_ok(requests)
    ok = ok[(ok["trial_status"] == "ok") & (ok["request_index"] >= 1)].copy()
    if ok.empty:
        return []
    ok["gap_ms"] = _first_token_gap(ok)
    others = [c for c in ok.columns if c.startswith(FACTOR_PREFIX) and c != POOLING]
    groups = ok.groupby(others, sort=False, dropna=False) if others else [((), ok)]
    flagged: list[tuple[str, str, float, float]] = []
    for _key, stratum in groups:
        reused = stratum[(stratum[POOLING] == "on") & (stratum["reused"] == True)]  # noqa: E712
        fresh = stratum[(stratum[POOLING] == "off") & (stratum["reused"] == False)]  # noqa: E712
        reused_gaps, fresh_gaps = reused["gap_ms"].dropna(), fresh["gap_ms"].dropna()
        if min(len(reused_gaps), len(fresh_gaps)) < MIN_REQUESTS:
            continue
        on, off = float(reused_gaps.median()), float(fresh_gaps.median())
        if STALL_MIN_MS <= on - off <= STALL_MAX_MS and on >= 3 * max(off, 0.1):
            flagged.append((str(reused["variant"].iloc[0]), str(fresh["variant"].iloc[0]), on, off))
    if not flagged:
        return []
    worst = max(flagged, key=lambda f: f[2] - f[3])
    message = (
        f"pooling=on: later requests on a reused connection wait {worst[2]:.0f} ms from "
        f"headers to first token, against {worst[3]:.1f} ms on fresh connections "
        f"({worst[0]} vs {worst[1]}; {len(flagged)} such pair(s)). That is the signature of "
        "Nagle's algorithm on the server meeting the client's delayed ACK: the server "
        "should set TCP_NODELAY on its connections (uvicorn and vLLM do; a hand-made "
        "listening socket or a proxy may not). Until it does, pooling looks slower than it is."
    )
    return [Diagnosis("nagle", tuple(v for f in flagged for v in f[:2]), message)]


def pooling_untested(requests: pd.DataFrame) -> list[Diagnosis]:
    """``pooling = "on"`` whose later requests never reused a connection: the server closed
    each one (``Connection: close``, a proxy that does), so what pooling would save was
    never measured and its comparisons compare nothing."""
    if requests.empty or POOLING not in requests:
        return []
    ok = measured_ok(requests)
    pooled = ok[(ok[POOLING] == "on") & (ok["request_index"] >= 1)]
    if len(pooled) < MIN_REQUESTS or pooled["reused"].fillna(False).astype(bool).any():
        return []
    variants = tuple(dict.fromkeys(str(v) for v in pooled["variant"]))
    message = (
        f"pooling=on reused no connection in {len(pooled)} later request(s) "
        f"({', '.join(variants[:3])}{' ...' if len(variants) > 3 else ''}): the server closed "
        "each one after answering, so pooling was not tested here — its effects compare "
        "two ways of opening a fresh connection, and are left out"
    )
    return [Diagnosis("pooling-untested", variants, message)]


def diagnose(requests: pd.DataFrame) -> list[Diagnosis]:
    """Every known pitfall the run's requests show."""
    return nagle_stalls(requests) + pooling_untested(requests)
