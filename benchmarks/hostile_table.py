"""Run every hostile-target case once through the harness and print what happened: the
status, the reason, the processes of the trial still alive afterwards (walking /proc for
every pid the server and its descendants recorded), and the teardown time. Then the cases
aimed at the harness itself (run as `coldstart run` subprocesses): SIGKILL while setup,
prepare or an escaped grandchild runs, a results disk that fills up, matrices of 100,000
and 10,000,000 variants — with the exit code, what was left alive 2 s later, and how long it took.

Run: ``python benchmarks/hostile_table.py`` (the disk case needs root to mount a tmpfs).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from helpers import alive, coldstart_argv, pids_in, toy_command  # noqa: E402
from hostile_cases import CASES, taken_port  # noqa: E402

from coldstart_bench import RunOptions, load_scenario, run_scenario  # noqa: E402


def main() -> int:
    print(f"{'hostile case':<46} {'status':<8} {'left':>4} {'teardown':>9}  reason")
    for case in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            pidfile = Path(tmp) / "pids"
            holder = taken_port() if "port" in case.name else nullcontext(None)
            with holder as port:
                path = Path(tmp) / "s.toml"
                path.write_text(case.scenario(pidfile, port))
                outcome = run_scenario(
                    load_scenario(path),
                    RunOptions(results_dir=Path(tmp) / "r", record_torch=False),
                )
            time.sleep(0.05)
            [trial] = outcome.trials
            left = [pid for pid in pids_in(pidfile) if alive(pid)]
            teardown = f"{trial.teardown_ms:.1f} ms" if trial.teardown_ms is not None else "-"
            reason = (trial.error or "").split("\n")[0][:70]
            stopped = ",".join(s.stopped_by or "-" for s in trial.services)
            print(
                f"{case.name:<46} {trial.status:<8} {len(left):>4} {teardown:>9}  "
                f"{reason or 'stopped by ' + stopped}"
            )
    print()
    print(f"{'the harness itself':<46} {'exit':<8} {'left':>4} {'took':>9}  what")
    for name, case in HARNESS_CASES:
        with tempfile.TemporaryDirectory() as tmp:
            exit_code, left, took, what = case(Path(tmp))
        print(f"{name:<46} {exit_code!s:<8} {left:>4} {took:>7.2f} s  {what}")
    return 0


def _run(tmp: Path, scenario: str, *args: str) -> subprocess.Popen[bytes]:
    path = tmp / "s.toml"
    path.write_text(scenario)
    argv = coldstart_argv("run", str(path), "--results-dir", str(tmp / "r"), "--run-id", "x")
    return subprocess.Popen(
        [*argv, "-q", "--no-report", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )


def _kill_and_count(harness: subprocess.Popen[bytes], pidfile: Path, need: int) -> tuple:
    """Once ``need`` pids are recorded, SIGKILL the harness; what is alive 2 s later."""
    began = time.monotonic()
    while len(pids_in(pidfile)) < need and time.monotonic() - began < 60:
        time.sleep(0.02)
    pids = pids_in(pidfile)
    time.sleep(0.5)
    harness.kill()
    harness.wait()
    killed = time.monotonic()
    while [p for p in pids if alive(p)] and time.monotonic() - killed < 2:
        time.sleep(0.01)
    left = [p for p in pids if alive(p)]
    took = time.monotonic() - killed
    return harness.returncode, len(left), took, f"{len(pids)} process(es) of the run were alive"


def _killed_during(hook: str):  # type: ignore[no-untyped-def]
    def case(tmp: Path) -> tuple:
        pidfile = tmp / "pids"
        harness = _run(
            tmp,
            f'{hook} = [["sh", "-c", "echo $$ >> {pidfile}; exec sleep 60"]]\n'
            f"[[services]]\ncommand = {toy_command()}\n",
        )
        return _kill_and_count(harness, pidfile, 1)

    return case


def _killed_with_an_escapee(tmp: Path) -> tuple:
    pidfile = tmp / "pids"
    flags = ("--escape-on-request", "--ttft-ms", "5000", "--pidfile", str(pidfile))
    harness = _run(
        tmp,
        f"repetitions = 2\n[[services]]\ncommand = {toy_command(*flags)}\n"
        'ready = { kind = "http", path = "/health" }\n[requests]\ncount = 1\n',
    )
    return _kill_and_count(harness, pidfile, 2)


def _disk_fills_up(tmp: Path) -> tuple:
    mount = tmp / "tiny"
    mount.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(mount)], capture_output=True
    )
    if mounted.returncode != 0:
        return "-", 0, 0.0, "skipped: cannot mount a tmpfs here"
    try:
        toy = toy_command()[1:-1]
        path = tmp / "s.toml"
        path.write_text(
            "repetitions = 20\n[[services]]\n"
            'command = ["sh", "-c", "head -c 30000 /dev/zero | tr \'\\\\0\' x; '
            f'exec \\"$0\\" \\"$@\\"", {toy}]\n'
            'ready = { kind = "http", path = "/health" }\n[requests]\ncount = 1\n'
        )
        began = time.monotonic()
        done = subprocess.run(
            coldstart_argv("run", str(path), "--results-dir", str(mount), "--run-id", "x", "-q"),
            capture_output=True,
            text=True,
            cwd=REPO,
        )
        took = time.monotonic() - began
        lines = (mount / "x" / "trials.jsonl").read_bytes().split(b"\n")
        whole = lines[-1] == b"" and all(json.loads(line) for line in lines[:-1])
        status = json.loads((mount / "x" / "run.json").read_text())["status"]
        error = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        what = (
            f"{len(lines) - 1} whole lines: {whole}; run.json: {status}; "
            f"{len(error)} error line, traceback: {'Traceback' in done.stderr}"
        )
        return done.returncode, 0, took, what
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _huge_matrix(factors: str):  # type: ignore[no-untyped-def]
    return lambda tmp: _matrix_of(tmp, factors)


def _matrix_of(tmp: Path, factors: str) -> tuple:
    path = tmp / "huge.toml"
    levels = list(range(10))
    matrix = "\n".join(f"{name} = {levels}" for name in factors)
    path.write_text(f'[[services]]\ncommand = ["true"]\n[matrix]\n{matrix}\n')
    began = time.monotonic()
    done = subprocess.run(
        coldstart_argv("run", str(path), "--results-dir", str(tmp / "r")),
        capture_output=True,
        text=True,
    )
    took = time.monotonic() - began
    return done.returncode, 0, took, done.stderr.strip().removeprefix("error: ")[:60]


HARNESS_CASES = (
    ("SIGKILL while a setup command runs", _killed_during("setup")),
    ("SIGKILL while a prepare command runs", _killed_during("prepare")),
    ("SIGKILL with a double-forked grandchild alive", _killed_with_an_escapee),
    ("results disk fills up (300 KB tmpfs)", _disk_fills_up),
    ("a matrix of 100,000 variants", _huge_matrix("abcde")),
    ("a matrix of 10,000,000 variants", _huge_matrix("abcdefg")),
)


if __name__ == "__main__":
    raise SystemExit(main())
