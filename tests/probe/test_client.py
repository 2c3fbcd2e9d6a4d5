"""Timing real requests: TTFT from SSE content (not the role chunk), pooled vs fresh
connections, TLS phases only with TLS, and clear failures for bad responses."""

from __future__ import annotations

import json
import time

import pytest
from helpers import Server

from coldstart_bench.plan.specs import ProbeSettings, RequestSpec
from coldstart_bench.probe.client import Probe
from coldstart_bench.proc.ports import free_port
from coldstart_bench.results.schema import RequestRecord


def chat(
    port: int,
    index: int = 0,
    *,
    stream: bool = True,
    scheme: str = "http",
    host: str = "127.0.0.1",
    timeout_s: float = 10.0,
    kind: str = "openai-chat",
) -> RequestSpec:
    path = "/v1/chat/completions" if kind == "openai-chat" else "/v1/completions"
    body: dict[str, object] = {"model": "m", "max_tokens": 8, "stream": stream}
    body.update(
        {"messages": [{"role": "user", "content": "hi"}]}
        if kind == "openai-chat"
        else {"prompt": "hi"}
    )
    return RequestSpec(
        index=index,
        kind=kind,
        method="POST",
        url=f"{scheme}://{host}:{port}{path}",  # type: ignore[arg-type]
        headers={"Content-Type": "application/json"},
        body=json.dumps(body).encode(),
        stream=stream,
        expect_status=200,
        timeout_s=timeout_s,
    )


def send_all(settings: ProbeSettings, requests: list[RequestSpec]) -> list[RequestRecord]:
    with Probe(settings) as probe:
        t0 = time.perf_counter_ns()
        return [probe.send(r, t0) for r in requests]


def test_ttft_is_the_first_content_chunk_not_the_role_chunk(toy: Server):
    port = toy("--ttft-ms", "150", "--itl-ms", "20", "--tokens", "4")
    [record] = send_all(ProbeSettings(), [chat(port)])
    assert record.status == "ok", record.error
    # Headers and the role-only chunk come at once; the first token only after 150 ms.
    assert record.ttfb_ms < 150
    assert record.ttft_ms >= 150
    assert record.tokens == 4
    assert record.usage_tokens == 4
    assert len(record.itl_ms) == 3 and all(gap >= 0 for gap in record.itl_ms)
    # The server sends the last token 150 + 3 × 20 ms after the request reached it at the
    # earliest, so the probe cannot have seen it sooner after the request started. (One
    # gap alone guarantees nothing: a token read late makes the next gap short.)
    assert record.ttft_ms + sum(record.itl_ms) >= 150 + 3 * 20
    assert record.total_ms >= record.ttft_ms + sum(record.itl_ms)


def test_pooled_requests_reuse_one_connection(toy: Server):
    port = toy()
    records = send_all(ProbeSettings(pooling=True), [chat(port, i) for i in range(3)])
    assert [r.reused for r in records] == [False, True, True]
    assert records[0].connect_ms is not None
    assert [r.connect_ms for r in records[1:]] == [None, None]


def test_without_pooling_every_request_connects_afresh(toy: Server):
    port = toy()
    records = send_all(ProbeSettings(pooling=False), [chat(port, i) for i in range(3)])
    assert [r.reused for r in records] == [False, False, False]
    assert all(r.connect_ms is not None and r.connect_ms > 0 for r in records)


def test_tls_phase_is_timed_only_over_tls(toy: Server, trustme_certs):
    plain = toy()
    secure = toy("--tls-cert", str(trustme_certs.cert), "--tls-key", str(trustme_certs.key))
    [http] = send_all(ProbeSettings(), [chat(plain)])
    [https] = send_all(
        ProbeSettings(tls=True, ca_file=str(trustme_certs.ca)), [chat(secure, scheme="https")]
    )
    assert http.status == https.status == "ok"
    assert http.tls_ms is None
    assert https.tls_ms is not None and https.tls_ms > 0
    # The handshake is done before the request is sent, so it is part of the time to headers.
    assert https.ttfb_ms > https.tls_ms


def test_tls_verification_stays_on(toy: Server, trustme_certs):
    secure = toy("--tls-cert", str(trustme_certs.cert), "--tls-key", str(trustme_certs.key))
    [untrusted] = send_all(ProbeSettings(tls=True), [chat(secure, scheme="https")])
    assert untrusted.status == "failed"
    assert "CERTIFICATE_VERIFY_FAILED" in untrusted.error
    [insecure] = send_all(ProbeSettings(tls=True, insecure=True), [chat(secure, scheme="https")])
    assert insecure.status == "ok"


