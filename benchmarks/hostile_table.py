"""Run every hostile-target case once through the harness and print what happened: the
status, the reason, the processes of the trial still alive afterwards (walking /proc for
every pid the server and its descendants recorded), and the teardown time. Then the cases
aimed at the harness itself (run as `coldstart run` subprocesses): SIGKILL while setup,
prepare or an escaped grandchild runs, a results disk that fills up, matrices of 100,000
and 10,000,000 variants — with the exit code, what was left alive 2 s later, and how long
it took. Last, the third and fourth rounds of hostile input (issues 25 and 32), each beside
what it did before.

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
from hostile_round4 import ROUND_4  # noqa: E402

from coldstart_bench import RunOptions, read_scenario, run_scenario  # noqa: E402


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
                    read_scenario(path),
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
    print()
    print(f"{'round 3 (issue 25)':<46} {'exit':<8} {'took':>9}  now; before")
    for name, before, case in ROUND_3:
        with tempfile.TemporaryDirectory() as tmp:
            exit_code, took, now = case(Path(tmp))
        print(f"{name:<46} {exit_code!s:<8} {took:>7.2f} s  {now}; before: {before}")
    print()
    print(f"{'round 4 (issue 32)':<46} {'exit':<8} {'took':>9}  now; before")
    for name, before, case in ROUND_4:
        with tempfile.TemporaryDirectory() as tmp:
            exit_code, took, now = case(Path(tmp))
        print(f"{name:<46} {exit_code!s:<8} {took:>7.2f} s  {now}; before: {before}")
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


def _tmpfs(where: Path, size: str) -> bool:
    """Mount a tmpfs of ``size`` at ``where`` (root only); whether it worked."""
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True
    )
    return mounted.returncode == 0


def _disk_fills_up(tmp: Path) -> tuple:
    mount = tmp / "tiny"
    if not _tmpfs(mount, "300k"):
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


def _timed_run(tmp: Path, scenario: str, *args: str, results: Path | None = None) -> tuple:
    """``coldstart run`` of ``scenario`` to its end: the process, its seconds, the run dir."""
    path = tmp / "s.toml"
    path.write_text(scenario)
    results = results or tmp / "r"
    argv = coldstart_argv("run", str(path), "--results-dir", str(results), "--run-id", "x")
    began = time.monotonic()
    done = subprocess.run([*argv, "-q", *args], capture_output=True, text=True, cwd=REPO)
    return done, time.monotonic() - began, results / "x"


def _trial(run_dir: Path) -> dict:
    return json.loads((run_dir / "trials.jsonl").read_text().splitlines()[0])


def _cut_load(tmp: Path) -> tuple:
    done, took, run_dir = _timed_run(
        tmp,
        f"repetitions = 1\ntrial_timeout_s = 4\n[[services]]\n"
        f"command = {toy_command('--answer-at-most', '10')}\n"
        'ready = { kind = "http", path = "/health" }\n'
        '[requests]\nkind = "openai-chat"\ntimeout_s = 30\n'
        '[load]\npattern = "constant"\nrate = 20\nrequests = 40\nstart = "ready"\n',
        "--no-report",
    )
    trial = _trial(run_dir)
    cut = sum("cut:" in (r["request"].get("error") or "") for r in trial["load"])
    return (
        done.returncode,
        took,
        f"{trial['status']}, {len(trial['load'])} of 40 arrivals, {cut} cut",
    )


def _backtracking(tmp: Path) -> tuple:
    talk = "import time\nfor _ in range(50): print('a' * 40 + 'b', flush=True)\ntime.sleep(60)"
    done, took, run_dir = _timed_run(
        tmp,
        f"repetitions = 1\ntrial_timeout_s = 10\n[[services]]\n"
        f'command = ["{{python}}", "-c", {json.dumps(talk)}]\n'
        'ready = { kind = "log", pattern = "(a+)+$", timeout_s = 3 }\n'
        'log_phases = [{ name = "slow", until = "(a|aa)+$" }]\n',
        "--no-report",
    )
    return done.returncode, took, f"{_trial(run_dir)['status']} (timeout_s = 3)"


def _phases_flood(tmp: Path) -> tuple:
    flood = (
        "import json, os\nf = open(os.environ['COLDSTART_PHASES'], 'a')\n"
        "line = json.dumps({'phase': 'p', 'start_ns': 1, 'end_ns': 2}) + '\\n'\n"
        "f.write(line * 2_000_000)\n"
    )
    done, took, run_dir = _timed_run(
        tmp,
        f'repetitions = 1\n[[services]]\ncommand = ["{{python}}", "-c", {json.dumps(flood)}]\n'
        'ready = { kind = "exit" }\n',
        "--no-report",
    )
    size = (run_dir / "trials.jsonl").stat().st_size
    phases = len(_trial(run_dir)["phases"])
    return done.returncode, took, f"100 MB of phases: {phases} kept, trials.jsonl {size:,} bytes"


def _log_flood(tmp: Path) -> tuple:
    mount = tmp / "disk"
    if not _tmpfs(mount, "50m"):
        return "-", 0.0, "skipped: cannot mount a tmpfs here"
    flood = (
        "import sys, time\nblock = ('x' * 1023 + '\\n') * 1024\n"
        "for _ in range(100):\n    sys.stdout.write(block); sys.stdout.flush(); time.sleep(0.02)\n"
        "print('READY', flush=True)\ntime.sleep(60)\n"
    )
    try:
        done, took, run_dir = _timed_run(
            tmp,
            f'repetitions = 1\n[[services]]\ncommand = ["{{python}}", "-c", {json.dumps(flood)}]\n'
            'ready = { kind = "log", pattern = "^READY$", timeout_s = 60 }\n',
            "--no-report",
            results=mount,
        )
        kept = len((run_dir / "trials.jsonl").read_text().splitlines())
        logs = sum(p.stat().st_size for p in (run_dir / "logs").rglob("*.log"))
        return done.returncode, took, f"100 MB on 50 MB: {kept} trial kept, logs {logs >> 20} MB"
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _secret_var(tmp: Path) -> tuple:
    secret = "sk-hostile-0123456789"
    done, took, run_dir = _timed_run(
        tmp,
        'repetitions = 1\nvars = { api_token = "x" }\n'
        'setup = [["true", "--api-key", "SETUP-KEY-1", "--token=SETUP-KEY-2"]]\n'
        f"[[services]]\ncommand = {toy_command()}\n"
        'ready = { kind = "http", path = "/health" }\n'
        '[requests]\ncount = 1\nextra_body = { api_key = "BODY-KEY-3" }\n',
        "--var",
        f"api_token={secret}",
    )
    secrets = (secret, "SETUP-KEY-1", "SETUP-KEY-2", "BODY-KEY-3")
    files = [p for p in run_dir.rglob("*") if p.is_file() and p.suffix != ".png"]
    holding = [p.name for p in files if any(s in p.read_text(errors="replace") for s in secrets)]
    return done.returncode, took, f"files holding a secret: {holding or 'none'}"


def _results_dir_is_a_file(tmp: Path) -> tuple:
    (tmp / "a-file").write_text("")
    done, took, _ = _timed_run(
        tmp, f"[[services]]\ncommand = {toy_command()}\n", results=tmp / "a-file"
    )
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    return done.returncode, took, f"{len(lines)} line, traceback: {'Traceback' in done.stderr}"


def _stop_handler_forks(tmp: Path) -> tuple:
    done, took, run_dir = _timed_run(
        tmp,
        f"repetitions = 1\n[[services]]\ncommand = {toy_command('--fork-on-sigterm')}\n"
        'ready = { kind = "http", path = "/health" }\nstop_grace_s = 10\n',
        "--no-report",
    )
    return done.returncode, took, f"teardown {_trial(run_dir)['teardown_ms']:,.0f} ms (grace 10 s)"


def _setup_hangs(tmp: Path) -> tuple:
    done, took, _ = _timed_run(
        tmp,
        'setup = [["sleep", "600"]]\nsetup_timeout_s = 2\n'
        f"[[services]]\ncommand = {toy_command()}\n",
    )
    return done.returncode, took, done.stderr.strip().splitlines()[0].removeprefix("error: ")


def _huge_schedule(tmp: Path) -> tuple:
    path = tmp / "s.toml"
    path.write_text(
        '[[services]]\ncommand = ["true"]\n[requests]\nkind = "openai-chat"\n'
        '[load]\npattern = "constant"\nrate = 100000\nduration_s = 86400\n'
    )
    began = time.monotonic()
    done = subprocess.run(coldstart_argv("validate", str(path)), capture_output=True, text=True)
    return done.returncode, time.monotonic() - began, "validate refuses 8.6e9 arrivals"


ROUND_3 = (
    ("load cut by trial_timeout_s", "ok, 10 of 40 arrivals", _cut_load),
    ("backtracking log pattern", "still running 25 s past its timeouts", _backtracking),
    ("100 MB phases file", "harness RSS 5 GB, a 458 MB line", _phases_flood),
    ("log flood on a 50 MB results disk", "exit 3, 0 trials kept", _log_flood),
    ("secrets in --var, setup argv, extra_body", "verbatim in run.json, report", _secret_var),
    ("--results-dir is a file", "traceback, exit 1", _results_dir_is_a_file),
    ("stop handler forks a child", "10.0 s teardown", _stop_handler_forks),
    ("setup that sleeps 600 s", "hangs silently", _setup_hangs),
    ("rate 100,000 for a day", "MemoryError, server left alive", _huge_schedule),
)


if __name__ == "__main__":
    raise SystemExit(main())
