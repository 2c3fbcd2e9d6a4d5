"""How good the load client is, measured on this machine: one table.

- single-request fidelity: the async load probe against the one-at-a-time probe on the
  same toy server, fresh connections, alternating blocks (connect, TTFB, TTFT medians);
- schedule accuracy: a constant rate of 50, 200 and 500 req/s against a trivial server
  (one token, no delay): how late the client dispatched each request (``lag``) and how
  late its first network action came (``send − scheduled``), p50 and p99;
- the client's sustainable rate: the highest of 200…2,000 req/s it still dispatches with
  p99 lateness under 5 ms and at least 95 % of the rate;
- the harness's own CPU time per load trial (this process: both threads);
- the observer effect: the reference server's self-reported start-up phases with 1 ms
  readiness polling against 50 ms polling (alternating trials, medians; goal within 1 %).

Run: ``python benchmarks/load_bench.py [--quick]`` (a few minutes; --quick: fewer trials).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from helpers import toy_command  # noqa: E402

from coldstart_bench import RunOptions, read_scenario, run_scenario  # noqa: E402
from coldstart_bench.analysis.stats import percentile  # noqa: E402


def _run(text: str, tmp: Path, name: str) -> list:  # type: ignore[type-arg]
    path = tmp / f"{name}.toml"
    path.write_text(text)
    outcome = run_scenario(
        read_scenario(path), RunOptions(results_dir=tmp / "r", run_id=name, record_torch=False)
    )
    return outcome.trials


def _row(name: str, ours: float | None, ref: float | None, unit: str, goal: str) -> None:
    ratio = f"{ours / ref:.2f}" if ours is not None and ref else "-"
    shown = "-" if ours is None else f"{ours:.3f}"
    ref_shown = "-" if ref is None else f"{ref:.3f}"
    print(f"{name:<48} {shown:>9} {ref_shown:>9} {ratio:>6}  {unit:<5} {goal}")


def fidelity(tmp: Path, n: int) -> None:
    server = toy_command("--tokens", "4", "--ttft-ms", "2", "--itl-ms", "1", "--backlog", "128")
    base = f"""
[[services]]
command = {server}
ready = {{ kind = "http", path = "/health" }}
[matrix]
pooling = ["off"]
[requests]
kind = "openai-chat"
max_tokens = 4
"""
    sync: list = []  # type: ignore[type-arg]
    load: list = []  # type: ignore[type-arg]
    for block in range(4):  # alternating, so drift hits both alike
        sync += [
            r
            for t in _run(base + f"count = {n}\npause_ms = 5\n", tmp, f"sync{block}")
            for r in t.requests[1:]
        ]
        trials = _run(
            base + f'[load]\npattern = "constant"\nrate = 100\nrequests = {n}\nstart = "ready"\n',
            tmp,
            f"load{block}",
        )
        load += [r.request for t in trials for r in t.load[1:]]
    for field in ("connect_ms", "ttfb_ms", "ttft_ms"):
        ours = statistics.median(getattr(r, field) for r in load)
        ref = statistics.median(getattr(r, field) for r in sync)
        _row(f"1 request {field[:-3]}: load probe vs one-at-a-time", ours, ref, "ms", "(shown)")


def _constant_rate(
    rate: int, seconds: float, backlog: int, matrix: str = "", timeout_s: float | None = None
) -> str:
    """A scenario: the toy server (one token per answer) under a constant rate for
    ``seconds`` from ready; ``matrix`` is a [matrix] table to add."""
    server = toy_command("--tokens", "1", "--backlog", str(backlog))
    timeout = f"timeout_s = {timeout_s}" if timeout_s is not None else ""
    return f"""
