"""scenarios/scale-out-ray.toml on a local three-node Ray cluster (Ray's ``cluster_utils``:
three raylets on this machine, one CPU each), then its fleet figures beside those of the same
fleet placed on this machine alone (scenarios/scale-out.toml), and a check that no replica
outlived the run on any node.

Run: ``python benchmarks/ray_scale_out.py [-n 5] [--results results]`` (needs the ``ray``
extra and HAProxy). Prints the two runs' directories and their fleet tables.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import psutil

from coldstart_bench.run.ray_fleet import local_cluster

ROOT = Path(__file__).resolve().parent.parent


def replicas_alive() -> list[int]:
    """Reference servers of ours still running anywhere on this machine (every node)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        line = process.info.get("cmdline") or []
        if "coldstart_bench.target" in line and "serve" in line:
            found.append(process.pid)
    return found


def run(scenario: str, results: Path, run_id: str, repetitions: int, env: dict) -> Path:
    argv = [sys.executable, "-m", "coldstart_bench", "run", scenario, "--results-dir",
            str(results), "--run-id", run_id, "-n", str(repetitions), "-q"]  # fmt: skip
    subprocess.run(argv, cwd=ROOT, env=env, check=False)
    return results / run_id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=5, help="repetitions of each variant")
    parser.add_argument("--results", type=Path, default=ROOT / "results")
    args = parser.parse_args(argv)
    with local_cluster(nodes=3) as address:
        env = {**os.environ, "RAY_ADDRESS": address}
        spread = run("scenarios/scale-out-ray.toml", args.results, "scale-out-ray", args.n, env)
        left = replicas_alive()
    local = run("scenarios/scale-out.toml", args.results, "scale-out-local", args.n, {**os.environ})
    for directory in (spread, local):
        print(f"\n{directory}")
        fleet = directory / "report" / "fleet.csv"
        print(fleet.read_text() if fleet.exists() else "(no fleet.csv)")
    print(f"replicas alive after the Ray run, on any node: {left or 'none'}")
    return 0 if not left else 1


if __name__ == "__main__":
    raise SystemExit(main())
