"""The order of a run's trials: warm-up rounds first, then measured rounds, each a fresh
shuffle of the variants; and the deal of a plan into shards."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from coldstart_bench.errors import ColdstartError
from coldstart_bench.scenario.matrix import Variant


@dataclass(frozen=True)
class TrialSpec:
    index: int  # position in the run
    variant: Variant
    repetition: int  # 0-based; warm-up trials count their own repetitions
    warmup: bool


def plan_trials(
    variants: Sequence[Variant], repetitions: int, warmup_trials: int, seed: int
) -> list[TrialSpec]:
    """Warm-up trials first, then the measured ones in rounds: each round runs every variant
    once in a fresh random order. Rounds keep the variants' trials spread evenly over the
    run, so slow drift of the machine (thermal, other load) hits all variants alike; the
    shuffle inside a round stops any variant from always following the same neighbour."""
    rng = random.Random(seed)
    order: list[tuple[Variant, int, bool]] = []
    for warmup, rounds in ((True, warmup_trials), (False, repetitions)):
        for r in range(rounds):
            block = list(variants)
            rng.shuffle(block)
            order.extend((v, r, warmup) for v in block)
    return [TrialSpec(i, v, r, w) for i, (v, r, w) in enumerate(order)]


def shard_trials(plan: Sequence[TrialSpec], shard: int, shards: int) -> list[TrialSpec]:
    """Shard ``shard`` (1-based) of ``shards``: trials are dealt out round-robin over a
    fixed ordering (variant, warm-up first, repetition), so every shard gets its share of
    every variant and the shards together are exactly the plan. The trials keep their
    indexes and their order within the plan."""
    canonical = sorted(plan, key=lambda t: (t.variant.index, not t.warmup, t.repetition))
    mine = {id(t) for k, t in enumerate(canonical) if k % shards == shard - 1}
    return [t for t in plan if id(t) in mine]


# A run larger than this is almost always a matrix written by mistake (five factors of ten
# levels is 100,000 variants, a run of days); it needs --allow-large.
MAX_VARIANTS = 1_000
MAX_TRIALS = 20_000


def check_size(variants: int, trials: int, allow_large: bool = False) -> None:
    """Refuse a run over :data:`MAX_VARIANTS` variants or :data:`MAX_TRIALS` trials, saying
    how to make it smaller, unless ``allow_large``."""
    if allow_large or (variants <= MAX_VARIANTS and trials <= MAX_TRIALS):
        return
    what = (
        f"{variants:,} variants (more than {MAX_VARIANTS:,})"
        if variants > MAX_VARIANTS
        else f"{trials:,} trials (more than {MAX_TRIALS:,})"
    )
    raise ColdstartError(
        f"this run would have {what}. Narrow it with [matrix] exclude rules or "
        "--variant FACTOR=LEVEL, fewer levels or repetitions — or pass --allow-large if "
        "you mean it"
    )
