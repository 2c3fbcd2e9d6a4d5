"""``coldstart connbench URL``: requests to one endpoint on fresh connections and on one
pooled connection, timed by the same probe ``coldstart run`` uses (the figures are
:mod:`coldstart_bench.analysis.connbench`'s)."""

from __future__ import annotations

import time

from coldstart_bench.errors import ColdstartError
from coldstart_bench.plan.specs import ProbeSettings, RequestSpec
from coldstart_bench.probe.client import Probe
from coldstart_bench.results.schema import ConnectionSamples, RequestRecord


def _requests(probe: Probe, spec: RequestSpec, n: int) -> tuple[list[RequestRecord], float]:
    records = []
    began = time.perf_counter()
    for i in range(n):
        record = probe.send(spec, time.perf_counter_ns())
        if record.status != "ok":
            raise ColdstartError(f"{spec.url}: request {i + 1} failed: {record.error}")
        records.append(record)
    return records, time.perf_counter() - began


def measure_connections(
    url: str,
    n: int = 200,
    *,
    http2: bool = False,
    ca_file: str | None = None,
    insecure: bool = False,
    warmup: int = 5,
) -> ConnectionSamples:
    """``n`` requests each on a fresh connection, then ``n`` over one pooled connection
    (after ``warmup`` requests that warm the server's accept path and our code)."""
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
    return ConnectionSamples(url, n, tls, fresh, fresh_s, pooled, pooled_s)
