"""A history with a planted step: N runs of one quickstart variant, each added to a fresh
history store as commit cNN, ``--var startup_delay_ms=DELAY`` from commit ``--step`` on;
then ``coldstart history changes``. Done when it names the step's commit (±1) and no
other. ``--busy K,L`` runs those commits under ``stress-ng`` on every CPU (a busy runner;
needs Debian's stress-ng).

Run: ``python benchmarks/history_step.py [--runs 10] [--step 6] [--delay 300] [--busy 3,8]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VARIANT = ["--variant", "warmup=none", "--variant", "pooling=on", "--variant", "cache=off"]


def coldstart(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coldstart_bench", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--step", type=int, default=6, help="the first commit with the delay")
    parser.add_argument("--delay", type=int, default=300, help="ms added to the start-up")
    parser.add_argument("--busy", default="", help="commits run under stress-ng, e.g. 3,8")
    parser.add_argument("-n", type=int, default=3, help="trials a run")
    parser.add_argument("--keep", type=Path, help="keep the history store here")
    args = parser.parse_args(argv)
    busy = {int(b) for b in args.busy.split(",") if b}
    tmp = Path(tempfile.mkdtemp(prefix="history-step-"))
    store = args.keep or tmp / "history.sqlite"
    began = time.monotonic()
    try:
        for i in range(1, args.runs + 1):
            commit = f"c{i:02d}"
            delay = args.delay if i >= args.step else 0
            stress = None
            if i in busy:
                stress = subprocess.Popen(
                    ["stress-ng", "--cpu", str(os.cpu_count()), "--timeout", "600"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            try:
                done = coldstart(
                    "run",
                    "scenarios/quickstart.toml",
                    "-n",
                    str(args.n),
                    *VARIANT,
                    "--var",
                    f"startup_delay_ms={delay}",
                    "--results-dir",
                    str(tmp),
                    "--run-id",
                    commit,
                    "--no-report",
                    "-q",
                )
            finally:
                if stress is not None:
                    stress.terminate()
                    stress.wait()
            if done.returncode != 0:
                print(done.stdout[-2000:], done.stderr[-2000:])
                return 1
            added = coldstart(
                "history",
                "add",
                str(tmp / commit),
                "--history",
                str(store),
                "--commit",
                commit,
                "--branch",
                "main",
            )
            print(
                f"{commit}: delay {delay} ms{' (busy)' if i in busy else ''}; "
                f"{added.stdout.strip()}",
                flush=True,
            )
        changes = coldstart("history", "changes", "--history", str(store))
        print(changes.stdout + changes.stderr)
        print(f"{args.runs} runs in {time.monotonic() - began:.0f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
