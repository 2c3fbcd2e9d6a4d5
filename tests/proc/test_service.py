"""Starting real servers: every readiness rule, early death, timeouts, and teardown that
leaves nothing alive (checked in /proc)."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path

import pytest
from helpers import TOY_SERVER, alive, pids_in

from coldstart_bench.plan.specs import ReadySpec, ServiceSpec
from coldstart_bench.proc.group import TrialProcesses
from coldstart_bench.proc.ports import free_port
from coldstart_bench.proc.readiness import NOT_FOUND_INTERVAL_S, NOT_FOUND_STREAK, HttpCheck
from coldstart_bench.proc.service import LaunchError
from coldstart_bench.results.logs import log_tail


def service(
    tmp_path: Path,
    *flags: str,
    kind: str = "tcp",
    argv: list[str] | None = None,
    grace_s: float = 5.0,
    timeout_s: float = 20.0,
    **ready: object,
) -> ServiceSpec:
    port = free_port()
    argv = argv or [sys.executable, str(TOY_SERVER), "--port", str(port), *flags]
    phases = tmp_path / "phases.jsonl"
    return ServiceSpec(
        name="toy",
        argv=tuple(argv),
        env={**os.environ, "COLDSTART_PHASES": str(phases)},
        cwd=None,
        port=port,
        ready=ReadySpec(
            kind=kind, host="127.0.0.1", port=port, timeout_s=timeout_s, interval_ms=1.0, **ready
        ),  # type: ignore[arg-type]
        stop_signal=15,
        stop_grace_s=grace_s,
        log_path=tmp_path / "toy.log",
        phases_path=phases,
    )


def start_and_stop(spec: ServiceSpec) -> tuple[TrialProcesses, LaunchError | None]:
    processes = TrialProcesses()
    error = None
    try:
        processes.start(spec)
    except LaunchError as exc:
        error = exc
    finally:
        processes.stop_all()
    return processes, error


def listen_phase(spec: ServiceSpec) -> dict[str, int]:
    phases = [json.loads(line) for line in spec.phases_path.read_text().splitlines()]
    return next(p for p in phases if p["phase"] == "listen")


def listen_end_ns(spec: ServiceSpec) -> int:
    return listen_phase(spec)["end_ns"]


def test_tcp_readiness_is_detected_after_the_server_listens(tmp_path: Path):
    spec = service(tmp_path, "--startup-delay-ms", "100")
    processes, error = start_and_stop(spec)
    assert error is None
    svc = processes.services[0]
    assert svc.ready_ns is not None and svc.spawn_ns is not None
    # Both clocks are CLOCK_MONOTONIC. A connect succeeds once listen() has been called,
    # possibly before the server reads its clock after it: so after the phase's start.
    assert svc.ready_ns >= listen_phase(spec)["start_ns"]
    assert svc.ready_ns - svc.spawn_ns >= 100_000_000


def test_http_readiness_waits_for_the_expected_status(tmp_path: Path):
    # /health answers 503 for 300 ms after listen: readiness must wait for the 200.
    spec = service(tmp_path, "--health-delay-ms", "300", kind="http", path="/health", status=200)
    processes, error = start_and_stop(spec)
    assert error is None
    assert processes.services[0].ready_ns - listen_end_ns(spec) >= 300_000_000


def test_https_readiness_speaks_tls(tmp_path: Path, trustme_certs):
    spec = service(
        tmp_path,
        "--tls-cert",
        str(trustme_certs.cert),
        "--tls-key",
        str(trustme_certs.key),
        kind="http",
        path="/health",
        https=True,
    )
    processes, error = start_and_stop(spec)
    assert error is None
    assert processes.services[0].ready_ns >= listen_end_ns(spec)


def test_log_readiness_matches_a_line_the_server_prints(tmp_path: Path):
    spec = service(
        tmp_path,
        "--ready-line",
        "toy: Application startup complete",
        kind="log",
        pattern=r"startup complete$",
    )
    processes, error = start_and_stop(spec)
    assert error is None
    assert processes.services[0].ready_ns >= listen_end_ns(spec)


def test_exit_readiness_times_a_one_shot_command(tmp_path: Path):
    spec = service(
        tmp_path, kind="exit", argv=[sys.executable, "-c", "import time; time.sleep(0.05)"]
    )
    processes, error = start_and_stop(spec)
    assert error is None
    svc = processes.services[0]
    assert svc.ready_ns - svc.spawn_ns >= 50_000_000
    assert svc.stop_report.stopped_by == "exited"
    assert svc.stop_report.exit_code == 0


def test_a_one_shot_command_with_the_wrong_exit_code_fails(tmp_path: Path):
    spec = service(tmp_path, kind="exit", argv=[sys.executable, "-c", "raise SystemExit(4)"])
    _, error = start_and_stop(spec)
    assert error is not None and error.status == "failed"
    assert "exited with code 4, expected 0" in str(error)


def test_a_crash_before_ready_fails_with_the_last_log_lines(tmp_path: Path):
    spec = service(tmp_path, "--crash-before-ready")
    _, error = start_and_stop(spec)
    assert error is not None and error.status == "failed"
    assert "exited with code 3 before it was ready" in str(error)
    assert "planted crash before ready" in str(error)


def test_a_server_that_never_listens_times_out(tmp_path: Path):
    spec = service(tmp_path, "--never-listen", timeout_s=0.5)
    processes, error = start_and_stop(spec)
    assert error is not None and error.status == "timeout"
    assert "was not ready within 0.5 s (TCP connect to 127.0.0.1" in str(error)
    assert not alive(processes.services[0].pid)


def test_a_missing_program_is_a_clear_failure(tmp_path: Path):
    spec = service(tmp_path, argv=["definitely-not-a-program-xyz"])
    _, error = start_and_stop(spec)
    assert error is not None
    assert "cannot start 'definitely-not-a-program-xyz': program not found" in str(error)


def test_teardown_kills_children_grandchildren_and_a_session_escapee(tmp_path: Path):
    pidfile = tmp_path / "pids"
    spec = service(tmp_path, "--fork-children", "2", "--escape-session", "--pidfile", str(pidfile))
    processes, error = start_and_stop(spec)
    assert error is None
    pids = pids_in(pidfile)
    assert len(pids) == 5  # the server, 2 children, 2 grandchildren (one in its own session)
    assert [pid for pid in pids if alive(pid)] == []
    report = processes.services[0].stop_report
    assert report.survivors == []
    assert report.stopped_by == "SIGTERM"


def test_teardown_leaves_the_runs_guardian_alone(tmp_path: Path):
    # A child of ours started after a service looks like one of its escaped descendants.
    # The guardian starts a moment before a run's first spawn, often within the same clock
    # tick; here it starts after the spawn, so only knowing its pid keeps it out.
    from coldstart_bench.proc.guardian import Guardian

    processes = TrialProcesses()
    guardian = None
    try:
        processes.start(service(tmp_path))
        guardian = Guardian().start()
        processes.guardian = guardian
        processes.stop_all()
        assert guardian.pid is not None and alive(guardian.pid)
        report = processes.services[0].stop_report
        assert report.leftover_pids == [] and report.survivors == []
    finally:
        processes.stop_all()
        if guardian is not None:
            guardian.close()


def test_a_restarted_service_reports_its_phases_apart_from_the_first_instance(tmp_path: Path):
    from coldstart_bench.results.schema import instance_name
    from coldstart_bench.run.phases import read_phases

    # Ready only once the server printed its ready line, which it does after writing its
    # listen phase: a TCP check passes at listen(), before that line is written, and a
    # restart then could stop the first instance before it wrote it.
    ready_after_listen_phase = service(
        tmp_path, "--ready-line", "READY", kind="log", pattern="^READY$"
    )
    processes = TrialProcesses()
    try:
        processes.start(ready_after_listen_phase)
        processes.restart("toy")
    finally:
        processes.stop_all()
    first, second = processes.services
    assert second.spec.phases_path != first.spec.phases_path
    assert second.spec.env["COLDSTART_PHASES"] == str(second.spec.phases_path)
    notes: list[str] = []
    read = [
        (p.service, p.phase)
        for k, instance in enumerate(processes.services)
        for p in read_phases(instance.spec, 0, notes, instance_name("toy", k))
    ]
    assert read == [
        ("toy", "import"),
        ("toy", "listen"),
        ("toy (restart 1)", "import"),
        ("toy (restart 1)", "listen"),
    ]
    assert notes == []


def test_a_server_ignoring_sigterm_is_killed_after_the_grace_period(tmp_path: Path):
    pidfile = tmp_path / "pids"
    spec = service(
        tmp_path, "--ignore-sigterm", "--fork-children", "1", "--pidfile", str(pidfile), grace_s=0.3
    )
    processes, error = start_and_stop(spec)
    assert error is None
    report = processes.services[0].stop_report
    assert report.stopped_by == "SIGKILL"
    assert report.exit_code == -9
    assert report.teardown_ns >= 300_000_000
    assert set(report.leftover_pids) == set(pids_in(pidfile))
    assert [pid for pid in pids_in(pidfile) if alive(pid)] == []


def test_a_port_already_in_use_is_refused_before_spawning(tmp_path: Path):
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        spec = service(tmp_path)
        spec = ServiceSpec(
            **{
                **spec.__dict__,
                "port": holder.getsockname()[1],
                "ready": ReadySpec("tcp", "127.0.0.1", holder.getsockname()[1], 5, 1),
            }
        )
        with pytest.raises(LaunchError, match="already in use by another process"):
            TrialProcesses.check_ports([spec])


def test_log_tail_keeps_the_last_lines(tmp_path: Path):
    log = tmp_path / "x.log"
    log.write_text("".join(f"line {i}\n" for i in range(100)))
    assert log_tail(log, lines=3) == "line 97\nline 98\nline 99"
    assert log_tail(tmp_path / "missing.log") == ""


def test_a_readiness_path_that_answers_404_says_so_and_is_polled_less_often(tmp_path: Path):
    spec = service(tmp_path, kind="http", path="/no-such-path", status=200, timeout_s=1.5)
    spec = dataclasses.replace(spec, ready=dataclasses.replace(spec.ready, interval_ms=1))
    _, error = start_and_stop(spec)
    assert error is not None and "it last answered HTTP 404 (is ready.path right?)" in str(error)

    check = HttpCheck(spec.ready)
    assert check.interval(0.001) == 0.001
    check.not_found_streak = NOT_FOUND_STREAK
    assert check.interval(0.001) == NOT_FOUND_INTERVAL_S
    assert check.interval(0.5) == 0.5  # never faster than asked
