"""Arrival schedules: what arrives when, in each phase of a load trial."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from coldstart_bench.plan.arrivals import arrivals
from coldstart_bench.scenario.schema import LoadConfig

BASE = LoadConfig(pattern="constant", rate=20.0, requests=10).settings()


def test_a_constant_rate_is_evenly_spaced_from_the_origin():
    assert list(arrivals(BASE)) == pytest.approx([i / 20 for i in range(10)])


def test_a_duration_ends_the_schedule_instead_of_a_count():
    timed = dataclasses.replace(BASE, requests=None, duration_s=1.0)
    offsets = list(arrivals(timed))
    assert len(offsets) == 20 and max(offsets) < 1.0


def test_poisson_arrivals_are_seeded_and_keep_their_rate():
    poisson = dataclasses.replace(BASE, pattern="poisson", rate=50.0, requests=20_000, seed=7)
    first, again = list(arrivals(poisson)), list(arrivals(poisson))
    assert first == again  # the same trial gets the same arrivals
    assert list(arrivals(dataclasses.replace(poisson, seed=8))) != first
    gaps = np.diff(first)
    assert gaps.mean() == pytest.approx(1 / 50, rel=0.03)
    assert gaps.std() == pytest.approx(1 / 50, rel=0.05)  # exponential: sd = mean


def test_a_burst_arrives_all_at_once_and_a_closed_loop_has_no_schedule():
    assert (
        list(arrivals(dataclasses.replace(BASE, pattern="burst", rate=None, requests=5)))
        == [0.0] * 5
    )
    assert arrivals(dataclasses.replace(BASE, pattern="concurrent", rate=None)) is None
