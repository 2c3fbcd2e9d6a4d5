"""The start-up's CPU time and peak memory as coldstart measures them, beside GNU time's of
the same command started alone — side by side, in one run.

Each round starts the reference server (a small model) four ways, in turn:
  - a coldstart trial, cgroup accounting (spawn → ready: CPU time, main process's VmHWM);
  - a coldstart trial, process-table accounting (the fallback);
  - ``/usr/bin/time -f "%U %S %M"`` of the same command, SIGTERMed the moment ``/health``
    answers (user + system of the server and the children it waited for, its max RSS).

GNU time counts up to the process's exit, coldstart up to ready: the server does nothing
in between but answer one health check and exit, so the two should agree within a few per
cent. Run: ``python benchmarks/cpu_fidelity.py [-n 5]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from helpers import run_options  # noqa: E402

from coldstart_bench.host.paths import default_cache_dir  # noqa: E402
from coldstart_bench.proc.ports import free_port  # noqa: E402
from coldstart_bench.run.session import run_scenario  # noqa: E402
from coldstart_bench.scenario.reader import parse_scenario  # noqa: E402

MODEL = default_cache_dir() / "models" / "small"


def server_argv(port: int | str) -> list[str]:
    return [sys.executable, "-m", "coldstart_bench.target", "serve", "--model", str(MODEL),
            "--port", str(port)]  # fmt: skip


def coldstart(tmp: Path, accounting: str, n: int) -> list[tuple[float, float]]:
    argv = ", ".join(f'"{a}"' for a in server_argv("{port}"))
    text = (
        f"repetitions = {n}\n[[services]]\ncommand = [{argv}]\n"
        'ready = { kind = "http", path = "/health", timeout_s = 120 }\n'
        'env = { OMP_NUM_THREADS = "1" }\n'
    )
    loaded = parse_scenario(text, path=tmp / "s.toml")
    outcome = run_scenario(loaded, run_options(tmp / accounting, accounting=accounting))
    works = [t.services[0].cpu for t in outcome.trials if t.status == "ok"]
    return [(w.ready_ms, w.peak_rss_mib) for w in works if w is not None and w.ready_ms]


def gnu_time(n: int) -> list[tuple[float, float]]:
    out = []
    for _ in range(n):
        port = free_port()
        with tempfile.NamedTemporaryFile("r") as report:
            argv = ["/usr/bin/time", "-o", report.name, "-f", "%U %S %M", *server_argv(port)]
            env = {"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
            quiet = subprocess.DEVNULL
            proc = subprocess.Popen(argv, stdout=quiet, stderr=quiet, env=env)
            url = f"http://127.0.0.1:{port}/health"
            while True:
                try:
                    with urllib.request.urlopen(url, timeout=1) as answer:
                        if answer.status == 200:
                            break
                except OSError:
                    time.sleep(0.005)
            # the server is time's child: stop it, and time reports what it used
            child = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True)
            for pid in child.stdout.split():
                os.kill(int(pid), signal.SIGTERM)
            proc.wait(30)
            user, system, max_kb = report.read().split()[-3:]
            out.append(((float(user) + float(system)) * 1000, int(max_kb) / 1024))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=5)
    args = parser.parse_args()
    if shutil.which("/usr/bin/time") is None:
        print("needs GNU time (apt-get install time)", file=sys.stderr)
        return 2
    subprocess.run([*server_argv(0)[:3], "make-model", "--size", "small", "--out", str(MODEL)],
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    rows: dict[str, list[tuple[float, float]]] = {}
    # rounds interleave the three ways, so that a drifting machine drifts them alike
    for round_ in range(args.n):
        with tempfile.TemporaryDirectory() as tmp:
            for name, accounting in (("coldstart, cgroup", "auto"), ("coldstart, /proc", "proc")):
                rows.setdefault(name, []).extend(coldstart(Path(tmp) / str(round_), accounting, 1))
        rows.setdefault("/usr/bin/time (alone)", []).extend(gnu_time(1))
    reference = rows["/usr/bin/time (alone)"]
    ref_cpu = statistics.median(c for c, _m in reference)
    ref_rss = statistics.median(m for _c, m in reference)
    print(f"{'':<24} {'CPU to ready, ms':>18} {'vs time':>8} {'peak RSS, MiB':>14} {'vs time':>8}")
    for name, values in rows.items():
        cpu = statistics.median(c for c, _m in values)
        rss = statistics.median(m for _c, m in values)
        print(
            f"{name:<24} {cpu:>18,.0f} {cpu / ref_cpu:>7.3f}× {rss:>14,.1f} "
            f"{rss / ref_rss:>7.3f}×   (n={len(values)})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
