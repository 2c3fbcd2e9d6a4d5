"""``coldstart connbench URL``: what connection set-up costs on one endpoint — TCP connect,
TLS handshake, their share of a request, and what a connection pool saves — measured with
the same probe ``coldstart run`` uses."""

from __future__ import annotations

import time
from dataclasses import dataclass

from coldstart_bench.errors import ColdstartError
from coldstart_bench.probe import Probe
from coldstart_bench.records import RequestRecord
from coldstart_bench.specs import ProbeSettings, RequestSpec
from coldstart_bench.stats import median, percentile


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


def _requests(probe: Probe, spec: RequestSpec, n: int) -> tuple[list[RequestRecord], float]:
    records = []
    began = time.perf_counter()
    for i in range(n):
        record = probe.send(spec, time.perf_counter_ns())
        if record.status != "ok":
            raise ColdstartError(f"{spec.url}: request {i + 1} failed: {record.error}")
        records.append(record)
    return records, time.perf_counter() - began


def run_connbench(
    url: str,
    n: int = 200,
    *,
    http2: bool = False,
    ca_file: str | None = None,
    insecure: bool = False,
    warmup: int = 5,
) -> ConnBench:
    if not url.startswith(("http://", "https://")):
        raise ColdstartError(f"{url}: give a full URL, e.g. https://127.0.0.1:8443/health")
    if n < 2:
        raise ColdstartError("-n must be at least 2")
    tls = url.startswith("https://")
    spec = RequestSpec(0, "http", "GET", url, {}, None, False, 200, 30.0)

    def settings(pooling: bool) -> ProbeSettings:
        return ProbeSettings(
            pooling=pooling, http2=http2, tls=tls, ca_file=ca_file, insecure=insecure
        )

    with Probe(settings(False)) as fresh_probe, Probe(settings(True)) as pooled_probe:
        _requests(fresh_probe, spec, warmup)  # the server's accept path and our code
        fresh, fresh_s = _requests(fresh_probe, spec, n)
        pooled, pooled_s = _requests(pooled_probe, spec, n)
    setup_fresh = sum((r.connect_ms or 0) + (r.tls_ms or 0) for r in fresh) / n
    setup_pooled = sum((r.connect_ms or 0) + (r.tls_ms or 0) for r in pooled) / n
    return ConnBench(
        url=url,
        n=n,
        http_version=fresh[0].http_version,
        connect_p50=median(r.connect_ms for r in fresh),
        connect_p95=percentile((r.connect_ms for r in fresh), 95),
        tls_p50=median(r.tls_ms for r in fresh) if tls else None,
        tls_p95=percentile((r.tls_ms for r in fresh), 95) if tls else None,
        fresh_ttfb_p50=median(r.ttfb_ms for r in fresh),
        fresh_total_p50=median(r.total_ms for r in fresh),
        pooled_total_p50=median(r.total_ms for r in pooled[1:]),
        fresh_per_s=n / fresh_s,
        pooled_per_s=n / pooled_s,
        setup_fresh_ms=setup_fresh,
        setup_pooled_ms=setup_pooled,
    )
