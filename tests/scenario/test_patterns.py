"""Load patterns: each one module of coldstart_bench/scenario/patterns/, found by name; the
schema checks a [load] table against its pattern's own description."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from coldstart_bench.scenario.patterns import PATTERNS, pattern
from coldstart_bench.scenario.schema import LoadConfig


def test_every_pattern_module_is_found_and_says_how_it_is_drawn():
    assert set(PATTERNS) == {"burst", "concurrent", "constant", "poisson"}
    assert pattern("burst").panel == "ranked" and pattern("burst").all_at_once
    assert {pattern(n).panel for n in ("constant", "poisson", "concurrent")} == {"timeline"}


def test_an_unknown_pattern_is_refused_with_the_nearest_name():
    with pytest.raises(
        ValidationError, match=r"unknown pattern 'poison' \(did you mean 'poisson'\?\)"
    ):
        LoadConfig(pattern="poison", rate=1, requests=1)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"pattern": "constant", "requests": 5}, "rate: pattern = 'constant' needs a rate"),
        ({"pattern": "burst"}, "requests: pattern = 'burst' needs requests"),
        ({"pattern": "burst", "requests": 4, "duration_s": 1}, "a burst has no duration"),
        ({"pattern": "poisson", "rate": 1}, "give requests, duration_s or until_after_ready_s"),
        ({"pattern": "burst", "requests": 4, "rate": 3}, "rate: applies only to pattern = 'constant' or 'poisson'"),
        ({"pattern": "poisson", "rate": 1, "requests": 3, "concurrency": 2}, "concurrency: applies only to pattern = 'concurrent'"),
    ],
)  # fmt: skip
def test_a_table_is_checked_against_its_own_pattern(table, message):
    from coldstart_bench.scenario.messages import PathError

    with pytest.raises((ValidationError, PathError)) as caught:
        LoadConfig(**table)
    key, _, words = message.partition(": ")
    text = str(caught.value)
    assert words in text if words else key in text


def test_each_pattern_words_its_traffic():
    words = {
        name: pattern(name).describe(LoadConfig(**table).settings())
        for name, table in {
            "constant": {"pattern": "constant", "rate": 20, "requests": 4},
            "poisson": {"pattern": "poisson", "rate": 2.5, "requests": 4},
            "burst": {"pattern": "burst", "requests": 32},
            "concurrent": {"pattern": "concurrent", "concurrency": 3, "requests": 9},
        }.items()
    }
    assert words == {
        "constant": "constant 20 req/s",
        "poisson": "poisson 2.5 req/s",
        "burst": "a burst of 32",
        "concurrent": "3 client(s) in a closed loop",
    }
