"""A scenario's matrix as concrete variants: every combination of factor levels, in file
order, minus the excluded ones."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from coldstart_bench.errors import ColdstartError
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


# Beyond this many combinations of levels a matrix is counted, never expanded: ten factors
# of ten levels would take the memory of the machine before any size check could refuse it.
EXPAND_LIMIT = 100_000


def combinations(scenario: Scenario) -> int:
    """How many combinations of levels the matrix has: the number of variants before
    exclude rules, counted without making them."""
    return math.prod(len(levels) for levels in scenario.factors.values())


def iter_variants(scenario: Scenario) -> Iterator[Variant]:
    """The matrix's variants, excluded combinations removed, in file order."""
    factors = scenario.factors
    names = list(factors)
    rules = scenario.exclude
    index = 0
    for combo in itertools.product(*(factors[n] for n in names)):
        candidate = Variant(index=index, factors=dict(zip(names, combo, strict=True)))
        if not any(candidate.matches(rule) for rule in rules):
            yield candidate
            index += 1


def expand_variants(scenario: Scenario) -> list[Variant]:
    """The matrix as a list of variants; refuses one of more than :data:`EXPAND_LIMIT`
    combinations (:class:`MatrixTooLarge`)."""
    size = combinations(scenario)
    if size > EXPAND_LIMIT:
        raise MatrixTooLarge(size)
    return list(iter_variants(scenario))


class MatrixTooLarge(ColdstartError):
    """A matrix too large to expand."""

    def __init__(self, size: int) -> None:
        self.size = size
        super().__init__(
            f"the matrix has {size:,} combinations of levels (more than {EXPAND_LIMIT:,}, "
            "too many to run or list): narrow it with fewer factors or levels"
        )


def filter_variants(
    variants: Sequence[Variant], wanted: Mapping[str, Sequence[str]]
) -> list[Variant]:
    """Variants whose factors take one of the wanted levels for every factor named."""
    return [v for v in variants if all(v.factors.get(k) in vals for k, vals in wanted.items())]
