"""Hostile targets and environments, each with real processes: a stream that never ends, a
harness killed with SIGKILL while setup, prepare or an escaped grandchild runs, a server
that leaves a sleeper behind from its SIGTERM handler, a disk that fills up, a matrix of
100,000 variants, and the smaller ones (a readiness check past its deadline, a stopped
server, a daemon)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import (
    REPO,
    alive,
    coldstart_argv,
    pids_in,
    run_argv,
    run_options,
    toy_command,
    toy_scenario,
)

from coldstart_bench import read_run
from coldstart_bench.proc.group import TrialProcesses
from coldstart_bench.results.logs import LOG_LIMIT_BYTES
from coldstart_bench.run.phases import MAX_PHASE_NAME, MAX_PHASES, MAX_PHASES_BYTES
from coldstart_bench.run.session import run_scenario
from coldstart_bench.scenario.reader import read_scenario

ALIVE_CHECK = (
    "import pathlib, sys\n"
    "pids = pathlib.Path(sys.argv[1]).read_text().split() if pathlib.Path(sys.argv[1]).exists() else []\n"
    "def alive(pid):\n"
    "    try:\n"
    "        return pathlib.Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()[0] not in 'ZX'\n"
    "    except OSError:\n"
    "        return False\n"
    "left = [p for p in pids if alive(p)]\n"
    "print('alive from earlier trials:', left)\n"
    "sys.exit(1 if left else 0)\n"
)

HTTP_READY = {"kind": "http", "path": "/health"}


def start_harness(path: Path, results: Path, run_id: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        run_argv(path, results, run_id, "--no-report"),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_for(condition, timeout_s: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def gone_within(pids: list[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not [p for p in pids if alive(p)]:
            return True
        time.sleep(0.01)
    return False


# 1. A stream that never ends -------------------------------------------------------------


def test_an_endless_stream_ends_as_a_timeout_within_timeout_s(tmp_path: Path, write_scenario):
    path = write_scenario(f"""
        repetitions = 1
        [[services]]
        command = {toy_command("--endless-stream", "--itl-ms", "50")}
        ready = {{ kind = "http", path = "/health" }}
        [requests]
        kind = "openai-completions"
        stream = true
        timeout_s = 3
    """)
    began = time.monotonic()
    outcome = run_scenario(path, run_options(tmp_path))
    assert time.monotonic() - began < 15  # it ends (it used to run until killed)
    [trial] = outcome.trials
    [request] = trial.requests
    assert trial.status == "timeout" and request.status == "timeout"
    # the bound runs from the probe's call, client_ms before total_ms starts counting
    assert 3000 <= request.client_ms + request.total_ms < 4000  # within timeout_s + 1 s
    assert "timeout_s bounds the whole request" in request.error
    assert request.tokens >= 20 and request.bytes > 0  # what came is kept
    assert outcome.exit_code == 1


def test_trial_timeout_s_bounds_the_whole_trial(tmp_path: Path, write_scenario):
    path = write_scenario(f"""
        repetitions = 1
        trial_timeout_s = 1
        [[services]]
        command = {toy_command("--startup-delay-ms", "10000")}
        ready = {{ kind = "tcp", timeout_s = 60 }}
    """)
    [trial] = run_scenario(path, run_options(tmp_path)).trials
    assert trial.status == "timeout"
    assert "was not ready within the trial's trial_timeout_s" in trial.error
    assert trial.wall_ms < 5000


# 2. SIGKILL of the harness ----------------------------------------------------------------


@pytest.mark.parametrize("hook", ["setup", "prepare"])
def test_a_killed_harness_takes_its_setup_and_prepare_commands_along(
    tmp_path: Path, write_scenario, hook: str
):
    pidfile = tmp_path / "pids"
    path = write_scenario(f"""
        {hook} = [["sh", "-c", "echo $$ >> {pidfile}; exec sleep 60"]]
        [[services]]
        command = {toy_command()}
    """)
    harness = start_harness(path, tmp_path / "r", "killed")
    wait_for(lambda: len(pids_in(pidfile)) >= 1)
    [sleeper] = pids_in(pidfile)
    time.sleep(0.5)  # the guardian has seen it
    harness.kill()
    harness.wait(10)
    assert gone_within([sleeper], 2.0), f"{hook} command {sleeper} outlived the harness"


def test_a_killed_harness_leaves_no_trial_tmp_behind(tmp_path: Path, write_scenario):
    seen = tmp_path / "tmpdir"
    keep = "import os, sys, time; open(os.path.join(os.environ['TMPDIR'], 'a.bin'), 'wb').write(b'x'); open(sys.argv[1], 'w').write(os.environ['TMPDIR']); time.sleep(60)"
    path = write_scenario(f"""
        [[services]]
        command = ["{{python}}", "-c", "{keep}", "{seen}"]
        env = {{ TMPDIR = "{{trial_tmp}}" }}
        ready = {{ kind = "log", pattern = "never printed", timeout_s = 60 }}
    """)
    harness = start_harness(path, tmp_path / "r", "killed")
    wait_for(lambda: seen.exists() and seen.read_text() != "")
    directory = Path(seen.read_text())
    assert (directory / "a.bin").exists()
    harness.kill()
    harness.wait(10)
    deadline = time.monotonic() + 3.0
    while directory.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not directory.exists(), f"{directory} outlived the harness"


SHM_HOLDER = REPO / "tests" / "servers" / "shm_holder.py"


def shm_holder_scenario(write_scenario, names: Path, *flags: str, timeout_s: float = 60) -> Path:  # type: ignore[no-untyped-def]
    command = json.dumps(["{python}", str(SHM_HOLDER), str(names), *flags])
    return write_scenario(f"""
        repetitions = 1
        [[services]]
        command = {command}
        ready = {{ kind = "log", pattern = "never printed", timeout_s = {timeout_s} }}
        stop_grace_s = 0.5
    """)


def shm_paths(names: Path) -> list[Path]:
    wait_for(lambda: names.exists() and len(names.read_text().split()) == 2)
    paths = [Path(p) for p in names.read_text().split()]
    assert all(p.exists() for p in paths)
    return paths


def test_a_killed_harness_leaves_no_shared_memory_behind(tmp_path: Path, write_scenario):
    names = tmp_path / "shm-names"
    harness = start_harness(shm_holder_scenario(write_scenario, names), tmp_path / "r", "k")
    held, remembered = shm_paths(names)
    time.sleep(0.5)  # the guardian has scanned since
    harness.kill()
    harness.wait(10)
    deadline = time.monotonic() + 5.0
    while (held.exists() or remembered.exists()) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not held.exists(), "a segment the server kept mapped outlived it"
    assert not remembered.exists(), "a segment only the resource tracker knew outlived it"


def test_a_server_sigkilled_at_teardown_leaves_no_shared_memory_behind(
    tmp_path: Path, write_scenario
):
    names = tmp_path / "shm-names"
    path = shm_holder_scenario(write_scenario, names, "--ignore-sigterm", timeout_s=3)
    outcome = run_scenario(read_scenario(path), run_options(tmp_path / "r"))

    (trial,) = outcome.trials
    assert trial.status == "timeout"
    assert trial.services[0].stopped_by == "SIGKILL"
    held, remembered = (Path(p) for p in names.read_text().split())
    assert not held.exists() and not remembered.exists()


def test_a_server_stopped_gracefully_leaves_no_shared_memory_for_the_next_trial(
    tmp_path: Path, write_scenario
):
    # SIGTERM ends it (Python's default: no clean-up of its own), its resource tracker
    # survives it; what it mapped must be gone before the next trial starts
    names = tmp_path / "shm-names"
    path = shm_holder_scenario(write_scenario, names, "--raw", timeout_s=3)
    outcome = run_scenario(read_scenario(path), run_options(tmp_path / "r"))

    (trial,) = outcome.trials
    assert trial.status == "timeout"
    assert trial.services[0].stopped_by == "SIGTERM"
    held, remembered, raw = (Path(p) for p in names.read_text().split())
    assert not held.exists() and not remembered.exists()
    assert not raw.exists(), "a segment no tracker knew outlived the server's graceful stop"


def test_a_daemon_a_stop_handler_double_forks_does_not_hold_the_grace(
    tmp_path: Path, write_scenario
):
    # on SIGTERM the server double-forks a daemon into a session of its own that ignores
    # SIGTERM, then exits: teardown gives the daemon a moment, not the 10 s grace
    pidfile = tmp_path / "pids"
    path = write_scenario(
        toy_scenario(
            "--daemon-on-sigterm", "--pidfile", str(pidfile), repetitions=3, ready=HTTP_READY
        ).replace("[[services]]", "[[services]]\nstop_grace_s = 10", 1)
    )
    outcome = run_scenario(read_scenario(path), run_options(tmp_path / "r"))

    for trial in outcome.trials:
        assert trial.status == "ok", trial.error
        assert trial.teardown_ms is not None and trial.teardown_ms < 5000
    assert [p for p in pids_in(pidfile) if alive(p)] == []


def test_a_killed_harness_takes_a_grandchild_that_escaped_by_double_fork(
    tmp_path: Path, write_scenario
):
    pidfile = tmp_path / "pids"
    flags = ("--escape-on-request", "--ttft-ms", "5000", "--pidfile", str(pidfile))
    path = write_scenario(
        toy_scenario(*flags, repetitions=2, ready=HTTP_READY, requests={"count": 1})
    )
    harness = start_harness(path, tmp_path / "r", "killed")
    # the server, then the sleeper it left on the first request (still being answered)
    wait_for(lambda: len(pids_in(pidfile)) >= 2)
    running = [p for p in pids_in(pidfile) if alive(p)]
    assert len(running) == 2
    time.sleep(0.5)  # the guardian has scanned since
    harness.kill()
    harness.wait(10)
    assert gone_within(running, 2.0), [p for p in running if alive(p)]


def test_a_killed_harness_spares_the_process_group_of_whoever_started_it(
    tmp_path: Path, write_scenario
):
    # A script (or CI job) that runs coldstart shares its process group with it; so does
    # the torch probe coldstart runs for run.json. The guardian, started early by the
    # requires check, saw that probe; once it took the probe's group for the run's and
    # SIGKILLed the caller's whole group (the script, its other children) with the run.
    pytest.importorskip("torch")
    pidfile, bystander_file = tmp_path / "pids", tmp_path / "bystander"
    path = write_scenario(f"""
        [[requires]]
        command = ["true"]
        [[services]]
        command = {toy_command("--pidfile", str(pidfile), "--startup-delay-ms", "30000")}
        ready = {{ kind = "tcp", timeout_s = 60 }}
    """)
    argv = run_argv(path, tmp_path / "r", "killed", "--no-report")
    script = f'sleep 60 & echo $! > {bystander_file}; exec "$@"'
    harness = subprocess.Popen(
        ["sh", "-c", script, "sh", *argv],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # the harness and the bystander: one group, not pytest's
    )
    try:
        wait_for(lambda: len(pids_in(pidfile)) >= 1 and bystander_file.exists())
        [server] = pids_in(pidfile)
        [bystander] = pids_in(bystander_file)
        time.sleep(0.5)  # the guardian has scanned since
        harness.kill()
        harness.wait(10)
        assert gone_within([server], 2.0), "the run's server outlived the harness"
        time.sleep(0.5)
        assert alive(bystander), "the guardian killed a process of the caller's group"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(harness.pid, signal.SIGKILL)


# 3. An escapee forked during teardown -----------------------------------------------------


def test_a_process_forked_by_the_sigterm_handler_is_gone_before_the_next_trial(
    tmp_path: Path, write_scenario
):
    pidfile = tmp_path / "pids"
    check = tmp_path / "check.py"
    check.write_text(ALIVE_CHECK)
    path = write_scenario(f"""
        repetitions = 3
        prepare = [["{sys.executable}", "{check}", "{pidfile}"]]
        [[services]]
        command = {toy_command("--escape-on-sigterm", "--pidfile", str(pidfile))}
        ready = {{ kind = "http", path = "/health" }}
        [requests]
        count = 1
    """)
    outcome = run_scenario(path, run_options(tmp_path))
    # each next trial's prepare hook found nothing alive from the trials before it
    assert [t.status for t in outcome.trials] == ["ok"] * 3, [t.error for t in outcome.trials]
    for trial in outcome.trials:
        assert trial.escaped, trial.notes  # the sleeper, found and killed
        assert any("outlived their service's teardown" in n for n in trial.notes)
    assert [p for p in pids_in(pidfile) if alive(p)] == []


# 4. A full disk -------------------------------------------------------------------------------


@contextlib.contextmanager
def small_disk(where: Path, size: str):  # type: ignore[no-untyped-def]
    """A tmpfs of ``size`` mounted at ``where`` (root only: skips elsewhere)."""
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a {size} tmpfs here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.fixture
def tiny_disk(tmp_path: Path):  # type: ignore[no-untyped-def]
    with small_disk(tmp_path / "tiny", "300k") as mount:
        yield mount


def test_a_full_disk_is_one_clear_error_with_whole_lines_and_a_run_json_that_says_so(
    tmp_path: Path, write_scenario, tiny_disk: Path
):
    toy = toy_command()[1:-1]  # the argv as TOML items
    path = write_scenario(f"""
        repetitions = 20
        [[services]]
        command = ["sh", "-c", "head -c 30000 /dev/zero | tr '\\\\0' x; exec \\"$0\\" \\"$@\\"", {toy}]
        ready = {{ kind = "http", path = "/health" }}
        [requests]
        count = 1
    """)
    done = subprocess.run(
        run_argv(path, tiny_disk, "full"), cwd=REPO, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 3, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "No space left on device" in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    run_dir = tiny_disk / "full"
    lines = (run_dir / "trials.jsonl").read_bytes().split(b"\n")
    assert lines[-1] == b""  # ends with a whole line
    assert all(json.loads(line)["trial"] >= 0 for line in lines[:-1])
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["status"] == "results-unwritable"
    assert meta["trials_done"] == len(lines) - 1 < 20


# 5. A matrix far too large ----------------------------------------------------------------


def test_a_matrix_of_100000_variants_is_refused_with_the_count_and_a_hint(tmp_path: Path):
    levels = list(range(10))
    matrix = "\n".join(f"{name} = {levels}" for name in "abcde")
    path = tmp_path / "huge.toml"
    path.write_text(f'[[services]]\ncommand = ["true"]\n[matrix]\n{matrix}\n')
    done = subprocess.run(
        coldstart_argv("run", str(path), "--results-dir", str(tmp_path / "r")),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "100,000 variants" in done.stderr and "--allow-large" in done.stderr
    assert not (tmp_path / "r").exists()
    shown = subprocess.run(coldstart_argv("validate", str(path)), capture_output=True, text=True)
    assert shown.returncode == 0
    assert "99,980 more" in shown.stdout and "refuses this scenario" in shown.stdout
    assert len(shown.stdout.splitlines()) < 60


def test_a_matrix_of_ten_million_variants_is_counted_and_refused_not_made(tmp_path: Path):
    # seven factors of ten levels: made one by one, the variants took the memory first
    levels = list(range(10))
    matrix = "\n".join(f"{name} = {levels}" for name in "abcdefg")
    path = tmp_path / "absurd.toml"
    path.write_text(f'[[services]]\ncommand = ["true"]\n[matrix]\n{matrix}\n')
    for argv in (
        ("run", str(path), "--results-dir", str(tmp_path / "r")),
        ("run", str(path), "--results-dir", str(tmp_path / "r"), "--allow-large"),
    ):
        done = subprocess.run(coldstart_argv(*argv), capture_output=True, text=True, timeout=60)
        assert done.returncode == 2, done.stderr
        assert "10,000,000 combinations" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "r").exists()
    shown = subprocess.run(
        coldstart_argv("validate", str(path)), capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0, shown.stderr
    assert "refuses this scenario" in shown.stdout and "10,000,000" in shown.stdout


# The smaller ones ----------------------------------------------------------------------------


def test_a_readiness_check_never_waits_past_the_rule_s_deadline(tmp_path: Path, write_scenario):
    # accepts connections (the kernel's backlog) but never answers an HTTP request
    mute = "import socket, sys, time; s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(); time.sleep(60)"
    path = write_scenario(f"""
        repetitions = 1
        [[services]]
        command = ["{sys.executable}", "-c", "{mute}", "{{port}}"]
        ready = {{ kind = "http", path = "/health", timeout_s = 1 }}
    """)
    [trial] = run_scenario(path, run_options(tmp_path)).trials
    assert trial.status == "timeout" and "not ready within 1 s" in trial.error
    assert trial.wall_ms < 1900  # one 2 s HTTP attempt used to run past the deadline


def test_a_stopped_server_is_killed_at_once_not_after_its_grace(tmp_path: Path, write_scenario):
    path = write_scenario(f"""
        repetitions = 1
        [[services]]
        command = {toy_command("--stop-self-on-request")}
        ready = {{ kind = "http", path = "/health" }}
        stop_grace_s = 20
        [requests]
        count = 1
        timeout_s = 0.5
    """)
    [trial] = run_scenario(path, run_options(tmp_path)).trials
    [service] = trial.services
    assert service.stopped_by == "SIGKILL (it was stopped)"
    assert service.teardown_ms < 5000


def test_a_server_that_daemonizes_is_told_to_run_in_the_foreground(tmp_path: Path, write_scenario):
    pidfile = tmp_path / "pids"
    flags = ("--daemonize", "--startup-delay-ms", "500", "--pidfile", str(pidfile))
    path = write_scenario(toy_scenario(*flags, repetitions=1, ready=HTTP_READY))
    [trial] = run_scenario(path, run_options(tmp_path)).trials
    assert trial.status == "failed"
    assert "looks like a daemon" in trial.error and "foreground" in trial.error
    [daemon] = pids_in(pidfile)
    assert not alive(daemon)  # the daemon itself went with the trial


def test_gate_says_which_trial_lines_it_could_not_read(tmp_path: Path):
    from typer.testing import CliRunner

    from coldstart_bench.cli.app import app

    run_dir = tmp_path / "old"
    shutil.copytree(REPO / "tests" / "data" / "run-0e8cffb", run_dir)
    with open(run_dir / "trials.jsonl", "a", encoding="utf-8") as f:
        f.write('{"schema_version": 1, "trial": 99, "cut off')
    result = CliRunner().invoke(
        app, ["gate", str(run_dir), "--factor", "pooling", "--baseline-level", "off"]
    )
    assert "line 21" in result.output and "left out" in result.output
    assert read_run(run_dir).problems


def test_a_run_whose_teardown_fails_still_leaves_no_server_behind(
    tmp_path: Path, write_scenario, monkeypatch
):
    # the teardown itself fails (as it did with ENOMEM reading /proc): the run crashes,
    # and the guardian, left without a goodbye, kills what the teardown missed
    pidfile = tmp_path / "pids"
    path = write_scenario(toy_scenario("--pidfile", str(pidfile), repetitions=1, ready=HTTP_READY))

    def failing_teardown(self: TrialProcesses) -> None:
        raise MemoryError("reading /proc")

    monkeypatch.setattr(TrialProcesses, "stop_all", failing_teardown)
    with pytest.raises(MemoryError):
        run_scenario(read_scenario(path), run_options(tmp_path / "r"))
    servers = pids_in(pidfile)
    assert servers and gone_within(servers, 5.0), [p for p in servers if alive(p)]


@pytest.mark.parametrize("pattern", ["(a+)+$", "(a|aa)+$"])
def test_a_backtracking_log_pattern_cannot_hold_the_trial_past_its_timeout(
    tmp_path: Path, write_scenario, pattern: str
):
    # lines of 40 'a' and a 'b': with Python's re, either pattern backtracks for ages
    talk = "import sys, time\nfor _ in range(50): print('a' * 40 + 'b', flush=True)\ntime.sleep(60)"
    path = write_scenario(f"""
        repetitions = 1
        trial_timeout_s = 10
        [[services]]
        command = ["{{python}}", "-c", {json.dumps(talk)}]
        ready = {{ kind = "log", pattern = {json.dumps(pattern)}, timeout_s = 3 }}
        log_phases = [{{ name = "slow", until = {json.dumps(pattern)} }}]
    """)
    began = time.monotonic()
    outcome = run_scenario(read_scenario(path), run_options(tmp_path / "r"))
    took = time.monotonic() - began

    (trial,) = outcome.trials
    assert trial.status == "timeout"
    assert took < 3 + 5, f"the run took {took:.1f} s"
    if "a|aa" in pattern:  # the one the regex engine cannot shortcut: it ran out of time
        assert "the pattern ran out of time" in (trial.error or "")
        assert any("which ran out of time" in note for note in trial.notes), trial.notes


def test_a_flood_of_phases_is_read_up_to_its_cap_with_a_note(tmp_path: Path, write_scenario):
    # 20 MB of valid phase lines and one phase named by a 1 MB string
    flood = (
        "import json, os\n"
        "f = open(os.environ['COLDSTART_PHASES'], 'a')\n"
        "f.write(json.dumps({'phase': 'x' * 1_000_000, 'start_ns': 1, 'end_ns': 2}) + '\\n')\n"
        "line = json.dumps({'phase': 'p', 'start_ns': 1, 'end_ns': 2}) + '\\n'\n"
        "f.write(line * 400_000)\n"
    )
    path = write_scenario(f"""
        repetitions = 1
        [[services]]
        command = ["{{python}}", "-c", {json.dumps(flood)}]
        ready = {{ kind = "exit" }}
    """)
    outcome = run_scenario(read_scenario(path), run_options(tmp_path / "r"))

    (trial,) = outcome.trials
    assert trial.status == "ok", trial.error
    assert 0 < len(trial.phases) <= MAX_PHASES
    assert all(len(p.phase) <= MAX_PHASE_NAME + 1 for p in trial.phases)
    assert any("phases file was read up to" in note for note in trial.notes), trial.notes
    trials_file = tmp_path / "r" / outcome.run_dir.name / "trials.jsonl"
    assert trials_file.stat().st_size < 2 * MAX_PHASES_BYTES


def test_a_server_flooding_its_log_cannot_fill_the_results_disk(tmp_path: Path, write_scenario):
    # 100 MB of output over ~2 s on a 50 MB results disk, then the ready line
    flood = (
        "import sys, time\n"
        "block = ('x' * 1023 + '\\n') * 1024\n"
        "for _ in range(100):\n"
        "    sys.stdout.write(block); sys.stdout.flush(); time.sleep(0.02)\n"
        "print('READY', flush=True)\n"
        "time.sleep(60)\n"
    )
    path = write_scenario(f"""
        repetitions = 1
        [[services]]
        command = ["{{python}}", "-c", {json.dumps(flood)}]
        ready = {{ kind = "log", pattern = "^READY$", timeout_s = 60 }}
    """)
    with small_disk(tmp_path / "disk", "50m") as disk:
        done = subprocess.run(
            run_argv(path, disk, "flood", "--no-report"),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        [trial] = read_run(disk / "flood").trials
        assert trial.status == "ok", trial.error
        assert any("log capped" in note for note in trial.notes), trial.notes
        [log] = (disk / "flood" / "logs" / "trial-0000").glob("*.log")
        assert log.stat().st_size < LOG_LIMIT_BYTES + 1024


def test_a_process_forked_by_the_stop_handler_is_signalled_too_not_waited_for(
    tmp_path: Path, write_scenario
):
    # on SIGTERM the server exits at once, leaving a process forked after the signal went
    pidfile = tmp_path / "pids"
    path = write_scenario(
        toy_scenario(
            "--fork-on-sigterm", "--pidfile", str(pidfile), repetitions=1, ready=HTTP_READY
        ).replace("[[services]]", "[[services]]\nstop_grace_s = 10", 1)
    )
    outcome = run_scenario(read_scenario(path), run_options(tmp_path / "r"))

    (trial,) = outcome.trials
    assert trial.status == "ok", trial.error
    assert trial.teardown_ms is not None and trial.teardown_ms < 3000
    assert [p for p in pids_in(pidfile) if alive(p)] == []


def test_a_run_whose_harness_was_killed_reads_back_as_abandoned(tmp_path: Path, write_scenario):
    path = write_scenario(toy_scenario(repetitions=50, ready=HTTP_READY))
    harness = start_harness(path, tmp_path / "r", "killed")
    run_dir = tmp_path / "r" / "killed"
    wait_for(
        lambda: (run_dir / "trials.jsonl").exists() and (run_dir / "trials.jsonl").stat().st_size
    )
    assert read_run(run_dir).status == "running"  # its harness is alive
    harness.kill()
    harness.wait(10)
    assert json.loads((run_dir / "run.json").read_text())["status"] == "running"
    assert (run_dir / ".coldstart-reserve").exists()

    run = read_run(run_dir)
    assert run.status == "abandoned" and run.trials
    assert not (run_dir / ".coldstart-reserve").exists()
    shown = subprocess.run(
        coldstart_argv("report", str(run_dir)), capture_output=True, text=True, timeout=120
    )
    assert shown.returncode == 0, shown.stderr
    assert "Run status: abandoned" in (run_dir / "report" / "summary.md").read_text()
    assert " · abandoned · " in (run_dir / "report" / "report.html").read_text()  # its header
