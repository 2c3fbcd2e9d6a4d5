"""``coldstart connbench`` figures: connect and TLS times, the TLS share of connection
set-up, and what a keep-alive pool saves, from the requests the probe timed."""

from __future__ import annotations

from dataclasses import dataclass

from coldstart_bench.analysis.stats import median, percentile
from coldstart_bench.results.schema import ConnectionSamples


@dataclass(frozen=True)
class ConnBench:
    url: str
    n: int
    http_version: str | None
    connect_p50: float | None
    connect_p95: float | None
    tls_p50: float | None
    tls_p95: float | None
    fresh_ttfb_p50: float | None
    fresh_total_p50: float | None
    pooled_total_p50: float | None
    fresh_per_s: float  # requests per second, each on a new connection
    pooled_per_s: float  # requests per second over one kept-alive connection
    setup_fresh_ms: float  # connect + TLS per request without a pool (mean)
    setup_pooled_ms: float  # the one connection's connect + TLS spread over n requests

    @property
    def tls_share(self) -> float | None:
        """TLS handshake as a share of the whole connection set-up (TCP + TLS)."""
        if self.tls_p50 is None or self.connect_p50 is None:
            return None
        return self.tls_p50 / (self.tls_p50 + self.connect_p50)

    @property
    def pool_saving(self) -> float:
        """How much of the per-request connection set-up a pool removes."""
        if self.setup_fresh_ms <= 0:
            return 0.0
        return 1 - self.setup_pooled_ms / self.setup_fresh_ms


def connbench_figures(samples: ConnectionSamples) -> ConnBench:
    fresh, pooled, n = samples.fresh, samples.pooled, samples.n
    setup_fresh = sum((r.connect_ms or 0) + (r.tls_ms or 0) for r in fresh) / n
    setup_pooled = sum((r.connect_ms or 0) + (r.tls_ms or 0) for r in pooled) / n
    return ConnBench(
        url=samples.url,
        n=n,
        http_version=fresh[0].http_version,
        connect_p50=median(r.connect_ms for r in fresh),
        connect_p95=percentile((r.connect_ms for r in fresh), 95),
        tls_p50=median(r.tls_ms for r in fresh) if samples.tls else None,
        tls_p95=percentile((r.tls_ms for r in fresh), 95) if samples.tls else None,
        fresh_ttfb_p50=median(r.ttfb_ms for r in fresh),
        fresh_total_p50=median(r.total_ms for r in fresh),
        pooled_total_p50=median(r.total_ms for r in pooled[1:]),
        fresh_per_s=n / samples.fresh_s,
        pooled_per_s=n / samples.pooled_s,
        setup_fresh_ms=setup_fresh,
        setup_pooled_ms=setup_pooled,
    )
