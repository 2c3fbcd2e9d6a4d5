"""The machine measures itself around every trial: a calibration (a fresh interpreter
importing a fixed set of modules), the load, and how busy its CPUs were."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from helpers import run_options, toy_scenario

from coldstart_bench.host.cpus import usable_cpus
from coldstart_bench.run.machine import CpuShare, MachineWatch, calibrate, cpu_share
from coldstart_bench.run.session import run_scenario, start_notes


def test_a_calibration_times_a_fresh_interpreter_from_spawn_to_exit():
    [run], [cpu] = calibrate(1)
    assert 0 < cpu < 10_000 and cpu <= run * 2.5  # its CPU time: one process, a few threads
    assert 5 < run < 10_000  # milliseconds: an interpreter start and some imports


def test_a_watch_gives_the_sample_of_its_trial():
    watch = MachineWatch(runs=2)
    watch.before()
    # "the trial": 0.1 s of work, 10 ticks of the kernel's CPU clock; a few ms (a fixed
    # count of work on a quiet machine) can fall between two ticks, and then no share of
    # the CPUs' time was counted at all (busy_share None, as the watch says)
    until = time.perf_counter() + 0.1
    while time.perf_counter() < until:
        sum(i * i for i in range(1_000))
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


def test_free_cpus_leaves_out_the_cpus_other_work_keeps_busy():
    usable = usable_cpus()
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(usable)]
    try:
        time.sleep(0.3)  # every spinner on a CPU
        share = cpu_share(sample_s=0.5)
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
    assert share.usable == usable and share.busy_share is not None and share.busy_share > 0.7
    assert 1 <= share.free <= max(1, usable // 3)
    assert share.sentence().startswith(f"free_cpus = {share.free} ({usable} usable CPUs, ")


def test_a_run_that_names_free_cpus_measures_them_once_and_keeps_them(
    tmp_path: Path, write_scenario
):
    text = toy_scenario(
        "--startup-delay-ms", "{threads}", vars={"threads": "{free_cpus}"}, repetitions=2
    )
    outcome = run_scenario(write_scenario(text), run_options(tmp_path))
    cpus = json.loads((outcome.run_dir / "run.json").read_text())["cpus"]
    assert cpus["usable"] == usable_cpus() and 1 <= cpus["free"] <= cpus["usable"]
    assert outcome.trials and all(t.status == "ok" for t in outcome.trials)
    plain = run_scenario(write_scenario(toy_scenario()), run_options(tmp_path, run_id="plain"))
    assert "cpus" not in json.loads((plain.run_dir / "run.json").read_text())


def test_a_watch_sees_other_work_between_trials():
    usable = usable_cpus()
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(usable)]
    try:
        time.sleep(0.3)
        watch = MachineWatch(runs=1)
        watch.before()
        busy = watch.after()
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
    assert busy.others_busy_share is not None and busy.others_busy_share > 0.7


def test_a_run_on_a_busy_machine_says_so_as_it_starts():
    notes = start_notes(CpuShare(usable=2, busy_share=0.97, free=1), named=True)
    assert notes[0].startswith("free_cpus = 1 (2 usable CPUs, 97% busy")
    assert notes[1].startswith("the machine is busy: other work keeps 97% of its CPUs busy")
    assert start_notes(CpuShare(usable=2, busy_share=0.05, free=2), named=False) == []
