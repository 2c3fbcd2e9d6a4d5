"""Change points in a history: a planted step found at its run, none in noise, and a
machine that got slower between runs not taken for a step of the build."""

from __future__ import annotations

import numpy as np
import pytest

from coldstart_bench.history.changes import RunSeries, find_changes

pytest.importorskip("ruptures")


def history(
    levels: list[float],
    machine: list[float] | None = None,
    trials: int = 3,
    seed: int = 0,
    follows: float = 1.0,
):
    """Runs of ``trials`` trials, run i at ``levels[i]`` ms × its machine's slowness (to
    the power ``follows``: how much the metric follows the machine), 4 % noise; each
    trial's calibration follows the machine (1.0 = 50 ms)."""
    rng = np.random.default_rng(seed)
    machine = machine or [1.0] * len(levels)
    runs = []
    for i, (level, slow) in enumerate(zip(levels, machine, strict=True)):
        calibrations = 50.0 * slow * rng.lognormal(0, 0.02, trials)
        values = level * (calibrations / 50.0) ** follows * rng.lognormal(0, 0.04, trials)
        runs.append(
            RunSeries(f"k{i}", f"run{i}", f"c{i + 1:02d}", tuple(values), tuple(calibrations))
        )
    return runs


def test_a_planted_step_is_found_at_the_commit_it_started_with():
    runs = history([800.0] * 5 + [1100.0] * 5)
    (change,) = find_changes("v", "cold_ttft_ms", runs)
    assert change.commit == "c06" and change.index == 5
    assert change.ratio == pytest.approx(1100 / 800, rel=0.05)
    assert change.low < change.ratio < change.high
    assert change.before == pytest.approx(800, rel=0.05) and not change.machine_moved


def test_noise_alone_has_no_change_point():
    for seed in range(20):
        assert find_changes("v", "cold_ttft_ms", history([800.0] * 30, seed=seed)) == []


def test_a_machine_that_got_slower_is_not_a_step_of_the_build():
    machine = [1.0] * 10 + [1.25] * 10 + [1.0] * 10  # a slower runner for ten runs
    assert find_changes("v", "cold_ttft_ms", history([800.0] * 30, machine)) == []
    # without calibrations, the same series shows the machine's steps
    blind = [
        RunSeries(r.run_key, r.run_id, r.commit, r.values, (None,) * len(r.values))
        for r in history([800.0] * 30, machine)
    ]
    assert [c.commit for c in find_changes("v", "cold_ttft_ms", blind)] == ["c11", "c21"]


def test_a_step_while_the_machine_also_moved_says_so():
    machine = [1.0] * 6 + [1.25] * 6
    (change,) = find_changes("v", "cold_ttft_ms", history([800.0] * 6 + [1200.0] * 6, machine))
    assert change.commit == "c07" and change.machine_moved
    assert change.machine_ratio == pytest.approx(1.25, rel=0.03)
    # the step read at the typical speed: between the build's 1.5 and 1.5 x 1.25 as measured
    assert 1.5 * 0.95 < change.ratio < 1.5 * 1.25 * 1.05


def test_too_few_runs_have_no_change_points():
    assert find_changes("v", "m", history([800.0, 1200.0, 1200.0])) == []


def test_a_step_smaller_than_the_machines_own_and_the_same_way_is_the_machines():
    # CPU work on a busier runner: +9 % where the calibration moved +30 %
    machine = [1.0] * 8 + [1.3] * 8
    runs = history([850.0] * 16, machine, follows=0.33)
    assert find_changes("v", "cpu_ready_ms", runs) == []


def test_a_step_the_other_way_while_the_machine_clearly_moved_is_not_reported():
    # Two busy runs where the first request came faster (the loaded runner kept its clock
    # up) and three more: the calibration doubled, the metric dropped a third.
    machine = [1.0] * 12 + [2.0] * 4 + [1.0] * 12
    runs = history([30.0] * 28, machine, follows=-0.6)
    assert find_changes("v", "first_ttft_ms", runs) == []
