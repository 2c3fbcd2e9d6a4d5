"""Whole runs against real servers: the files they write, the summary they print, and what
survives an interruption."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import REPO, alive, pids_in, run_argv, run_options, toy_command, toy_scenario
from typer.testing import CliRunner

from coldstart_bench import read_run
from coldstart_bench.analysis.frames import trials_frame
from coldstart_bench.analysis.summary import summarise
from coldstart_bench.cli.app import app
from coldstart_bench.run.session import RunOptions, run_scenario
from coldstart_bench.scenario.reader import read_scenario


def options(tmp_path: Path, **overrides: object) -> RunOptions:
    return run_options(tmp_path / "results", **overrides)


def test_pooling_by_tls_matrix_end_to_end(tmp_path: Path, write_scenario):
    path = write_scenario(f"""
        name = "pooling-by-tls"
        repetitions = 5
        [matrix]
        pooling = ["on", "off"]
        tls = ["on", "off"]
        [[services]]
        command = {toy_command("--tokens", "4")}
        [[services.when]]
        match = {{ tls = "on" }}
        args = ["--tls-cert", "{{tls_cert}}", "--tls-key", "{{tls_key}}"]
        [requests]
        count = 3
        max_tokens = 4
    """)
    outcome = run_scenario(read_scenario(path), options(tmp_path, seed=11))
    assert outcome.status == "complete" and outcome.exit_code == 0
    assert len(outcome.trials) == 20
    assert all(t.status == "ok" for t in outcome.trials), [t.error for t in outcome.trials]

    run = read_run(outcome.run_dir)
    assert run.metadata.status == "complete"
    assert run.metadata.seed == 11
    assert run.metadata.counts == {"ok": 20, "failed": 0, "timeout": 0, "skipped": 0}
    assert [t.to_dict() for t in run.trials] == [t.to_dict() for t in outcome.trials]
    assert run.problems == []

    rows = {r.variant: r for r in summarise(trials_frame(run.trials))}
    for variant, row in rows.items():
        tls, pooled = "tls=on" in variant, "pooling=on" in variant
        assert row.ok == 5
        assert row.measured("first_tls_ms") == tls
        assert (row.figure("first_tls_ms") is not None) == tls
        assert row.figure("later_reused_share") == (1.0 if pooled else 0.0)
        if pooled:
            assert row.figure("later_connect_ms") == 0.0
        else:
            assert row.figure("later_connect_ms") > 0.0
        assert row.figure("cold_ttft_ms") > row.figure("ready_ms") > 0

    for trial in run.trials:
        first = trial.requests[0]
        assert trial.cold_ttft_ms == pytest.approx(first.start_ms + first.ttft_ms, abs=1e-3)
        assert [p.phase for p in trial.phases] == ["import", "listen"]
        assert trial.services[0].survivors == ()
        assert (outcome.run_dir / trial.services[0].log).exists()


def test_trials_are_interleaved_and_warmups_kept_apart(tmp_path: Path, write_scenario):
    path = write_scenario(
        toy_scenario(
            repetitions=3, warmup_trials=1, matrix={"flavour": ["a", "b"]}, requests={"count": 1}
        )
    )
    outcome = run_scenario(read_scenario(path), options(tmp_path))
    assert [t.warmup for t in outcome.trials] == [True, True] + [False] * 6
    for r in range(3):
        block = outcome.trials[2 + 2 * r : 4 + 2 * r]
        assert sorted(t.variant for t in block) == ["flavour=a", "flavour=b"]
    rows = summarise(trials_frame(outcome.trials))
    assert [r.trials for r in rows] == [3, 3]


def test_failed_trials_are_recorded_with_their_reason(tmp_path: Path, write_scenario):
    path = write_scenario(
        toy_scenario(
            repetitions=2,
            matrix={"mode": ["healthy", "crashing"]},
            requests={"count": 1},
            extra="""
                [[services.when]]
                match = { mode = "crashing" }
                args = ["--crash-before-ready"]
            """,
        )
    )
    outcome = run_scenario(read_scenario(path), options(tmp_path))
    assert outcome.exit_code == 1
    by_mode = {t.factors["mode"]: t for t in outcome.trials}
    assert by_mode["healthy"].status == "ok"
    crashed = by_mode["crashing"]
    assert crashed.status == "failed"
    assert crashed.cold_ttft_ms is None and crashed.requests == ()
    assert "planted crash before ready" in crashed.error
    assert crashed.services[0].exit_code == 3


def test_prepare_hooks_run_before_every_spawn(tmp_path: Path, write_scenario):
    path = write_scenario(f"""
        repetitions = 2
        prepare = [["{sys.executable}", "-c", "open('{{trial_dir}}/prepared', 'w').write('{{variant}}')"]]
        [[services]]
        command = {toy_command()}
        [requests]
        count = 1
    """)
    outcome = run_scenario(read_scenario(path), options(tmp_path))
    assert outcome.exit_code == 0
    for trial in outcome.trials:
        assert trial.prepare_ms is not None
        assert (
            outcome.run_dir / "logs" / f"trial-{trial.trial:04d}" / "prepared"
        ).read_text() == "default"


def test_a_failing_prepare_hook_fails_the_trial_without_spawning(tmp_path: Path, write_scenario):
    path = write_scenario(f"""
        repetitions = 1
        prepare = "{sys.executable} -c 'import sys; print(\\"no disk\\"); sys.exit(7)'"
        [[services]]
        command = {toy_command()}
    """)
    outcome = run_scenario(read_scenario(path), options(tmp_path))
    [trial] = outcome.trials
    assert trial.status == "failed"
    assert (
        "prepare[0]" in trial.error
        and "exited with code 7" in trial.error
        and "no disk" in trial.error
    )
    assert trial.services == ()


def test_page_cache_factor_sets_the_state_before_spawn(tmp_path: Path, write_scenario):
    weights = tmp_path / "weights.bin"
    weights.write_bytes(os.urandom(4 << 20))
    path = write_scenario(f"""
        repetitions = 1
        [matrix]
        page_cache = ["cold", "warm"]
        [page_cache]
        files = ["{weights}"]
        [[services]]
        command = {toy_command()}
    """)
    outcome = run_scenario(read_scenario(path), options(tmp_path))
    state = {t.factors["page_cache"]: t.page_cache for t in outcome.trials}
    assert state["cold"].bytes == state["warm"].bytes == 4 << 20
    assert state["warm"].resident_before_spawn == 1.0
    assert state["cold"].resident_before_spawn == 0.0


def test_services_start_in_order_and_can_reach_each_other(tmp_path: Path, write_scenario):
    path = write_scenario(f"""
        repetitions = 1
        [[services]]
        name = "backend"
        command = {toy_command("--startup-delay-ms", "50")}
        [[services]]
        name = "front"
        command = {toy_command("--ready-line", "front: backend is at port {ports.backend}")}
        ready = {{ kind = "log", pattern = "backend is at port" }}
        [requests]
        count = 1
    """)
    outcome = run_scenario(read_scenario(path), options(tmp_path))
    [trial] = outcome.trials
    backend, front = trial.services
    assert front.spawn_ms > backend.ready_ms > backend.spawn_ms
    assert trial.ready_ms == front.ready_ms
    assert trial.requests[0].status == "ok"
    front_log = (outcome.run_dir / front.log).read_text()
    assert f"backend is at port {backend.port}" in front_log
    assert backend.port != front.port


def test_secrets_are_redacted_from_run_json(tmp_path: Path, write_scenario):
    path = write_scenario(f"""
        repetitions = 1
        [[services]]
        command = ["{sys.executable}", "-c", "pass", "--api-key=sk-live-123", "--token", "tok-456"]
        env = {{ HF_TOKEN = "hf_secret", OMP_NUM_THREADS = "1" }}
        ready = {{ kind = "exit" }}
        [requests]
        count = 0
        headers = {{ Authorization = "Bearer abc" }}
    """)
    outcome = run_scenario(read_scenario(path), options(tmp_path))
    assert outcome.trials[0].status == "ok"
    text = (outcome.run_dir / "run.json").read_text()
    for secret in ("hf_secret", "Bearer abc", "sk-live-123", "tok-456"):
        assert secret not in text
    meta = json.loads(text)["scenario"]["as_run"]
    assert meta["services"][0]["env"] == {"HF_TOKEN": "***", "OMP_NUM_THREADS": "1"}
    assert meta["services"][0]["command"][-3:] == ["--api-key=***", "--token", "***"]
    assert meta["requests"]["headers"] == {"Authorization": "***"}


def test_a_program_that_is_not_installed_stops_the_run_before_it_starts(
    tmp_path: Path, write_scenario
):
    path = write_scenario('[[services]]\ncommand = ["vllm-not-installed", "serve"]\n')
    result = CliRunner().invoke(app, ["run", str(path), "--results-dir", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert "program not found: 'vllm-not-installed'" in " ".join(result.output.split())
    assert not (tmp_path / "r").exists()


def test_no_report_skips_the_report(tmp_path: Path, write_scenario):
    path = write_scenario(f"""
        repetitions = 1
        [[services]]
        command = {toy_command()}
    """)
    args = ["run", str(path), "--results-dir", str(tmp_path / "r"), "-q", "--no-report"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    [run_dir] = (tmp_path / "r").iterdir()
    assert not (run_dir / "report").exists()


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_sigint_keeps_finished_trials_and_leaves_no_server(
    tmp_path: Path, write_scenario, signum: int, code: int
):
    pidfile = tmp_path / "pids"
    path = write_scenario(f"""
        repetitions = 200
        [[services]]
        command = {toy_command("--fork-children", "1", "--pidfile", str(pidfile), "--startup-delay-ms", "30")}
        [requests]
        count = 2
    """)
    results = tmp_path / "results"
    proc = subprocess.Popen(
        run_argv(path, results, "r1"),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    trials_file = results / "r1" / "trials.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if trials_file.exists() and trials_file.read_text().count("\n") >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(signum)
    output, _ = proc.communicate(timeout=30)
    assert proc.returncode == code, output.decode()
    assert b"Traceback" not in output
    run = read_run(results / "r1")
    assert run.metadata.status == "interrupted"
    assert run.metadata.interrupted_by == signal.Signals(signum).name
    assert 3 <= len(run.trials) < 200
    assert run.problems == []
    assert all(t.status == "ok" for t in run.trials)
    assert f"interrupted ({signal.Signals(signum).name})".encode() in output
    time.sleep(0.2)
    assert [pid for pid in pids_in(pidfile) if alive(pid)] == []


@pytest.mark.slow
def test_sigkill_of_the_harness_takes_every_target_with_it(tmp_path: Path, write_scenario):
    """SIGKILL cannot be caught: the run's guardian process notices the harness is gone
    and kills the targets, escaped grandchildren included, within a second."""
    pidfile = tmp_path / "pids"
    flags = ("--fork-children", "2", "--escape-session", "--pidfile", str(pidfile))
    path = write_scenario(f"""
        repetitions = 200
        [[services]]
        command = {toy_command(*flags, "--ttft-ms", "400")}
        [requests]
        count = 1
    """)
    results = tmp_path / "results"
    proc = subprocess.Popen(
        run_argv(path, results, "killed", "--no-report"),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    trials_file = results / "killed" / "trials.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # at least one trial done, the next one running
        done = trials_file.exists() and trials_file.read_text().count("\n") >= 1
        if done and len(pids_in(pidfile)) >= 10:
            break
        time.sleep(0.02)
    running = [pid for pid in pids_in(pidfile) if alive(pid)]
    assert len(running) == 5  # the trial's server, 2 children, 2 grandchildren
    proc.kill()
    proc.wait(10)
    killed_at = time.monotonic()
    while [p for p in running if alive(p)] and time.monotonic() - killed_at < 5:
        time.sleep(0.01)
    survivors_after = time.monotonic() - killed_at
    assert [p for p in running if alive(p)] == []
    assert survivors_after < 1.0
    # the run it left behind still reports (a torn last line would be tolerated too)
    report = CliRunner().invoke(app, ["report", str(results / "killed"), "--format", "md"])
    assert report.exit_code == 0, report.output


@pytest.mark.slow
def test_a_server_flooding_its_output_neither_hangs_nor_fills_the_disk(
    tmp_path: Path, write_scenario
):
    path = write_scenario(f"""
        repetitions = 1
        [[services]]
        command = {toy_command("--flood-mb", "100", "--ready-line", "flooded-and-ready")}
        ready = {{ kind = "log", pattern = "flooded-and-ready", timeout_s = 60 }}
        [requests]
        kind = "http"
    """)
    outcome = run_scenario(read_scenario(path), options(tmp_path))
    [trial] = outcome.trials
    assert trial.status == "ok", trial.error
    log = outcome.run_dir / trial.services[0].log
    assert log.stat().st_size < 9 * 1024 * 1024  # 200 MB written, 8 MB kept
    assert "bytes of output dropped here" in log.read_text(errors="replace")
    assert any("log capped" in note for note in trial.notes)


@pytest.mark.slow
def test_soak_500_trials_leave_no_process_and_no_open_file(tmp_path: Path, write_scenario):
    path = write_scenario(
        toy_scenario(
            repetitions=250,
            seed=1,
            matrix={"pooling": ["on", "off"]},
            ready={"kind": "tcp"},
            requests={"kind": "http", "count": 2},
        )
    )
    fds_before = len(os.listdir("/proc/self/fd"))
    outcome = run_scenario(read_scenario(path), options(tmp_path))
    assert outcome.exit_code == 0
    assert len(outcome.trials) == 500
    assert all(t.status == "ok" for t in outcome.trials)
    assert all(not s.survivors for t in outcome.trials for s in t.services)
    assert len(os.listdir("/proc/self/fd")) == fds_before
    # (the autouse guard then checks that no process of ours is left)


def test_a_server_printing_its_secret_does_not_leak_it_into_results(tmp_path: Path, write_scenario):
    path = write_scenario("""
        repetitions = 1
        [[services]]
        command = ["sh", "-c", "echo using key $MY_API_KEY and Bearer abcdefghijklmnop; exit 3"]
        env = { MY_API_KEY = "s3cr3t-value-123" }
    """)
    outcome = run_scenario(read_scenario(path), options(tmp_path))
    [trial] = outcome.trials
    assert trial.status == "failed"
    text = (outcome.run_dir / "trials.jsonl").read_text()
    assert "using key" in text  # the log line is there ...
    assert "s3cr3t-value-123" not in text and "abcdefghijklmnop" not in text  # ... its secrets not
    assert "s3cr3t-value-123" not in (outcome.run_dir / "run.json").read_text()


def test_names_cannot_write_outside_the_results_folder(tmp_path: Path, write_scenario):
    path = write_scenario(f"""
        name = "../../escape"
        repetitions = 1
        [[services]]
        command = {toy_command()}
    """)
    outcome = run_scenario(read_scenario(path), options(tmp_path, run_id="../../../tmp/x"))
    results = (tmp_path / "results").resolve()
    assert outcome.run_dir.resolve().parent == results
    assert not (tmp_path / "escape").exists()


def test_commands_never_go_through_a_shell(tmp_path: Path, write_scenario):
    marker = tmp_path / "injected"
    path = write_scenario(f"""
        repetitions = 1
        [[services]]
        command = "echo hello; touch {marker}"
        ready = {{ kind = "exit" }}
    """)
    outcome = run_scenario(read_scenario(path), options(tmp_path))
    assert outcome.trials[0].status == "ok"
    assert not marker.exists()  # ';' reached echo as an argument, not a shell
    log = outcome.run_dir / outcome.trials[0].services[0].log
    assert f"hello; touch {marker}" in log.read_text()


def test_secrets_passed_by_var_setup_argv_or_request_body_are_in_no_file_written(
    tmp_path: Path, write_scenario
):
    path = write_scenario(f"""
        repetitions = 1
        vars = {{ api_token = "placeholder" }}
        setup = [["{sys.executable}", "-c", "pass", "--api-key", "SETUP-SECRET-1", "--token=SETUP-SECRET-2"]]
        [[services]]
        command = {toy_command("--say", "0:key {api_token}")}
        ready = {{ kind = "http", path = "/health" }}
        [requests]
        count = 1
        extra_body = {{ api_key = "BODY-SECRET-3", max_tokens = 3 }}
    """)
    secrets = ("sk-VAR-SECRET-4567", "SETUP-SECRET-1", "SETUP-SECRET-2", "BODY-SECRET-3")
    argv = run_argv(path, tmp_path / "r", "s", "--var", f"api_token={secrets[0]}")
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert not [s for s in secrets if s in done.stdout + done.stderr]

    run_dir = tmp_path / "r" / "s"
    written = [p for p in run_dir.rglob("*") if p.is_file() and p.suffix != ".png"]
    looked_at = {p.name for p in written}
    assert {"run.json", "trials.jsonl", "summary.md", "report.html", "setup.log"} <= looked_at
    for file in written:
        if file.suffix == ".log" and file.parent.name.startswith("trial-"):
            continue  # the server's own output: what it prints is its business
        text = file.read_text(errors="replace")
        leaked = [s for s in secrets if s in text]
        assert not leaked, f"{file.relative_to(run_dir)} holds {leaked}"
    meta = json.loads((run_dir / "run.json").read_text())
    assert "api_token=***" in meta["command"]
    assert meta["scenario"]["as_run"]["requests"]["extra_body"] == {
        "api_key": "***",
        "max_tokens": 3,
    }


def test_secrets_are_hidden_by_meaning_not_only_by_a_list_of_words(tmp_path: Path, write_scenario):
    # names no word list had (…PASSWD, …CREDENTIALS), a URL's password, a credential in a
    # query string, a cookie header, and a server that prints a URL with its password
    path = write_scenario(f"""
        repetitions = 1
        [[services]]
        command = {toy_command("--say", "0:connecting to postgres://app:URLPW-SECRET-8@db/x")}
        env = {{ DB_PASSWD = "PASSWD-SECRET-5", GCP_CREDENTIALS = "CRED-SECRET-6", DATABASE_URL = "postgres://app:URLPW-SECRET-8@db/x" }}
        ready = {{ kind = "http", path = "/health?api_key=QUERY-SECRET-9&probe=1" }}
        [requests]
        count = 1
        kind = "http"
        path = "/?access_token=QUERY-SECRET-10&max_tokens=8"
        headers = {{ Cookie = "session=COOKIE-SECRET-7" }}
    """)
    secrets = (
        "PASSWD-SECRET-5", "CRED-SECRET-6", "COOKIE-SECRET-7", "URLPW-SECRET-8",
        "QUERY-SECRET-9", "QUERY-SECRET-10",
    )  # fmt: skip
    argv = run_argv(path, tmp_path / "r", "s")
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not [s for s in secrets if s in done.stdout + done.stderr]
    run_dir = tmp_path / "r" / "s"
    for file in (p for p in run_dir.rglob("*") if p.is_file() and p.suffix != ".png"):
        if file.suffix == ".log" and file.parent.name.startswith("trial-"):
            continue  # the server's own output
        leaked = [s for s in secrets if s in file.read_text(errors="replace")]
        assert not leaked, f"{file.relative_to(run_dir)} holds {leaked}"
    meta = json.loads((run_dir / "run.json").read_text())
    service = meta["scenario"]["as_run"]["services"][0]
    assert service["env"]["DATABASE_URL"] == "postgres://app:***@db/x"  # the URL, less its password
    assert "max_tokens=8" in meta["scenario"]["as_run"]["requests"]["path"]
