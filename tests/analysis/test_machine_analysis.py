"""What a run says about its machine: the drift between two runs' calibrations, and a busy
machine said in one line."""

from __future__ import annotations

import numpy as np
from helpers import record

from coldstart_bench.analysis.machine import (
    drift,
    machine_frame,
    machine_trace,
    summarise_machine,
)
from coldstart_bench.results.schema import MachineSample


def trials(calibrations, load: float = 0.5, cpus: int = 2, steal: float = 0.0):  # type: ignore[no-untyped-def]
    """The machine frame of trials with these calibrations."""
    return machine_frame(
        record(i, machine=MachineSample(c, (c,), load, cpus, 0.5, steal))
        for i, c in enumerate(calibrations)
    )


def test_the_same_machine_is_shown_the_same_and_a_slower_one_is_not():
    rng = np.random.default_rng(0)
    quiet = trials(rng.normal(55, 1, 40))
    again = trials(rng.normal(55, 1, 40))
    busy = trials(rng.normal(55, 1, 40) * 1.5)
    same = drift(quiet, again, tolerance=0.05)
    assert same is not None and same.same_machine
    slower = drift(quiet, busy, tolerance=0.05)
    assert slower is not None and not slower.same_machine
    assert "50 % slower" in slower.sentence() or "49 % slower" in slower.sentence()
    assert drift(quiet, trials([]), 0.05) is None  # nothing to compare with


def test_a_noisy_calibration_cannot_show_the_machine_the_same():
    rng = np.random.default_rng(1)
    noisy = drift(trials(rng.normal(55, 15, 6)), trials(rng.normal(55, 15, 6)), 0.05)
    assert noisy is not None and not noisy.same_machine  # its interval is too wide


def test_a_busy_machine_is_said_and_a_quiet_one_is_not():
    quiet = summarise_machine(trials([55.0] * 10, load=0.4))
    assert not quiet.busy and quiet.busy_line() is None
    loaded = summarise_machine(trials([80.0] * 10, load=6.0))
    assert loaded.busy and "load average 6.0 on 2 CPU(s)" in (loaded.busy_line() or "")
    stolen = summarise_machine(trials([80.0] * 10, steal=0.2))
    assert stolen.busy and "20% of CPU time stolen" in (stolen.busy_line() or "")
    assert len(machine_trace(trials([55.0, 56.0]))) == 2


def test_other_work_between_trials_makes_a_machine_busy_before_its_load_average_shows_it():
    # a run of two minutes under two busy loops on 2 CPUs: the 1-minute load average
    # climbed from 0.5 to 2.5 and its median stayed at 2.0, not above the CPUs
    kept_busy = [
        record(i, machine=MachineSample(130.0, (130.0,), 2.0, 2, 1.0, 0.0, others_busy_share=0.97))
        for i in range(12)
    ]
    found = summarise_machine(machine_frame(kept_busy))
    assert found.busy and "other work kept 97% of the CPUs busy" in (found.busy_line() or "")
    idle = [
        record(i, machine=MachineSample(55.0, (55.0,), 0.3, 2, 0.6, 0.0, others_busy_share=0.04))
        for i in range(12)
    ]
    assert summarise_machine(machine_frame(idle)).busy_line() is None
