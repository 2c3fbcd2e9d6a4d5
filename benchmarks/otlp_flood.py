"""A hostile span sender against the trial's OTLP receiver: 1 GB of valid protobuf span
exports (128 × 8 MB, each just under the receiver's body limit, ~60,000 spans apiece) from
another process, then garbage. Measured: the receiver's peak memory beyond what it held
before, the time it took, and what it kept and said. Goal (issue 34): under 200 MB extra.

Run: ``python benchmarks/otlp_flood.py [--mb 1024]``.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time

from coldstart_bench.probe.otlp import MAX_BODY, OtlpReceiver

SENDER = r"""
import sys, urllib.request
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
url, total = sys.argv[1], int(sys.argv[2]) << 20
request = ExportTraceServiceRequest()
spans = request.resource_spans.add().scope_spans.add().spans
def add():
    span = spans.add()
    span.trace_id, span.span_id, span.name = b"\x01" * 16, b"\x02" * 8, "flood " * 10
    span.start_time_unix_nano, span.end_time_unix_nano = 10**18, 10**18 + 5
add()
for _ in range((int(sys.argv[3]) - 4096) // request.ByteSize() - 1):
    add()
body = request.SerializeToString()
sent = 0
while sent < total:
    urllib.request.urlopen(urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/x-protobuf"})).read()
    sent += len(body)
print(len(spans), len(body), sent)
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=1024, help="megabytes to send")
    args = parser.parse_args(argv)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    began = time.perf_counter()
    with OtlpReceiver() as receiver:
        done = subprocess.run(
            [sys.executable, "-c", SENDER, receiver.traces_url, str(args.mb), str(MAX_BODY)],
            capture_output=True,
            text=True,
            check=True,
        )
    took = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    per_body, size, sent = map(int, done.stdout.split())
    mb = 2**20
    print(f"sent {sent / mb:,.0f} MB in bodies of {size / mb:.1f} MB ({per_body:,} spans each)")
    print(
        f"receiver: {took:.1f} s; peak memory {peak - before:,.0f} MB over the {before:,.0f} MB "
        f"before (goal < 200 MB): {'pass' if peak - before < 200 else 'MISS'}"
    )
    print(f"kept {len(receiver.received()):,} spans; notes: {receiver.notes()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
