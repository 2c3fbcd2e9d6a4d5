"""A run's span phases beside its log phases, on the same trials: for each start-up span
(one that began before the service was ready), the log phase it overlaps most, and the
median durations of both over the measured ok trials — the table in the vLLM guide.

Run: ``python benchmarks/span_phases.py RUN_DIR``.
"""

from __future__ import annotations

import argparse
import statistics
from collections import defaultdict

from coldstart_bench.results.schema import PhaseRecord
from coldstart_bench.results.store import read_run


def overlap(a: PhaseRecord, b: PhaseRecord) -> float:
    return max(0.0, min(a.end_ms, b.end_ms) - max(a.start_ms, b.start_ms))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir")
    args = parser.parse_args(argv)
    run = read_run(args.run_dir)
    trials = [t for t in run.trials if t.status == "ok" and not t.warmup]
    rows: dict[tuple[int, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    partner: dict[tuple[int, str], str] = {}
    order: list[tuple[int, str]] = []
    for trial in trials:
        ready = trial.ready_ms or float("inf")
        logged = [p for p in trial.phases if p.source is None]
        seen: set[tuple[int, str]] = set()
        for span in sorted(
            (p for p in trial.phases if p.source == "otel" and p.start_ms < ready),
            key=lambda p: p.start_ms,
        ):
            key = (span.depth or 0, span.phase)
            if key in seen:  # the same span name twice at one depth: the first
                continue
            seen.add(key)
            if key not in order:
                order.append(key)
            rows[key]["span"].append(span.duration_ms)
            best = max(logged, key=lambda p: overlap(span, p), default=None)
            if best is not None and overlap(span, best) > 0:
                partner.setdefault(key, best.phase)
                if best.phase == partner[key]:
                    rows[key]["log"].append(best.duration_ms)
                    rows[key]["start"].append(span.start_ms)
    print(f"{run.metadata.run_id}: {len(trials)} measured ok trial(s); medians in ms")
    print("| span (depth) | span | log phase it overlaps most | log phase | span start |")
    print("|---|---:|---|---:|---:|")
    for key in order:
        depth, name = key
        figures = rows[key]
        log = partner.get(key, "—")
        log_ms = f"{statistics.median(figures['log']):,.0f}" if figures["log"] else "—"
        start = f"{statistics.median(figures['start']):,.0f}" if figures["start"] else "—"
        print(
            f"| {'· ' * depth}{name} ({depth}) | {statistics.median(figures['span']):,.0f} "
            f"| {log} | {log_ms} | {start} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
