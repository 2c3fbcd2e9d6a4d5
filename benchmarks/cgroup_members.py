"""Which processes a service's cgroup counted, and whether their own CPU times add up to the
cgroup's: runs ``coldstart run ARGS...`` (one trial is enough), watches every cgroup the
harness makes every 0.2 s while it runs, and prints each member (pid, name, its own
user + system time as last seen, at 10 ms ticks) and their sum beside the CPU work the
trial recorded.

Run: ``python benchmarks/cgroup_members.py scenarios/vllm-cpu.toml -n 1 --warmup-trials 0
--variant compile=eager --variant compile_cache=warm --variant page_cache=warm --variant
executor=mp`` (docs: How a trial is measured). Needs cgroups the harness can make.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from coldstart_bench.host import accounting, processes  # noqa: E402


def main(argv: list[str]) -> int:
    results = Path(tempfile.mkdtemp(prefix="cgroup-members-"))
    command = [sys.executable, "-m", "coldstart_bench", "run", *argv,
               "--results-dir", str(results), "--run-id", "watched", "--no-report"]  # fmt: skip
    harness = subprocess.Popen(command, cwd=REPO)
    members: dict[int, tuple[str, float]] = {}
    while harness.poll() is None:
        for group, pid in accounting.made_groups().items():
            if pid != harness.pid or not (group / "cgroup.procs").exists():
                continue
            try:
                pids = [int(p) for p in (group / "cgroup.procs").read_text().split()]
            except OSError:
                continue
            for member in pids:
                info, ticks = processes.read_proc(member), processes.cpu_ticks(member)
                if info is not None and ticks is not None:
                    seen = (ticks[0] + ticks[1]) / 100
                    members[member] = (info.comm, max(seen, members.get(member, ("", 0.0))[1]))
        time.sleep(0.2)
    print(f"coldstart run exited {harness.returncode}; {len(members)} process(es) in its cgroups")
    for pid, (comm, cpu_s) in sorted(members.items()):
        print(f"  {pid:>8} {comm:<16} {cpu_s:8.1f} s")
    print(f"  their own CPU as last seen: {sum(c for _, c in members.values()):.1f} s")
    for line in (results / "watched" / "trials.jsonl").read_text().splitlines():
        trial = json.loads(line)
        for service in trial["services"]:
            cpu = service.get("cpu") or {}
            print(f"trial {trial['trial']} {service['name']}: recorded {cpu}")
    return harness.returncode or 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
