"""How long `coldstart report` takes on a large run: a run directory with 500 trials × 4
requests (2,000 request records), 16 variants (four two-level factors) and six server
phases per trial, written with the same writer `coldstart run` uses. The records are made
up (seeded); only the report's speed is measured here. Goal: under 10 s.

With ``--load N``, every trial is a load trial of N requests (half cold, half warm) instead:
``--trials 50 --load 2000`` is 100,000 request records (goal: under 20 s and 2 GB).

With ``--trials`` past 20,000 the first 10,000 trials are made as above and the rest are
copies of them renumbered (only the speed is measured, and making a million records one
by one takes longer than reading them); the report and ``coldstart gate RUN --factor
warmup --baseline-level none`` then each run as a process of their own, their time and peak
memory measured apart. Goal (issue 32): a million trials in under 60 s and 2 GB each.

Run: ``python benchmarks/report_speed.py [--trials 500] [--requests 4] [--load N]``.
"""

from __future__ import annotations

import argparse
import itertools
import random
import re
import resource
import subprocess
import sys
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


BLOCK = 10_000
TRIAL = re.compile(rb'("trial"):(\d+)')
REPETITION = re.compile(rb'("repetition"):(\d+)')


def copy_block(run_dir: Path, trials: int) -> None:
    """Grow trials.jsonl from its first BLOCK trials to ``trials``, each copy renumbered."""
    path = run_dir / "trials.jsonl"
    block = path.read_bytes().splitlines(keepends=True)
    per_variant = BLOCK // len(FACTORS) ** 2
    with open(path, "ab") as out:
        for start in range(BLOCK, trials, BLOCK):
            shift = (start, start // BLOCK * per_variant)
            for line in block[: trials - start]:
                for pattern, by in zip((TRIAL, REPETITION), shift, strict=True):
                    line = pattern.sub(lambda m, by=by: b"%s:%d" % (m[1], int(m[2]) + by), line, 1)
                out.write(line)


def timed(args: list[str]) -> tuple[float, float, int]:
    """Seconds, peak resident MiB and exit status of a command run alone. The peak is of
    the command's whole process tree (the processes that read parts of a large file
    included): their resident memory summed, sampled every 50 ms."""
    import psutil

    with tempfile.TemporaryFile() as said:
        began = time.perf_counter()
        child = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=said)
        tree_peak = 0.0
        watched = psutil.Process(child.pid)
        while child.poll() is None:
            try:
                members = [watched, *watched.children(recursive=True)]
                tree_peak = max(tree_peak, sum(_rss(p) for p in members))
            except psutil.Error:
                pass
            time.sleep(0.05)
        seconds = time.perf_counter() - began
        if child.returncode not in (0, 1, 4):
            said.seek(0)
            print(said.read().decode(errors="replace"))
    return seconds, tree_peak / 2**20, child.returncode


def _rss(process: object) -> int:
    import psutil

    try:
        return process.memory_info().rss  # type: ignore[attr-defined]
    except psutil.Error:
        return 0


def large(run_dir: Path, trials: int) -> None:
    make_run(run_dir, BLOCK, 4)
    copy_block(run_dir, trials)
    size = (run_dir / "trials.jsonl").stat().st_size
    print(f"{trials:,} trials, 16 variants, 4 requests each; trials.jsonl {size / 1e9:.2f} GB")
    out = run_dir.parent / "report"
    commands = {
        "report": [sys.executable, "-m", "coldstart_bench", "report", str(run_dir),
                   "--out", str(out)],
        "gate": [sys.executable, "-m", "coldstart_bench", "gate", str(run_dir),
                 "--factor", "warmup", "--baseline-level", "none"],
    }  # fmt: skip
    for name, args in commands.items():
        seconds, peak, code = timed(args)
        verdict = "pass" if seconds < 60 and peak < 2048 and code in (0, 1, 4) else "MISS"
        print(
            f"{name}: {seconds:.1f} s, peak memory {peak:,.0f} MiB, exit {code}  "
            f"goal < 60 s and 2 GB: {verdict}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--requests", type=int, default=4)
    parser.add_argument("--load", type=int, default=0, help="load requests per trial instead")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        run_dir.mkdir()
        if args.trials > 2 * BLOCK and not args.load:
            large(run_dir, args.trials)
            return 0
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