repetitions = 1
[[services]]
command = {server}
ready = {{ kind = "http", path = "/health" }}
{matrix}
[requests]
kind = "openai-completions"
stream = false
max_tokens = 1
{timeout}
[load]
pattern = "constant"
rate = {rate}
requests = {int(rate * seconds)}
start = "ready"
"""


def schedule(tmp: Path, rates: list[int], seconds: float) -> None:
    for rate in rates:
        text = _constant_rate(rate, seconds, backlog=1024)
        [trial] = _run(text, tmp, f"rate{rate}")
        lag = [r.lag_ms for r in trial.load]
        sent = [r.wait_ms for r in trial.load]
        goal = "p99 <= 1 ms" if rate == 200 else "(shown)"
        _row(f"{rate} req/s: dispatch lateness p50", percentile(lag, 50), None, "ms", "(shown)")
        _row(f"{rate} req/s: dispatch lateness p99", percentile(lag, 99), None, "ms", goal)
        _row(f"{rate} req/s: send − scheduled p50", percentile(sent, 50), None, "ms", "(shown)")
        _row(f"{rate} req/s: send − scheduled p99", percentile(sent, 99), None, "ms", "(shown)")


def sustainable(tmp: Path, seconds: float) -> None:
    best = None
    for rate in (200, 500, 1000, 1500, 2000):
        matrix = "[matrix]\npooling = [64]"
        text = _constant_rate(rate, seconds, backlog=4096, matrix=matrix, timeout_s=30)
        [trial] = _run(text, tmp, f"max{rate}")
        lag99 = percentile([r.lag_ms for r in trial.load], 99) or 0.0
        span = (max(r.arrival_ms + r.lag_ms for r in trial.load) - trial.load[0].arrival_ms) / 1e3
        achieved = (len(trial.load) - 1) / span if span > 0 else 0.0
        ok = lag99 < 5.0 and achieved >= 0.95 * rate
        print(f"  {rate:>5} req/s: dispatch p99 {lag99:.2f} ms, achieved {achieved:,.0f} req/s")
        if not ok:
            break
        best = rate
    _row("client's sustainable rate (dispatch p99 < 5 ms)", best, None, "req/s", "(shown)")


def cpu_per_trial(tmp: Path, trials: int) -> None:
    server = toy_command("--tokens", "4", "--ttft-ms", "2", "--backlog", "256")
    text = f"""
repetitions = {trials}
[[services]]
command = {server}
ready = {{ kind = "http", path = "/health" }}
[requests]
kind = "openai-chat"
max_tokens = 4
[load]
pattern = "poisson"
rate = 100
requests = 200
start = "spawn"
warm_after_s = 0.1
"""
    before = resource.getrusage(resource.RUSAGE_SELF)
    began = time.monotonic()
    done = _run(text, tmp, "cpu")
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    wall = time.monotonic() - began
    _row("harness CPU per load trial (400 requests)", cpu / len(done), wall / len(done), "s",
         "(shown: ours vs the trial's wall time)")  # fmt: skip


def observer(tmp: Path, trials: int) -> None:
    model = Path(tempfile.gettempdir()) / "coldstart-bench-bench-model"
    from coldstart_bench.target.weights import write_model  # the reference server's own

    write_model(model, size="tiny")
    phases: dict[int, dict[str, list[float]]] = {1: {}, 50: {}}
    for n in range(trials + 1):  # alternating trials, so drift hits both; the first discarded
        for interval in (1, 50) if n % 2 else (50, 1):
            text = f"""
repetitions = 1
[[services]]
command = ["{{python}}", "-m", "coldstart_bench.target", "serve", "--model", "{model}",
           "--port", "{{port}}"]
ready = {{ kind = "http", path = "/health", timeout_s = 120, interval_ms = {interval} }}
env = {{ OMP_NUM_THREADS = "1" }}
"""
            [trial] = _run(text, tmp, f"poll{interval}-{n}")
            if n == 0:
                continue
            for p in trial.phases:
                phases[interval].setdefault(p.phase, []).append(p.duration_ms)
    for phase in ("import", "model_read", "http_start"):
        fast = statistics.median(phases[1][phase])
        slow = statistics.median(phases[50][phase])
        _row(f"server's own '{phase}': 1 ms vs 50 ms polling", fast, slow, "ms", "within 1 %")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    quick = args.quick
    print(f"{'measure':<48} {'ours':>9} {'reference':>9} {'ratio':>6}  unit  goal")
    with tempfile.TemporaryDirectory() as tmp:
        fidelity(Path(tmp), 10 if quick else 30)
        schedule(Path(tmp), [50, 200, 500], 2.0 if quick else 5.0)
        sustainable(Path(tmp), 1.0 if quick else 2.0)
        cpu_per_trial(Path(tmp), 2 if quick else 5)
        observer(Path(tmp), 4 if quick else 15)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
