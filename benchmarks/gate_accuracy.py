"""How often does the gate cry wolf, and how often does it catch a real slowdown?

The noise is real: the cold TTFTs of a recorded quickstart run of the reference server
(``benchmarks/data/quickstart-cold-ttft.json``, 8 variants × 10 trials), each divided by its
variant's median, pooled into one right-skewed relative-noise sample. Each simulated
comparison draws n base and n new trials from it with replacement; the new side is
multiplied by 1 + slowdown. A/A (slowdown 0) gives the false-positive rate; 5/10/20 %
give the power. The decision is the gate's own rule
(:func:`coldstart_bench.gate.rule.classify`) with a one-sided Mann–Whitney U test, for one
gated comparison.

Run: ``python benchmarks/gate_accuracy.py [--sims 1000] [--png gate_power.png]``.
Goals at the defaults (significance 0.05, max regression 5 %): false positives <= 5 %,
power >= 80 % at +10 % with n = 20.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from coldstart_bench.analysis.stats import mann_whitney_greater
from coldstart_bench.gate.rule import classify

DATA = Path(__file__).parent / "data" / "quickstart-cold-ttft.json"
SIZES = (10, 20, 30)
SLOWDOWNS = (0.0, 0.05, 0.10, 0.20)


def relative_noise(path: Path = DATA) -> np.ndarray:
    recorded = json.loads(path.read_text())["variants"]
    parts = [np.asarray(v, float) / np.median(v) for v in recorded.values()]
    return np.concatenate(parts)


def regression_rate(
    noise: np.ndarray,
    n: int,
    slowdown: float,
    sims: int,
    alpha: float,
    max_regression: float,
    seed: int,
) -> float:
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(sims):
        base = rng.choice(noise, n) * 1000.0
        new = rng.choice(noise, n) * 1000.0 * (1 + slowdown)
        p = mann_whitney_greater(new, base)
        ratio = float(np.median(new) / np.median(base))
        hits += classify(p, ratio, alpha, max_regression) == "regression"
    return hits / sims


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sims", type=int, default=1000)
    parser.add_argument("--png", type=Path, help="write the power curve here")
    args = parser.parse_args(argv)
    noise = relative_noise()
    cv = float(np.std(noise) / np.mean(noise))
    tail = np.percentile(noise, 95)
    print(f"noise: {len(noise)} recorded trials, CV {cv:.1%}, p95/median {tail:.3f}")
    settings = [(0.05, 0.05, "defaults"), (0.05, 0.0, "no threshold"), (0.01, 0.05, "alpha 0.01")]
    table: dict[tuple[str, int, float], float] = {}
    for alpha, threshold, label in settings:
        print(
            f"\n{label}: significance {alpha}, max regression {threshold:.0%} — "
            f"share of {args.sims} simulated comparisons called a regression"
        )
        print(f"{'n per side':>10} " + " ".join(f"{f'+{s:.0%}':>8}" for s in SLOWDOWNS))
        for n in SIZES:
            rates = [
                regression_rate(noise, n, s, args.sims, alpha, threshold, seed=n * 1000 + i)
                for i, s in enumerate(SLOWDOWNS)
            ]
            for s, r in zip(SLOWDOWNS, rates, strict=True):
                table[(label, n, s)] = r
            print(f"{n:>10} " + " ".join(f"{r:8.1%}" for r in rates))
    fp = max(table[("defaults", n, 0.0)] for n in SIZES)
    power = table[("defaults", 20, 0.10)]
    print(
        f"\nat the defaults: false-positive rate (worst n) {fp:.1%} (goal <= 5 %): "
        f"{'pass' if fp <= 0.05 else 'MISS'}; power at +10 %, n=20: {power:.1%} "
        f"(goal >= 80 %): {'pass' if power >= 0.8 else 'MISS'}"
    )
    if args.png:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from coldstart_bench.report.style import OKABE_ITO

        fig, ax = plt.subplots(figsize=(8, 5), layout="constrained")
        for i, n in enumerate(SIZES):
            ax.plot(
                [s * 100 for s in SLOWDOWNS],
                [table[("defaults", n, s)] * 100 for s in SLOWDOWNS],
                marker="o",
                color=OKABE_ITO[i],
                label=f"n = {n} per side",
            )
        ax.axhline(5, color="grey", linestyle=":", label="5 % false positives")
        ax.axhline(80, color="grey", linestyle="--", label="80 % power")
        ax.set_xlabel("planted slowdown of the median, %")
        ax.set_ylabel("runs failed by the gate, %")
        ax.set_title(
            "Gate power at the defaults (significance 0.05, max regression 5 %)\n"
            "noise resampled from a recorded reference-server run"
        )
        ax.set_ylim(-2, 102)
        ax.grid(alpha=0.3)
        ax.legend()
        fig.savefig(args.png, dpi=110)
        print(f"wrote {args.png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
