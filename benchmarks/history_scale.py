"""A history at scale: RUNS synthetic runs × 8 variants, each trial with 10 figures (time
to ready, cold TTFT, CPU to ready, CPU to first token, peak RSS and five start-up phases),
a calibration per trial and a step of +15 % in cold TTFT from the run at 70 %. Adds them
to a fresh SQLite store (one transaction a run, as ``coldstart history add`` does), then
times the commands a CI job runs on it, each a fresh process: ``history add`` of one more
run, ``history changes``, ``history plot`` and ``gate --history``. Done when the store is
added, plotted and gated in < 30 s and < 1 GB.

Run: ``python benchmarks/history_scale.py [--runs 1000] [--trials 3] [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from coldstart_bench.history.entry import entry_of, packed_run
from coldstart_bench.history.store import HistoryStore
from coldstart_bench.results.run_file import RUN_KIND, parse_run_file
from coldstart_bench.results.schema import (
    SCHEMA_VERSION,
    CpuWork,
    MachineSample,
    PhaseRecord,
    ServiceRecord,
    TrialRecord,
)
from coldstart_bench.results.store import RunData, RunWriter, read_run

FACTORS = {"warmup": ("none", "startup"), "pooling": ("on", "off"), "cache": ("on", "off")}
START = datetime(2026, 1, 1, tzinfo=UTC)
PHASES = ("import", "model_read", "deserialize", "to_device", "listen")
VARIANTS = [dict(zip(FACTORS, lv, strict=True)) for lv in itertools.product(*FACTORS.values())]
PLAN = [{"id": ",".join(f"{k}={v}" for k, v in f.items()), "factors": f} for f in VARIANTS]


def trials(rng: random.Random, run_id: str, n: int, slower: float) -> list[TrialRecord]:
    out = []
    for i in range(n * len(VARIANTS)):
        factors = VARIANTS[i % len(VARIANTS)]
        machine = rng.lognormvariate(0, 0.05)
        t, phases = 0.0, []
        for name in PHASES:
            length = (600 if name == "import" else 40) * machine * rng.lognormvariate(0, 0.03)
            phases.append(PhaseRecord("llm", name, t, t + length))
            t += length
        ready = t + 5
        out.append(
            TrialRecord(
                schema_version=SCHEMA_VERSION,
                run_id=run_id,
                trial=i,
                variant=PLAN[i % len(VARIANTS)]["id"],
                factors=factors,
                repetition=i // len(VARIANTS),
                warmup=False,
                status="ok",
                started_at="2026-12-07T00:00:00+00:00",
                t0_ns=0,
                spawn_ms=0.5,
                ready_ms=ready,
                cold_ttft_ms=(ready + 30) * slower,
                wall_ms=ready + 200,
                services=(
                    ServiceRecord(
                        "llm",
                        "ok",
                        spawn_ms=0.5,
                        ready_ms=ready,
                        cpu=CpuWork(
                            "cgroup-v2",
                            ready_ms=0.8 * ready,
                            first_token_ms=0.8 * (ready + 30),
                            peak_rss_mib=300 + rng.uniform(0, 5),
                        ),
                    ),
                ),
                phases=tuple(phases),
                machine=MachineSample(60 * machine, calibration_cpu_ms=55 * machine),
            )
        )
    return out


def metadata(run_id: str, index: int) -> dict[str, object]:
    return {
        "run_id": run_id,
        "scenario": {"name": "history-scale"},
        "plan": {"variants": PLAN},
        "started_at": (START + timedelta(hours=index)).isoformat(),
    }


def timed(argv: list[str]) -> tuple[float, float, int]:
    """(seconds, the command's peak RSS in MiB, exit code)."""
    began = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert child.stderr is not None
    errors = child.stderr.read()
    _pid, status, usage = os.wait4(child.pid, 0)
    took = time.perf_counter() - began
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1, 4):
        print(errors.decode(errors="replace")[-2000:])
    return took, usage.ru_maxrss / 1024, code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--trials", type=int, default=3, help="trials a variant and run")
    parser.add_argument("--keep", type=Path, help="keep the store and plots here")
    args = parser.parse_args(argv)
    rng = random.Random(1)
    tmp = Path(tempfile.mkdtemp(prefix="history-scale-"))
    where = args.keep or tmp
    where.mkdir(parents=True, exist_ok=True)
    store_path = where / "history.sqlite"
    store_path.unlink(missing_ok=True)
    step_at = int(args.runs * 0.7)
    try:
        began = time.perf_counter()
        figures = 0
        with HistoryStore(store_path) as store:
            for i in range(args.runs - 1):
                run_id = f"r{i:04d}"
                run = RunData(  # in memory: adding reads nothing else of a run
                    run_dir=Path(run_id),
                    metadata=parse_run_file(
                        {"kind": RUN_KIND, "status": "complete", **metadata(run_id, i)}, run_id
                    ),
                    trials=trials(rng, run_id, args.trials, 1.15 if i >= step_at else 1.0),
                )
                entry, values = entry_of(run, f"c{i:04d}", "main")
                store.add(entry, values, packed_run(run))
                figures += len(values)
        added = time.perf_counter() - began
        size = store_path.stat().st_size / 2**20
        print(
            f"added {args.runs - 1} runs × {len(VARIANTS)} variants × {args.trials} trials "
            f"({figures:,} figures, {figures // ((args.runs - 1) * len(VARIANTS) * args.trials)}"
            f" a trial) in {added:.1f} s; store {size:.0f} MiB"
        )
        last = where / "last-run"
        shutil.rmtree(last, ignore_errors=True)
        last.mkdir()
        writer = RunWriter(last, metadata("last-run", args.runs))
        for trial in trials(rng, "last-run", args.trials, 1.15 * 1.2):
            writer.append(trial)
        writer.finish(status="complete")
        assert read_run(last).trials
        coldstart = [sys.executable, "-m", "coldstart_bench"]
        steps = {
            "history add (one more run)": [
                *coldstart, "history", "add", str(last), "--history", str(store_path),
                "--commit", f"c{args.runs - 1:04d}", "--branch", "main",
            ],
            "history changes": [*coldstart, "history", "changes", "--history", str(store_path)],
            "history plot": [
                *coldstart, "history", "plot", "--history", str(store_path),
                "--out", str(where / "plots"),
            ],
            "gate --history": [
                *coldstart, "gate", str(last), "--history", str(store_path), "--branch", "main",
            ],
        }  # fmt: skip
        total = added
        for name, command in steps.items():
            took, peak, code = timed(command)
            total += took
            print(f"{name}: {took:.1f} s, peak RSS {peak:,.0f} MiB, exit {code}")
        print(f"all: {total:.1f} s")
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
