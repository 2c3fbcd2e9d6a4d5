"""Run every hostile-target case once through the harness and print what happened: the
status, the reason, the processes of the trial still alive afterwards (walking /proc for
every pid the server and its descendants recorded), and the teardown time.

Run: ``python benchmarks/hostile_table.py``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from helpers import alive, pids_in  # noqa: E402
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
