"""How long `coldstart report` takes on a large run: a run directory with 500 trials × 4
requests (2,000 request records), 16 variants (four two-level factors) and six server
phases per trial, written with the same writer `coldstart run` uses. The records are made
up (seeded); only the report's speed is measured here. Goal: under 10 s.

With ``--load N``, every trial is a load trial of N requests (half cold, half warm) instead:
``--trials 50 --load 2000`` is 100,000 request records (goal: under 20 s and 2 GB).

Run: ``python benchmarks/report_speed.py [--trials 500] [--requests 4] [--load N]``.
"""

from __future__ import annotations

import argparse
import itertools
import random
import resource
import tempfile
import time
from pathlib import Path

from coldstart_bench.report.build import build_report
from coldstart_bench.results.schema import (
    SCHEMA_VERSION,
    LoadRecord,
    PhaseRecord,
    RequestRecord,
    TrialRecord,
)
from coldstart_bench.results.store import RunWriter
from coldstart_bench.scenario.schema import LoadConfig, SloConfig

FACTORS = {
    "warmup": ("none", "startup"),
    "pooling": ("on", "off"),
    "cache": ("on", "off"),
    "tls": ("on", "off"),
}
PHASES = ("import", "model_read", "deserialize", "to_device", "listen", "http_start")


# An SLO of 100 ms and a rolling window of 20 requests; the rest as [load]'s defaults.
LOAD_SETTINGS = LoadConfig(
    pattern="poisson", rate=10, requests=40, slo=SloConfig(ttft_ms=100.0), steady_window=20
).settings()


def load_records(rng: random.Random, n: int, ready: float) -> tuple[LoadRecord, ...]:
    """n load requests at 100 req/s from spawn, the first phase cold (held until ready),
    the second warm."""
    records = []
    for phase, origin in (("cold", 0.0), ("warm", ready + 10_000.0)):
        for i in range(n // 2):
            arrival = origin + i * 10.0
            sent = max(arrival, ready) if phase == "cold" else arrival
            ttft = rng.uniform(5, 40) * (3 if phase == "cold" and arrival < ready + 500 else 1)
            request = RequestRecord(
                index=i,
                status="ok",
                start_ms=sent,
                status_code=200,
                reused=i > 0,
                ttfb_ms=ttft / 2,
                ttft_ms=ttft,
                total_ms=ttft * 3,
                tokens=8,
                itl_ms=tuple(rng.uniform(1, 3) for _ in range(7)),
            )
            records.append(
                LoadRecord(i, phase, arrival, request, held=sent > arrival)  # type: ignore[arg-type]
            )
    return tuple(records)


def make_run(run_dir: Path, trials: int, requests: int, load: int = 0) -> None:
    rng = random.Random(0)
    variants = [
        dict(zip(FACTORS, levels, strict=True)) for levels in itertools.product(*FACTORS.values())
    ]
    plan = [{"id": ",".join(f"{k}={v}" for k, v in f.items()), "factors": f} for f in variants]
    writer = RunWriter(
        run_dir,
        {"run_id": run_dir.name, "scenario": {"name": "report-speed"}, "plan": {"variants": plan}},
    )
    for n in range(trials):
        factors = variants[n % len(variants)]
        t = 0.0
        phases = []
        for name in PHASES:
            length = rng.uniform(1, 900 if name == "import" else 30)
            phases.append(
                PhaseRecord("llm", name, t, t + length, 600_000_000 if "model" in name else None)
            )
            t += length
        ready = t + rng.uniform(0, 5)
        reqs = []
        start = ready
        for i in range(requests):
            reused = factors["pooling"] == "on" and i > 0
            ttft = rng.uniform(5, 40)
            reqs.append(
                RequestRecord(
                    index=i,
                    status="ok",
                    start_ms=start,
                    status_code=200,
                    reused=reused,
                    connect_ms=None if reused else rng.uniform(0.05, 0.3),
                    tls_ms=rng.uniform(1, 3) if factors["tls"] == "on" and not reused else None,
                    ttfb_ms=ttft / 2,
                    ttft_ms=ttft,
                    total_ms=ttft * 3,
                    tokens=16,
                    itl_ms=tuple(rng.uniform(1, 3) for _ in range(15)),
                )
            )
            start += ttft * 3
        writer.append(
            TrialRecord(
                schema_version=SCHEMA_VERSION,
                run_id=run_dir.name,
                trial=n,
                variant=plan[n % len(variants)]["id"],
                factors=factors,
                repetition=n // len(variants),
                warmup=False,
                status="ok",
                started_at="2026-11-25T00:00:00+00:00",
                t0_ns=0,
                spawn_ms=0.5,
                ready_ms=ready,
                cold_ttft_ms=ready + reqs[0].ttft_ms,
                teardown_ms=3.0,
                wall_ms=start + 5,
                requests=() if load else tuple(reqs),
                load=load_records(rng, load, ready) if load else (),
                phases=tuple(phases),
                load_settings=LOAD_SETTINGS if load else None,
            )
        )
    writer.finish(status="complete")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--requests", type=int, default=4)
    parser.add_argument("--load", type=int, default=0, help="load requests per trial instead")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        run_dir.mkdir()
        make_run(run_dir, args.trials, args.requests, args.load)
        size = (run_dir / "trials.jsonl").stat().st_size
        began = time.perf_counter()
        report = build_report(run_dir)
        seconds = time.perf_counter() - began
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        records = args.trials * (args.load or args.requests)
        goal = 20 if args.load else 10
        verdict = "pass" if seconds < goal and peak < 2048 else "MISS"
        print(
            f"{records:,} request records, {args.trials} trials, 16 variants; "
            f"trials.jsonl {size / 1e6:.1f} MB"
        )
        print(
            f"report (html, md, csv, png; {len(report.files)} files): {seconds:.2f} s, "
            f"peak memory {peak:,.0f} MB  goal < {goal} s and 2 GB: {verdict}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
