"""Where a run's cold start goes, per variant: the median of every phase the server reported,
readiness, and the first token; then each request's TTFT by position, which shows what
warm-up (request 1), the prefix cache (every request) and the response cache (a repeated
prompt) change.

Run: ``python benchmarks/phase_breakdown.py RUN_DIR`` (e.g. a ``coldstart run
scenarios/quickstart.toml`` result).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from coldstart_bench import read_run
from coldstart_bench.analysis.stats import median


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    args = parser.parse_args(argv)
    run = read_run(args.run_dir)
    trials = [t for t in run.measured if t.status == "ok"]
    planned = run.variant_order
    seen = {t.variant for t in trials}
    variants = [v for v in planned if v in seen] + sorted(seen - set(planned))  # scenario order
    phase_names: list[str] = []
    for t in trials:
        for p in t.phases:
            if p.phase not in phase_names:
                phase_names.append(p.phase)

    print("Medians in ms. Phases are durations; 'ready' and 'cold TTFT' are from t0 (spawn).")
    head = ["variant", "spawn", *phase_names, "ready", "1st TTFT", "cold TTFT"]
    print(" | ".join(head))
    for variant in variants:
        group = [t for t in trials if t.variant == variant]
        cells = [variant, fmt(median(t.spawn_ms for t in group))]
        for name in phase_names:
            spans = [
                sum(p.duration_ms for p in t.phases if p.phase == name)
                for t in group
                if any(p.phase == name for p in t.phases)
            ]
            cells.append(fmt(median(spans)))
        cells.append(fmt(median(t.ready_ms for t in group)))
        cells.append(fmt(median(t.requests[0].ttft_ms for t in group if t.requests)))
        cells.append(fmt(median(t.cold_ttft_ms for t in group)))
        print(" | ".join(cells))

    count = max((len(t.requests) for t in trials), default=0)
    print()
    print("TTFT by request index (ms, median):")
    print(" | ".join(["variant", *(f"req {i + 1}" for i in range(count))]))
    for variant in variants:
        group = [t for t in trials if t.variant == variant]
        cells = [variant]
        for i in range(count):
            cells.append(fmt(median(t.requests[i].ttft_ms for t in group if len(t.requests) > i)))
        print(" | ".join(cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
