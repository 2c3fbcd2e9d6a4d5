"""How much of a trial is the harness itself? Two figures, from one real run:

- **readiness lag**: the test server writes the moment its socket listens (CLOCK_MONOTONIC,
  through the ``COLDSTART_PHASES`` protocol); the harness's ``ready_ms`` minus that moment is
  how late the harness noticed. Goal: median <= 1 ms, p95 <= 2 ms.
- **overhead per trial**: everything the harness spends on a trial that is not the target's
  own time, i.e. the time from t0 to the last response and the teardown.  Measured two
  ways: inside the trial record (``wall_ms`` minus those parts) and from outside (the whole
  ``run_scenario`` call divided by the trial count, minus the same parts), which adds the
  writing of records and the per-run set-up.  Goal: <= 30 ms.

Run: ``python benchmarks/harness_overhead.py [-n TRIALS]`` (or ``nox -s bench``).
Exits non-zero only if the measurement itself broke, never because a goal was missed.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from coldstart_bench import RunOptions, read_scenario, run_scenario
from coldstart_bench.analysis.stats import median, percentile
from coldstart_bench.results.schema import TrialRecord

REPO = Path(__file__).resolve().parent.parent
TOY_SERVER = REPO / "tests" / "servers" / "toy_server.py"

SCENARIO = """\
name = "harness-overhead"
repetitions = {n}
seed = 1

[[services]]
name = "toy"
command = ["{{python}}", "{server}", "--port", "{{port}}", "--tokens", "4"]
ready = {{ kind = "tcp" }}

[requests]
kind = "openai-completions"
count = 2
stream = true
"""


@dataclass(frozen=True)
class Line:
    """One row of the result table: ours vs the reference, against a goal."""

    name: str
    ours: float
    reference: float | None
    goal: str
    met: bool
    unit: str = "ms"

    def render(self, width: int = 38) -> str:
        ref = f"{self.reference:10.3f}" if self.reference is not None else f"{'-':>10}"
        ratio = (
            f"{self.ours / self.reference:7.2f}"
            if self.reference not in (None, 0.0)
            else f"{'-':>7}"
        )
        verdict = "pass" if self.met else "MISS"
        return (
            f"{self.name:<{width}} {self.ours:10.3f} {ref} {ratio}  {self.unit:<3} "
            f"{self.goal:<22} {verdict}"
        )


def readiness_lags(trials: list[TrialRecord]) -> list[float]:
    lags = []
    for trial in trials:
        listen = [p for p in trial.phases if p.phase == "listen"]
        if trial.ready_ms is None or not listen:
            raise SystemExit(f"trial {trial.trial}: no ready time or no listen phase recorded")
        lags.append(trial.ready_ms - listen[0].end_ms)
    return lags


def target_time_ms(trial: TrialRecord) -> float:
    """t0 → the end of the last response, plus teardown: the part the target dictates."""
    last_end = max(r.start_ms + (r.total_ms or 0.0) for r in trial.requests)
    return last_end + (trial.teardown_ms or 0.0)


def in_record_overhead_ms(trial: TrialRecord) -> float:
    assert trial.wall_ms is not None
    setup = (trial.prepare_ms or 0.0) + (trial.page_cache_ms or 0.0)
    return trial.wall_ms - setup - target_time_ms(trial)


def overhead_lines(trials_wanted: int) -> list[Line]:
    """Run the toy server ``trials_wanted`` times and turn the records into table lines."""
    with tempfile.TemporaryDirectory(prefix="coldstart-bench-") as tmp:
        path = Path(tmp) / "overhead.toml"
        path.write_text(SCENARIO.format(n=trials_wanted, server=TOY_SERVER))
        loaded = read_scenario(path)
        began = time.perf_counter()
        outcome = run_scenario(
            loaded, RunOptions(results_dir=Path(tmp) / "results", record_torch=False)
        )
        run_ms = (time.perf_counter() - began) * 1000.0

    trials = [t for t in outcome.trials if not t.warmup]
    broken = [t for t in trials if t.status != "ok"]
    if broken or len(trials) != trials_wanted:
        reasons = "; ".join(f"trial {t.trial}: {t.status}: {t.error}" for t in broken)
        raise SystemExit(f"the overhead run broke: {reasons}")

    lags = readiness_lags(trials)
    inside = [in_record_overhead_ms(t) for t in trials]
    outside = run_ms / len(trials) - (median([target_time_ms(t) for t in trials]) or 0.0)
    wall = median([t.wall_ms or 0.0 for t in trials])
    lag_p50, lag_p95, inside_p50 = median(lags), percentile(lags, 95), median(inside)
    assert lag_p50 is not None and lag_p95 is not None and inside_p50 is not None
    return [
        Line("readiness lag, median", lag_p50, None, "<= 1 ms", lag_p50 <= 1.0),
        Line("readiness lag, p95", lag_p95, None, "<= 2 ms", lag_p95 <= 2.0),
        Line("overhead per trial (in record)", inside_p50, wall, "<= 30 ms", inside_p50 <= 30),
        Line("overhead per trial (whole run / n)", outside, wall, "<= 30 ms", outside <= 30),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--trials", type=int, default=30)
    args = parser.parse_args(argv)
    lines = overhead_lines(args.trials)
    print(f"{args.trials} trials of the toy server (tcp readiness, 2 streamed requests)")
    print(f"{'measure':<38} {'ours':>10} {'reference':>10} {'ratio':>7}  unit goal")
    for line in lines:
        print(line.render())
    print("reference for overhead = median trial wall time")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