def test_a_host_name_is_resolved_and_timed_as_dns(toy: Server, trustme_certs):
    secure = toy("--tls-cert", str(trustme_certs.cert), "--tls-key", str(trustme_certs.key))
    [record] = send_all(
        ProbeSettings(tls=True, ca_file=str(trustme_certs.ca)),
        [chat(secure, scheme="https", host="localhost")],
    )
    assert record.status == "ok", record.error
    assert record.dns_ms is not None and record.dns_ms >= 0
    assert record.tls_ms is not None  # the certificate was verified for "localhost"


def test_non_streaming_and_completions_responses(toy: Server):
    port = toy("--tokens", "3")
    records = send_all(
        ProbeSettings(),
        [
            chat(port, stream=False),
            chat(port, 1, kind="openai-completions"),
            chat(port, 2, stream=False, kind="openai-completions"),
        ],
    )
    assert [r.status for r in records] == ["ok", "ok", "ok"]
    assert records[0].usage_tokens == 3 and records[0].ttft_ms == pytest.approx(
        records[0].total_ms, abs=1.0
    )
    assert records[1].tokens == 3


def test_plain_http_requests(toy: Server):
    port = toy()
    spec = RequestSpec(0, "http", "GET", f"http://127.0.0.1:{port}/", {}, None, False, 200, 5.0)
    [record] = send_all(ProbeSettings(), [spec])
    assert record.status == "ok"
    assert record.bytes == len(b"hello from toy_server\n")
    assert record.tokens is None


def test_http_errors_malformed_streams_and_hangs_are_reported(toy: Server):
    failing = toy("--status", "500")
    malformed = toy("--malformed-sse")
    hanging = toy("--hang-after-tokens", "2")
    records = send_all(
        ProbeSettings(),
        [chat(failing), chat(malformed), chat(hanging, timeout_s=0.5)],
    )
    assert records[0].status == "failed"
    assert (
        records[0].error.startswith("HTTP 500 (expected 200)")
        and "planted failure" in records[0].error
    )
    assert records[1].status == "failed" and "not JSON" in records[1].error
    assert records[2].status == "timeout"
    assert "no complete answer within 0.5 s" in records[2].error
    # what arrived before the hang is kept
    assert records[2].tokens == 2 and records[2].ttft_ms is not None and records[2].bytes > 0


def test_timeout_s_bounds_a_stream_that_never_ends(toy: Server):
    endless = toy("--endless-stream", "--itl-ms", "50")
    began = time.perf_counter()
    [record] = send_all(ProbeSettings(), [chat(endless, timeout_s=1.0, kind="openai-completions")])
    took = time.perf_counter() - began
    assert record.status == "timeout", record
    assert 1.0 <= took < 2.0  # ends at the deadline (every read alone was short)
    assert "timeout_s bounds the whole request" in record.error
    assert record.tokens and record.tokens >= 5 and record.ttft_ms is not None


def test_a_silent_server_is_cut_at_the_deadline_not_a_read_later(toy: Server):
    silent = toy("--hang-after-tokens", "0")
    began = time.perf_counter()
    [record] = send_all(ProbeSettings(), [chat(silent, timeout_s=0.7)])
    assert record.status == "timeout" and time.perf_counter() - began < 1.7
    assert record.tokens == 0 and record.ttft_ms is None


def test_a_refused_connection_is_a_failure_not_a_crash():
    port = free_port()  # nothing listens there
    [record] = send_all(ProbeSettings(), [chat(port)])
    assert record.status == "failed"
    assert record.error.startswith("ConnectError")


def test_connbench_shows_what_tls_and_a_pool_cost(toy: Server, trustme_certs):
    from coldstart_bench.analysis.connbench import connbench_figures
    from coldstart_bench.probe.connbench import measure_connections

    port = toy("--tls-cert", str(trustme_certs.cert), "--tls-key", str(trustme_certs.key))
    url = f"https://127.0.0.1:{port}/health"
    samples = measure_connections(url, 20, ca_file=str(trustme_certs.ca), warmup=2)
    assert len(samples.fresh) == len(samples.pooled) == 20
    assert all(not r.reused for r in samples.fresh) and all(r.reused for r in samples.pooled[1:])
    result = connbench_figures(samples)
    assert result.tls_p50 is not None and result.connect_p50 is not None
    assert 0 < result.tls_share < 1  # type: ignore[operator]
    assert result.setup_pooled_ms < result.setup_fresh_ms
    assert result.pool_saving > 0.5  # one handshake for 20 requests instead of 20
