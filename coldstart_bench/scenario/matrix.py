"""A scenario's matrix as concrete variants: every combination of factor levels, in file
order, minus the excluded ones."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from coldstart_bench.scenario.schema import Scenario


@dataclass(frozen=True)
class Variant:
    """One combination of factor levels."""

    index: int
    factors: Mapping[str, str]

    @property
    def id(self) -> str:
        return variant_id(self.factors)

    def matches(self, rule: Mapping[str, tuple[str, ...]]) -> bool:
        return all(self.factors.get(k) in levels for k, levels in rule.items())


def variant_id(factors: Mapping[str, str]) -> str:
    if not factors:
        return "default"
    return ",".join(f"{k}={v}" for k, v in factors.items())


def expand_variants(scenario: Scenario) -> list[Variant]:
    """The matrix as a list of variants, excluded combinations removed, in file order."""
    factors = scenario.factors
    names = list(factors)
    rules = scenario.exclude
    variants: list[Variant] = []
    for combo in itertools.product(*(factors[n] for n in names)):
        candidate = Variant(index=len(variants), factors=dict(zip(names, combo, strict=True)))
        if not any(candidate.matches(rule) for rule in rules):
            variants.append(candidate)
    return variants


def filter_variants(
    variants: Sequence[Variant], wanted: Mapping[str, Sequence[str]]
) -> list[Variant]:
    """Variants whose factors take one of the wanted levels for every factor named."""
    return [v for v in variants if all(v.factors.get(k) in vals for k, vals in wanted.items())]
