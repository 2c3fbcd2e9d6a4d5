"""The fourth round of hostile input (issue 32), for ``hostile_table.py``: each case run once
through ``coldstart`` as a user would, and what it did before the fixes beside it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from helpers import alive, coldstart_argv, pids_in, record, toy_command  # noqa: E402

SHM_HOLDER = REPO / "tests" / "servers" / "shm_holder.py"


def _coldstart(*args: str, timeout: float = 300) -> tuple[subprocess.CompletedProcess[str], float]:
    began = time.monotonic()
    done = subprocess.run(
        coldstart_argv(*args), capture_output=True, text=True, cwd=REPO, timeout=timeout
    )
    return done, time.monotonic() - began


def _first_line(done: subprocess.CompletedProcess[str]) -> str:
    """The last line it said, less its "error:" and the temporary path it names."""
    lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
    text = re.sub(r"/tmp/\S*/", "", (lines[-1] if lines else "").removeprefix("error: "))
    return text[:80] + (" (traceback)" if "Traceback" in done.stderr else "")


def _run(
    tmp: Path, scenario: str, *args: str
) -> tuple[subprocess.CompletedProcess[str], float, Path]:
    path = tmp / "s.toml"
    path.write_text(scenario)
    done, took = _coldstart("run", str(path), "--results-dir", str(tmp / "r"), "--run-id", "x",
                            "-q", "--no-report", *args)  # fmt: skip
    return done, took, tmp / "r" / "x"


def _ab(crashes: str, reps: int = 10) -> str:
    return (
        f'repetitions = {reps}\n[matrix]\nbuild = ["base", "candidate"]\n'
        f"[[services]]\ncommand = {toy_command()}\n"
        '[[services.when]]\nmatch = { build = "candidate" }\n'
        f'args = ["--crash-in-repetitions", "{crashes}", "--repetition", "{{repetition}}"]\n'
        '[requests]\nkind = "http"\n[gate]\nfactor = "build"\nbaseline_level = "base"\n'
    )


def crashing_candidate(tmp: Path) -> tuple:
    _done, _took, run_dir = _run(tmp, _ab("0,1,3,5,7,9"))
    done, took = _coldstart("gate", str(run_dir), "--max-regression", "50%")
    said = next((ln for ln in done.stdout.splitlines() if "fails more often" in ln), "")
    return done.returncode, took, said.strip()[:80]


def _write_run(path: Path, ttfts: list[float], calibrations: list[float | None]) -> Path:
    from coldstart_bench.results.schema import MachineSample
    from coldstart_bench.results.store import RunWriter

    path.mkdir(parents=True)
    plan = {"variants": [{"id": "default", "factors": {}}]}
    writer = RunWriter(path, {"run_id": path.name, "status": "complete", "plan": plan})
    for i, (ttft, cal) in enumerate(zip(ttfts, calibrations, strict=True)):
        machine = MachineSample(cal, (cal,), 0.3, 2) if cal is not None else None
        writer.append(record(i, run_id=path.name, ready_ms=ttft * 0.9, cold_ttft_ms=ttft,
                             machine=machine))  # fmt: skip
    writer.finish(status="complete")
    return path


def uncalibrated_baseline(tmp: Path) -> tuple:
    # the same build on a machine 30 % slower, against a baseline saved --no-calibration
    base = _write_run(tmp / "base", [1000.0 + i for i in range(20)], [None] * 20)
    new = _write_run(tmp / "new", [1300.0 + i for i in range(20)], [72.0] * 20)
    done, took = _coldstart("gate", str(new), "--baseline", str(base))
    text = " ".join(done.stdout.split())
    said = (
        text[text.find("inconclusive: the machines") :][:80]
        if "inconclusive" in text
        else text[:80]
    )
    return done.returncode, took, said


def users_dir_for_vllm(tmp: Path) -> tuple:
    mine = tmp / "mine"
    (mine / "model").mkdir(parents=True)
    (mine / "model" / "weights.bin").write_bytes(b"the user's")
    (mine / "prepared.json").write_text("{}")
    done, took = _coldstart("prepare-vllm", "--dir", str(mine), "--force")
    kept = (mine / "model" / "weights.bin").exists() and (
        mine / "prepared.json"
    ).read_text() == "{}"
    return done.returncode, took, f"user's files kept: {kept}; {_first_line(done)[31:81]}"


def _bad_run(tmp: Path, meta: str, trials: str | None = None, fifo: bool = False) -> Path:
    run = tmp / "bad"
    run.mkdir()
    (run / "run.json").write_text(meta)
    if fifo:
        os.mkfifo(run / "trials.jsonl")
    elif trials is not None:
        (run / "trials.jsonl").write_text(trials)
    return run


GOOD_META = json.dumps({"kind": "coldstart-bench.run", "schema_version": 2, "run_id": "bad"})


def run_json_a_list(tmp: Path) -> tuple:
    done, took = _coldstart("report", str(_bad_run(tmp, "[1, 2]")), "--format", "md")
    return done.returncode, took, _first_line(done)


def trials_a_fifo(tmp: Path) -> tuple:
    done, took = _coldstart("gate", str(_bad_run(tmp, GOOD_META, fifo=True)), "--factor", "a",
                            "--baseline-level", "x", timeout=60)  # fmt: skip
    return done.returncode, took, _first_line(done)


def a_figure_that_is_a_word(tmp: Path) -> tuple:
    lines = "".join(
        json.dumps({**record(i).to_dict(), "cold_ttft_ms": "fast"}) + "\n" for i in range(4)
    )
    done, took = _coldstart("report", str(_bad_run(tmp, GOOD_META, lines)), "--format", "md")
    return done.returncode, took, _first_line(done)


def one_level_sequential(tmp: Path) -> tuple:
    text = (
        f'repetitions = 20\n[matrix]\nbuild = ["base"]\n[[services]]\ncommand = {toy_command()}\n'
        '[requests]\nkind = "http"\n[gate]\nfactor = "build"\nbaseline_level = "base"\n'
    )
    done, took, run_dir = _run(tmp, text, "--sequential")
    return done.returncode, took, f"trials run: {run_dir.exists()}; {_first_line(done)[:55]}"


def shm_after_a_graceful_stop(tmp: Path) -> tuple:
    names = tmp / "names"
    command = json.dumps(["{python}", str(SHM_HOLDER), str(names), "--raw"])
    done, took, _ = _run(tmp, f"repetitions = 1\n[[services]]\ncommand = {command}\n"
                              'ready = { kind = "log", pattern = "never", timeout_s = 2 }\n'
                              "stop_grace_s = 0.5\n")  # fmt: skip
    left = [p for p in names.read_text().split() if Path(p).exists()]
    return done.returncode, took, f"/dev/shm files left after SIGTERM: {len(left)} of 3"


def daemon_on_sigterm(tmp: Path) -> tuple:
    pidfile = tmp / "pids"
    command = toy_command("--daemon-on-sigterm", "--pidfile", str(pidfile))
    worst = 0.0
    for n in range(3):
        (tmp / str(n)).mkdir()
        _done, _took, run_dir = _run(
            tmp / str(n),
            f"repetitions = 1\n[[services]]\ncommand = {command}\n"
            'ready = { kind = "http", path = "/health" }\nstop_grace_s = 10\n',
        )
        trial = json.loads((run_dir / "trials.jsonl").read_text().splitlines()[0])
        worst = max(worst, trial["teardown_ms"])
    left = [p for p in pids_in(pidfile) if alive(p)]
    return (
        0,
        worst / 1000,
        f"slowest teardown of 3: {worst:,.0f} ms (grace 10 s); alive: {len(left)}",
    )


def secrets_by_meaning(tmp: Path) -> tuple:
    secrets = ("PASSWD-S-1", "CRED-S-2", "URLPW-S-3", "QUERY-S-4", "COOKIE-S-5")
    command = toy_command("--say", "0:db postgres://u:URLPW-S-3@h/x")
    done, took, run_dir = _run(
        tmp,
        f"repetitions = 1\n[[services]]\ncommand = {command}\n"
        'env = { DB_PASSWD = "PASSWD-S-1", GCP_CREDENTIALS = "CRED-S-2" }\n'
        'ready = { kind = "http", path = "/health?api_key=QUERY-S-4" }\n'
        '[requests]\nkind = "http"\nheaders = { Cookie = "s=COOKIE-S-5" }\n',
    )
    files = [p for p in run_dir.rglob("*") if p.is_file() and not p.name.endswith(".log")]
    leaked = {s for p in files for s in secrets if s in p.read_text(errors="replace")}
    leaked |= {s for s in secrets if s in done.stdout + done.stderr}
    return done.returncode, took, f"secrets written in clear: {len(leaked)} of {len(secrets)}"


def wrong_readiness_path(tmp: Path) -> tuple:
    done, took, run_dir = _run(
        tmp,
        "repetitions = 10\n[matrix]\na = [1, 2, 3, 4]\n"
        f"[[services]]\ncommand = {toy_command()}\n"
        'ready = { kind = "http", path = "/healthz", timeout_s = 3 }\n',
    )
    trials = len((run_dir / "trials.jsonl").read_text().splitlines())
    return (
        done.returncode,
        took,
        f"stopped after {trials} of 40 trials (timeout_s = 3), reason said",
    )


def until_after_ready_at_full_rate(tmp: Path) -> tuple:
    path = tmp / "s.toml"
    load = '[load]\npattern = "poisson"\nrate = 100000\nuntil_after_ready_s = 3600\n'
    path.write_text(f'[[services]]\ncommand = ["true"]\n[requests]\nkind = "http"\n{load}')
    done, took = _coldstart("validate", str(path))
    return done.returncode, took, _first_line(done)[:80]


ROUND_4 = (
    ("candidate crashes in 6 of 10 starts", "gate: pass, exit 0", crashing_candidate),
    ("baseline saved --no-calibration, machine +30 %", "false regression, exit 1",
     uncalibrated_baseline),
    ("prepare-vllm --dir on a user's directory", "model/ and prepared.json removed",
     users_dir_for_vllm),
    ("run.json is a JSON array", "traceback, exit 1", run_json_a_list),
    ("trials.jsonl is a FIFO", "hangs every reader", trials_a_fifo),
    ('every cold_ttft_ms is "fast"', "traceback, exit 1", a_figure_that_is_a_word),
    ("--sequential on a one-level [gate] factor", "5 trials, then crashed", one_level_sequential),
    ("graceful stop, /dev/shm segment held", "segment left: next trial FileExistsError",
     shm_after_a_graceful_stop),
    ("stop handler double-forks a setsid daemon", "10.0 s teardown", daemon_on_sigterm),
    ("secrets by meaning (PASSWD, URL, query, cookie)", "written in clear", secrets_by_meaning),
    ("wrong readiness path (/healthz)", "every trial waits its timeout", wrong_readiness_path),
    ("until_after_ready_s 3600 at 100,000 req/s", "validate exit 0, ~80 MB/s",
     until_after_ready_at_full_rate),
)  # fmt: skip
