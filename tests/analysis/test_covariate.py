"""Each trial read at its side's typical machine speed: the wobble within a side goes, a
difference between the sides stays."""

from __future__ import annotations

import numpy as np
import pytest

from coldstart_bench.analysis.covariate import MIN_TRIALS, adjust_for_machine
from coldstart_bench.gate.rule import compare


def _side(rng: np.random.Generator, n: int, level: float, slope: float = 0.8):
    """Calibrations that wobble ±10 % and times that follow them to the power ``slope``,
    with 2 % of their own noise."""
    calibration = 55.0 * np.exp(rng.normal(0, 0.10, n))
    times = level * (calibration / 55.0) ** slope * np.exp(rng.normal(0, 0.02, n))
    return times, calibration


def test_the_machines_wobble_is_taken_out_and_the_slope_found():
    rng = np.random.default_rng(1)
    base, new = _side(rng, 20, 900.0), _side(rng, 20, 900.0)
    result = adjust_for_machine([base, new])
    assert result is not None
    (adj_base, adj_new), machine = result
    assert machine.slope == pytest.approx(0.8, abs=0.1)
    assert machine.noise_after < machine.noise_before / 2 and machine.noise_cut > 0.5
    assert np.std(np.log(adj_base)) < np.std(np.log(base[0])) * 0.6
    assert np.median(adj_new) == pytest.approx(900.0, rel=0.05)


def test_a_chance_difference_of_the_sides_machines_is_allowed_for():
    # the new side's trials happened to meet a 5 % slower machine: at the fitted slope,
    # its times are read at the common speed, and the build's own change (none) remains
    rng = np.random.default_rng(2)
    base = _side(rng, 20, 900.0)
    times, calibration = _side(rng, 20, 900.0)
    result = adjust_for_machine([base, (times * 1.05**0.8, calibration * 1.05)])
    assert result is not None
    (adj_base, adj_new), _ = result
    assert np.median(adj_new) / np.median(adj_base) == pytest.approx(1.0, abs=0.02)


def test_between_two_runs_on_different_machines_each_keeps_its_own_centre():
    # the new run's machine 20 % slower throughout: only the wobble within each run goes,
    # the difference stays for the machine check to bound
    rng = np.random.default_rng(7)
    base = _side(rng, 20, 900.0)
    times, calibration = _side(rng, 20, 900.0)
    new = (times * 1.2, calibration * 1.2)
    result = adjust_for_machine([base, new], common_centre=False)
    assert result is not None
    (adj_base, adj_new), machine = result
    assert machine.noise_cut > 0.4

    def difference(a, b):
        return np.mean(np.log(a)) - np.mean(np.log(b))

    assert difference(adj_new, adj_base) == pytest.approx(difference(new[0], base[0]))


def test_an_unchanged_build_is_called_slower_no_more_often_than_the_tests_level():
    rng = np.random.default_rng(6)
    alpha, found = 0.05, 0
    for _ in range(400):
        base, new = _side(rng, 10, 900.0), _side(rng, 10, 900.0)
        c = compare("v", "cpu_ttft_ms", base[0], new[0], alpha, (base[1], new[1]))
        found += c.shift.p_slower < alpha
    assert found / 400 <= alpha + 0.03  # 0.05 ± its sampling error, never twice it


def test_the_slope_is_at_most_all_of_the_calibrations_change():
    rng = np.random.default_rng(3)
    steep = adjust_for_machine([_side(rng, 20, 900.0, slope=2.0), _side(rng, 20, 900.0, 2.0)])
    assert steep is not None and steep[1].slope == 1.0


def test_a_calibration_that_does_not_explain_the_times_is_not_used():
    # fitting a slope to noise would only add noise (and make the test a little liberal)
    rng = np.random.default_rng(3)
    unrelated = [_side(rng, 20, 900.0, slope=0.0), _side(rng, 20, 900.0, slope=0.0)]
    against = [_side(rng, 20, 900.0, slope=-1.0), _side(rng, 20, 900.0, slope=-1.0)]
    assert adjust_for_machine(unrelated) is None
    assert adjust_for_machine(against) is None


def test_it_does_not_apply_to_too_few_trials_missing_or_flat_calibrations():
    rng = np.random.default_rng(4)
    enough = _side(rng, MIN_TRIALS, 900.0)
    short = _side(rng, MIN_TRIALS - 1, 900.0)
    assert adjust_for_machine([enough, enough]) is not None
    assert adjust_for_machine([enough, short]) is None
    assert adjust_for_machine([enough, (enough[0], np.where(enough[1] > 55, 0.0, 1.0))]) is None
    flat = (enough[0], np.full(MIN_TRIALS, 55.0))
    assert adjust_for_machine([flat, flat]) is None


def test_the_gate_reads_the_adjusted_times_and_shows_the_measured_medians():
    rng = np.random.default_rng(5)
    base, new = _side(rng, 20, 900.0), _side(rng, 20, 900.0)
    plain = compare("v", "cold_ttft_ms", base[0], new[0], 0.05 / 16)
    adjusted = compare("v", "cold_ttft_ms", base[0], new[0], 0.05 / 16, (base[1], new[1]))
    assert plain.machine is None and adjusted.machine is not None
    assert adjusted.shift.se_log < plain.shift.se_log / 2
    assert adjusted.shift.low < 1.0 < adjusted.shift.high  # unchanged: no shift found
    assert (adjusted.base_median, adjusted.new_median) == (plain.base_median, plain.new_median)
