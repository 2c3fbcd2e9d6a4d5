"""The gate on a busy shared runner: how often it fails an unchanged build, how often it
catches +10 % more CPU work, and how many trials it spends — judging cold TTFT alone, CPU
work alone, and the two together as the gate does (gate/measures.py).

The noise is real: each recorded trial of the reference server's quickstart keeps its cold
TTFT, its CPU time to the first token and the wall and CPU time of the calibration before
it together (so what the machine does to all at once is kept), divided by its variant's
medians — runs on a quiet machine, with
every core kept busy, and with the load switched on and off every 20 s
(``benchmarks/data/quickstart-wall-cpu-*.json``; ``--record RUN...`` makes them from runs).
A planted regression is more CPU work: both times of the new side × (1 + slowdown), as for
a start-up that is CPU-bound.

Each comparison: the sequential A/B test, up to 20 rounds (40 trials), as
``coldstart run --sequential`` runs it, with significance 0.05 over the comparisons made,
max regression 5 %, detectable bound 10 % — with each trial read at the typical machine
speed by its calibration (``per-trial``: yes, the gate's default) and as
measured (no).
Run: ``python benchmarks/gate_accuracy_cpu.py [--sims 1000]``.
Goals: unchanged builds failed ≤ 5 %; +10 % CPU work caught ≥ 80 % within 40 trials.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
from pathlib import Path

import numpy as np

from coldstart_bench.analysis.rank_test import smallest_p
from coldstart_bench.analysis.sequential import MIN_ROUNDS, look
from coldstart_bench.gate.measures import combine
from coldstart_bench.gate.rule import Comparison, compare, decide

DATA = Path(__file__).parent / "data"
NOISES = ("quiet", "busy", "drift")
ROUNDS = 20
ALPHA, THRESHOLD, BOUND = 0.05, 0.05, 0.10
MEASURES = {"wall": ("cold_ttft_ms",), "cpu": ("cpu_ttft_ms",),
            "both": ("cold_ttft_ms", "cpu_ttft_ms")}  # fmt: skip


def record(runs: list[Path], out: Path) -> None:
    """Rows (cold TTFT, CPU to first token, calibration wall, calibration CPU) of each run's
    measured ok trials."""
    from coldstart_bench.results.store import read_run

    pairs: dict[str, list[tuple[float, float, float, float]]] = {}
    for run in runs:
        for t in read_run(run).measured:
            cpu = sum(s.cpu.first_token_ms for s in t.services if s.cpu and s.cpu.first_token_ms)
            m = t.machine
            if t.status == "ok" and t.cold_ttft_ms and cpu and m and m.calibration_cpu_ms:
                row = (t.cold_ttft_ms, cpu, m.calibration_ms, m.calibration_cpu_ms)
                pairs.setdefault(t.variant, []).append(row)
    out.write_text(json.dumps({"source": [str(r) for r in runs], "variants": pairs}, indent=1))


def relative(path: Path) -> np.ndarray:
    """Rows (wall, cpu, calibration wall, calibration cpu), each divided by its variant's
    medians."""
    rows = []
    for values in json.loads(path.read_text())["variants"].values():
        a = np.asarray(values, float)
        rows.append(a / np.median(a, axis=0))
    return np.concatenate(rows)


def sequential(
    base: np.ndarray, new: np.ndarray, measures: tuple[str, ...], per_trial: bool
) -> tuple[str, int]:
    """The gate's sequential looks over ``measures`` (columns 0 wall, 1 cpu; their
    calibrations 2 and 3)."""
    columns = {"cold_ttft_ms": 0, "cpu_ttft_ms": 1}
    m = len(measures)

    def made(name: str, rounds: int) -> Comparison:
        i = columns[name]
        b, n = base[:rounds], new[:rounds]
        calibrations = (b[:, i + 2], n[:, i + 2]) if per_trial else None
        return compare("v", name, b[:, i], n[:, i], ALPHA / m, calibrations)

    for rounds in range(MIN_ROUNDS, ROUNDS + 1):
        seen = []
        for name in measures:
            s = made(name, rounds).shift
            seen.append(
                look(
                    rounds=rounds,
                    last_round=ROUNDS,
                    p_slower=s.p_slower,
                    log_ratio=math.log(s.ratio),
                    se_log=s.se_log,
                    alpha=ALPHA / m,
                    threshold=THRESHOLD,
                    bound=BOUND,
                    smallest_p=smallest_p(rounds, rounds),
                ).decision
            )
        if "regression" in seen:
            return "regression", 2 * rounds
        if all(v == "pass" for v in seen):
            return "pass", 2 * rounds
    # the last look: each as the fixed rule says, the pair combined as the gate does
    last = [made(name, ROUNDS) for name in measures]
    verdicts = [d.verdict for d in combine(decide(last, ALPHA, THRESHOLD, BOUND))]
    if "regression" in verdicts:
        return "regression", 2 * ROUNDS
    if "inconclusive" in verdicts:
        return "inconclusive", 2 * ROUNDS
    return "pass", 2 * ROUNDS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sims", type=int, default=1000)
    parser.add_argument("--record", nargs="+", type=Path, metavar="RUN")
    parser.add_argument("--as", dest="name", choices=NOISES)
    args = parser.parse_args(argv)
    if args.record:
        record(args.record, DATA / f"quickstart-wall-cpu-{args.name}.json")
        return 0
    heads = f"{'A/A fails':>9} {'A/A passes':>10} {'+10 % found':>11} {'+20 % found':>11}"
    print(f"{'noise':<7} {'CV wall':>8} {'CV cpu':>7} {'judged on':<10} {'per-trial':<9} "
          f"{heads} {'trials':>6}")  # fmt: skip
    for label in NOISES:
        noise = relative(DATA / f"quickstart-wall-cpu-{label}.json")
        cv = noise.std(axis=0) / noise.mean(axis=0)
        for (judged, measures), per_trial in itertools.product(MEASURES.items(), (False, True)):
            cells = []
            trials: list[int] = []
            for slowdown in (0.0, 0.10, 0.20):
                rng = np.random.default_rng(11 + int(slowdown * 100))
                verdicts = []
                for _ in range(args.sims):
                    base = noise[rng.integers(len(noise), size=ROUNDS)]
                    new = noise[rng.integers(len(noise), size=ROUNDS)].copy()
                    new[:, :2] *= 1 + slowdown
                    verdict, used = sequential(base, new, measures, per_trial)
                    verdicts.append(verdict)
                    trials.append(used)
                found = verdicts.count("regression") / args.sims
                cells.append(found)
                if slowdown == 0.0:
                    cells.append(verdicts.count("pass") / args.sims)
            yes = "yes" if per_trial else "no"
            print(f"{label:<7} {cv[0]:>8.1%} {cv[1]:>7.1%} {judged:<10} {yes:<9} {cells[0]:>9.1%} "
                  f"{cells[1]:>10.1%} {cells[2]:>11.1%} {cells[3]:>11.1%} "
                  f"{np.mean(trials):>6.1f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
