"""The machine measures itself around every trial: a calibration (a fresh interpreter
importing a fixed set of modules), the load, and how busy its CPUs were."""

from __future__ import annotations

from pathlib import Path

from helpers import run_options, toy_scenario

from coldstart_bench.run.machine import MachineWatch, calibrate, cpu_mhz, cpu_quota, cpu_times
from coldstart_bench.run.session import run_scenario


def test_a_calibration_times_a_fresh_interpreter_from_spawn_to_exit():
    [run] = calibrate(1)
    assert 5 < run < 10_000  # milliseconds: an interpreter start and some imports


def test_cpu_times_quota_and_clock_are_read_from_the_kernel_files(tmp_path: Path):
    stat = tmp_path / "stat"
    stat.write_text("cpu  100 0 50 800 50 0 0 25 0 0\ncpu0 1 2 3 4\n")
    assert cpu_times(stat) is not None
    times = cpu_times(stat)
    assert times is not None and (times.total, times.idle, times.steal) == (1025, 850, 25)
    assert cpu_times(tmp_path / "missing") is None
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert cpu_quota(tmp_path) == 1.5
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cpu_quota(tmp_path) is None
    info = tmp_path / "cpuinfo"
    info.write_text("processor : 0\ncpu MHz : 2000.0\nprocessor : 1\ncpu MHz : 3000.0\n")
    assert cpu_mhz(info) == 2500.0


def test_a_watch_gives_the_sample_of_its_trial():
    watch = MachineWatch(runs=2)
    watch.before()
    sum(i * i for i in range(200_000))  # some work while "the trial" runs
    sample = watch.after()
    assert sample.calibration_ms is not None and len(sample.calibration_runs) == 2
    assert sample.busy_share is not None and 0 <= sample.busy_share <= 1
    assert sample.steal_share is not None and 0 <= sample.steal_share <= 1
    assert sample.cpus and sample.cpus >= 1


def test_every_trial_of_a_calibrated_run_carries_its_machine(tmp_path: Path, write_scenario):
    path = write_scenario(toy_scenario(repetitions=2, requests={"count": 1}))
    outcome = run_scenario(path, run_options(tmp_path, calibrate=True))
    assert [t.status for t in outcome.trials] == ["ok", "ok"]
    assert all(t.machine is not None and t.machine.calibration_ms for t in outcome.trials)
    uncalibrated = run_scenario(path, run_options(tmp_path, run_id="plain"))
    assert all(t.machine is None for t in uncalibrated.trials)
