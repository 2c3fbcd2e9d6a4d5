"""How often does the gate cry wolf, how often does it catch a real slowdown, how often
does it say it cannot tell — and how many trials does it spend — fixed-sample against
sequential, on recorded noise.

The noise is real: cold TTFTs of recorded quickstart runs of the reference server, each
divided by its variant's median and pooled into one right-skewed relative-noise sample —
one run on a quiet machine (``benchmarks/data/quickstart-cold-ttft-quiet.json``), one with
every core kept busy by ``shared/tools/busy-run`` (``...-busy.json``), and an earlier run
whose noise was as large (``quickstart-cold-ttft.json``). Each simulated
comparison draws base and new trials from it with replacement, the new side multiplied by
1 + slowdown:

- **fixed**: n trials a side, then the gate's rule (:func:`coldstart_bench.gate.rule.decide`);
- **sequential**: rounds of one trial a side, up to n, looked at from round 5 with the
  group-sequential test (:mod:`coldstart_bench.analysis.sequential`); stopped once decided;
- **naive**: the fixed rule repeated after every round, stopping at the first significant
  slowdown — what optional stopping does to a test not built for it;
- **drift**: the sequential test while the machine's speed switches between 1× and 1.5×
  every 8 trials, both builds interleaved, and — for contrast — the fixed test of two runs
  made one on a quiet and one on a slowed machine, which the calibration check exists for.

One comparison (significance 0.05, max regression 5 %, detectable bound 15 %).
Run: ``python benchmarks/gate_accuracy.py [--sims 1000] [--png docs/images/gate_power.png]``.
Goals: false positives ≤ 5 %, power ≥ 80 % at +10 % (n = 20), and the sequential test's
mean trials ≤ 60 % of the fixed design's at +0 % and at +20 %.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from coldstart_bench.analysis.rank_test import shift, smallest_p
from coldstart_bench.analysis.sequential import MIN_ROUNDS, look
from coldstart_bench.gate.rule import compare, decide

DATA = Path(__file__).parent / "data"
NOISES = {
    "quiet": "quickstart-cold-ttft-quiet.json",
    "busy": "quickstart-cold-ttft-busy.json",
    "earlier": "quickstart-cold-ttft.json",  # a run of 2026-11-25, noisier than the quiet one
}
SLOWDOWNS = (0.0, 0.05, 0.10, 0.20)
ROUNDS = 20
ALPHA, THRESHOLD, BOUND = 0.05, 0.05, 0.15


def relative_noise(path: Path) -> np.ndarray:
    recorded = json.loads(path.read_text())["variants"]
    parts = [np.asarray(v, float) / np.median(v) for v in recorded.values()]
    return np.concatenate(parts)


@dataclass
class Tally:
    regression: int = 0
    passed: int = 0
    inconclusive: int = 0
    trials: list[int] | None = None

    def add(self, verdict: str, rounds: int) -> None:
        if verdict == "regression":
            self.regression += 1
        elif verdict == "pass":
            self.passed += 1
        else:
            self.inconclusive += 1
        self.trials = [*(self.trials or []), rounds]

    def row(self, sims: int) -> str:
        t = np.asarray(self.trials or [0])
        return (
            f"{self.regression / sims:6.1%} {self.passed / sims:6.1%} "
            f"{self.inconclusive / sims:6.1%} {t.mean():6.1f} {np.percentile(t, 95):5.0f}"
        )


def fixed(base: np.ndarray, new: np.ndarray) -> str:
    [d] = decide([compare("v", "m", base, new, ALPHA)], ALPHA, THRESHOLD, BOUND)
    return "pass" if d.verdict == "warning" else d.verdict


def sequential(base: np.ndarray, new: np.ndarray) -> tuple[str, int]:
    for rounds in range(MIN_ROUNDS, ROUNDS + 1):
        s = shift(new[:rounds], base[:rounds], ALPHA)
        seen = look(
            rounds=rounds, last_round=ROUNDS, p_slower=s.p_slower, log_ratio=math.log(s.ratio),
            se_log=s.se_log, alpha=ALPHA, threshold=THRESHOLD, bound=BOUND,
            smallest_p=smallest_p(rounds, rounds),
        )  # fmt: skip
        if seen.decision in ("regression", "pass"):
            return seen.decision, rounds
    return "inconclusive", ROUNDS


def naive(base: np.ndarray, new: np.ndarray) -> tuple[str, int]:
    for rounds in range(MIN_ROUNDS, ROUNDS + 1):
        s = shift(new[:rounds], base[:rounds], ALPHA)
        if s.low > 1 and s.ratio > 1 + THRESHOLD:
            return "regression", rounds
    return "pass", ROUNDS


def drifting(rng: np.random.Generator, noise: np.ndarray, slowdown: float) -> np.ndarray:
    """2 × ROUNDS trials in run order, interleaved (each round's two in random order),
    on a machine 1.5× slower every other block of 8 trials: returns (base, new) rows."""
    speed = np.where((np.arange(2 * ROUNDS) // 8) % 2 == 1, 1.5, 1.0)
    base, new = np.empty(ROUNDS), np.empty(ROUNDS)
    for r in range(ROUNDS):
        first_base = rng.random() < 0.5
        slots = (2 * r, 2 * r + 1) if first_base else (2 * r + 1, 2 * r)
        base[r] = rng.choice(noise) * speed[slots[0]]
        new[r] = rng.choice(noise) * speed[slots[1]] * (1 + slowdown)
    return np.stack([base, new])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sims", type=int, default=1000)
    parser.add_argument("--png", type=Path, help="write the power curves here")
    args = parser.parse_args(argv)
    power: dict[tuple[str, str, float], float] = {}
    mean_trials: dict[tuple[str, str, float], float] = {}
    head = f"{'':>6} {'fails':>6} {'passes':>6} {'can t':>6} {'mean n':>6} {'p95 n':>5}"
    for label, file in NOISES.items():
        noise = relative_noise(DATA / file)
        cv = float(np.std(noise) / np.mean(noise))
        print(f"\n{label} noise: {len(noise)} recorded trials, CV {cv:.1%}")
        for slowdown in SLOWDOWNS:
            rng = np.random.default_rng(int(slowdown * 1000) + len(label))
            tallies = {k: Tally() for k in ("fixed", "sequential", "naive")}
            for _ in range(args.sims):
                base = rng.choice(noise, ROUNDS)
                new = rng.choice(noise, ROUNDS) * (1 + slowdown)
                tallies["fixed"].add(fixed(base, new), ROUNDS)
                tallies["sequential"].add(*sequential(base, new))
                tallies["naive"].add(*naive(base, new))
            print(f"  +{slowdown:.0%} slowdown (n per side: at most {ROUNDS})\n    {head}")
            for name, tally in tallies.items():
                print(f"    {name:>10} {tally.row(args.sims)}")
                power[(label, name, slowdown)] = tally.regression / args.sims
                mean_trials[(label, name, slowdown)] = float(np.mean(tally.trials or [0]))
    print("\ndrift inside a run (1× / 1.5× every 8 trials), quiet noise, interleaved builds:")
    noise = relative_noise(DATA / NOISES["quiet"])
    for slowdown in (0.0, 0.20):
        rng = np.random.default_rng(7 + int(slowdown * 100))
        seq, two_runs = Tally(), Tally()
        for _ in range(args.sims):
            base, new = drifting(rng, noise, slowdown)
            seq.add(*sequential(base, new))
            quiet, slowed = rng.choice(noise, ROUNDS), rng.choice(noise, ROUNDS) * 1.5
            two_runs.add(fixed(quiet, slowed * (1 + slowdown)), ROUNDS)
        print(f"  +{slowdown:.0%}: {head}")
        print(f"    {'sequential':>10} {seq.row(args.sims)}")
        print(
            f"    {'two runs':>10} {two_runs.row(args.sims)}  (base quiet, new on a 1.5× machine)"
        )
    fp = max(power[(label, "sequential", 0.0)] for label in NOISES)
    fp_fixed = max(power[(label, "fixed", 0.0)] for label in NOISES)
    at10 = power[("quiet", "sequential", 0.10)]
    saved = [
        mean_trials[("quiet", "sequential", s)] / mean_trials[("quiet", "fixed", s)]
        for s in (0.0, 0.20)
    ]
    print(
        f"\nfalse positives (worst noise): fixed {fp_fixed:.1%}, sequential {fp:.1%} "
        f"(goal ≤ 5 %): {'pass' if max(fp, fp_fixed) <= 0.05 else 'MISS'}"
    )
    print(
        f"power at +10 %, quiet: sequential {at10:.1%}, fixed "
        f"{power[('quiet', 'fixed', 0.10)]:.1%} (goal ≥ 80 %): "
        f"{'pass' if at10 >= 0.8 else 'MISS'}"
    )
    print(
        f"sequential mean trials vs fixed, quiet: {saved[0]:.0%} at +0 %, {saved[1]:.0%} at "
        f"+20 % (goal ≤ 60 %): {'pass' if max(saved) <= 0.6 else 'MISS'}"
    )
    if args.png:
        _plot(args.png, power)
    return 0


def _plot(path: Path, power: dict[tuple[str, str, float], float]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from coldstart_bench.report.style import OKABE_ITO

    fig, ax = plt.subplots(figsize=(8, 5), layout="constrained")
    styles = {"fixed": "-", "sequential": "--", "naive": ":"}
    for i, label in enumerate(NOISES):
        for name, style in styles.items():
            ax.plot(
                [s * 100 for s in SLOWDOWNS],
                [power[(label, name, s)] * 100 for s in SLOWDOWNS],
                marker="o", linestyle=style, color=OKABE_ITO[i],
                label=f"{name}, {label} machine",
            )  # fmt: skip
    ax.axhline(5, color="grey", linestyle=":", linewidth=1)
    ax.axhline(80, color="grey", linestyle="--", linewidth=1)
    ax.set_xlabel("planted slowdown, %")
    ax.set_ylabel("comparisons failed by the gate, %")
    ax.set_title(
        "Gate power, up to 20 trials a side (significance 0.05, max regression 5 %)\n"
        "noise resampled from recorded reference-server runs; naive = fixed test after every round"
    )
    ax.set_ylim(-2, 102)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


if __name__ == "__main__":
    raise SystemExit(main())
