"""The machine measures itself, interleaved with the trials: a fixed calibration just before
each one, and how busy its CPUs were while the trial ran.

The calibration spawns a fresh interpreter that imports a fixed set of standard-library
modules and exits (:data:`CALIBRATION_RUNS` times; the median is kept). It is what a
Python model server's cold start mostly is — fork and exec, interpreter start, imports of
page-cached modules (the reference server spends 1.04 of its 1.2 s to ready importing) —
so it slows down with the same things: a CPU shared with other jobs, stolen by the
hypervisor or clocked down, a slower filesystem cache. A pure CPU loop would miss exec and
the page cache; a file read would miss the CPU. It costs ~0.06 s a trial, run before
the trial's prepare commands so that they cannot disturb it.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

from coldstart_bench.host.cgroups import cpu_quota
from coldstart_bench.host.cpus import (
    CpuTimes,
    affinity_cpus,
    busy_share,
    cpu_mhz,
    cpu_times,
    shares,
    usable_cpus,
)
from coldstart_bench.results.schema import MachineSample

CALIBRATION_RUNS = 1
# How long the CPUs are watched before each trial for other work: 5 ticks of the kernel's
# 100 Hz clock per CPU, enough to tell an idle machine from one kept busy.
OTHERS_SAMPLE_S = 0.05
# Imported by the calibration: pure-Python and C modules of the standard library, ~50 ms
# of work here (hyperfine: 55 ms ± 1.1), the same on every Python 3.11+.
CALIBRATION_MODULES = ("json", "decimal", "email.parser", "http.client", "asyncio")
_PROGRAM = "import " + ", ".join(CALIBRATION_MODULES)


def calibrate(
    runs: int = CALIBRATION_RUNS, timeout_s: float = 30.0
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Each run's time from spawn to exit and its CPU time (user + system), in ms; ((), ())
    where the interpreter cannot run."""
    times, cpu = [], []
    for _ in range(runs):
        began = time.perf_counter_ns()
        try:
            child = subprocess.Popen(
                [sys.executable, "-I", "-c", _PROGRAM],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            return (), ()
        # A blocking wait, not wait(timeout): that one polls with sleeps of up to 50 ms,
        # which would become part of the figure. The timer only guards against a hang;
        # wait4 also gives the child's CPU time.
        guard = threading.Timer(timeout_s, child.kill)
        guard.start()
        try:
            _pid, status, usage = os.wait4(child.pid, 0)
        finally:
            guard.cancel()
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            return (), ()
        times.append(round((time.perf_counter_ns() - began) / 1e6, 3))
        cpu.append(round((usage.ru_utime + usage.ru_stime) * 1000, 3))
    return tuple(times), tuple(cpu)


@dataclass(frozen=True)
class CpuShare:
    """What the machine can give a run, measured as it starts (``{cpus}``, ``{free_cpus}``)."""

    usable: int  # CPUs this process may run on, within a cgroup quota
    busy_share: float | None  # of all CPUs, busy with other work over the sample
    free: int  # usable CPUs not busy, at least 1

    def sentence(self) -> str:
        busy = f", {self.busy_share:.0%} busy" if self.busy_share is not None else ""
        return f"free_cpus = {self.free} ({self.usable} usable CPUs{busy} as the run started)"


def cpu_share(sample_s: float = 0.5) -> CpuShare:
    """The usable CPUs, and how many of them other work leaves free: the busy share of all
    CPUs over ``sample_s`` (a load average lags by a minute), times the usable ones."""
    usable = usable_cpus()
    busy = busy_share(sample_s)
    if busy is None:
        return CpuShare(usable, None, usable)
    return CpuShare(usable, busy, max(1, min(usable, round(usable * (1 - busy)))))


class MachineWatch:
    """Around one trial: :meth:`before` (calibrate, read the load and CPU times), then
    :meth:`after` gives the trial's :class:`MachineSample`."""

    def __init__(self, runs: int = CALIBRATION_RUNS) -> None:
        self.runs = runs
        self._start: CpuTimes | None = None
        self._calibration: tuple[float, ...] = ()
        self._calibration_cpu: tuple[float, ...] = ()
        self._load: float | None = None
        self._mhz: float | None = None
        self._others: float | None = None

    def before(self) -> None:
        # Between trials nothing of the run runs: whatever keeps the CPUs busy now is
        # other work (the trial's own load is in busy_share, measured during it).
        self._others = busy_share(OTHERS_SAMPLE_S)
        self._calibration, self._calibration_cpu = calibrate(self.runs) if self.runs else ((), ())
        self._load = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
        self._mhz = cpu_mhz()
        self._start = cpu_times()

    def after(self) -> MachineSample:
        measured = shares(self._start, cpu_times())
        busy, steal = (round(measured[0], 4), round(measured[1], 4)) if measured else (None, None)
        runs = self._calibration
        return MachineSample(
            calibration_ms=round(statistics.median(runs), 3) if runs else None,
            calibration_runs=runs,
            load_1m=self._load,
            cpus=affinity_cpus(),
            busy_share=busy,
            steal_share=steal,
            cpu_quota=cpu_quota(),
            cpu_mhz=self._mhz,
            others_busy_share=self._others,
            calibration_cpu_ms=(
                round(statistics.median(self._calibration_cpu), 3)
                if self._calibration_cpu
                else None
            ),
        )
