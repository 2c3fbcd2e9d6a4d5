"""Our vLLM start-up figures beside vLLM's own ``vllm bench startup``, on the same model and
engine settings, one after the other on this machine.

``vllm bench startup`` times ``LLM.from_engine_args`` in a fresh process (its imports
before the clock starts), with a fresh cache root and Inductor cache for each cold start and
the caches its warm-up filled for each warm one. Ours is `coldstart run` of
benchmarks/vllm_startup_check.toml (the same engine settings, served: ``vllm serve``, one
process as the benchmark arranges it); its comparable span is from vLLM's
``non-default args`` line (arguments parsed) to its ``init engine ... took`` line (the
engine ready): the phases config, worker_start, weights and engine_init. Both sides also
print vLLM's own timers ("Loading weights took", "init engine ... took"), compared too.

Needs ``coldstart prepare-vllm``. Run: ``python benchmarks/vllm_startup_check.py [-n 3]
[--compile eager|on]`` (eager, n=3: about 4 min on 2 cores; on: about 15 min).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from coldstart_bench.engines.vllm import VLLM  # noqa: E402
from coldstart_bench.engines.vllm.prepare import VllmHome  # noqa: E402

SCENARIO = REPO / "benchmarks" / "vllm_startup_check.toml"
KV_BYTES = "2147483648"  # as the scenario's kv_bytes
SPAN = ("config", "worker_start", "weights", "engine_init")
PATTERNS = {
    p.name: re.compile(p.until) for p in VLLM.phases if p.name in ("weights", "engine_init")
}


def theirs(
    home: VllmHome, compile_mode: str, n: int, scratch: Path
) -> dict[str, dict[str, list[float]]]:
    """vllm bench startup: seconds per iteration, cold and warm, and the figures vLLM printed
    in each (its iterations print in order: n cold, one warm-up, n warm)."""
    out = scratch / "bench.json"
    argv = [str(home.shim), "bench", "startup", "--model", str(home.model), "--dtype", "float32"]
    argv += ["--max-model-len", "2048", "--gpu-memory-utilization", "0.3"]
    argv += ["--kv-cache-memory-bytes", KV_BYTES]
    argv += ["--max-num-seqs", "128", "--max-num-batched-tokens", "2048"]
    argv += ["--enforce-eager"] if compile_mode == "eager" else []
    argv += ["--num-iters-cold", str(n), "--num-iters-warmup", "1", "--num-iters-warm", str(n)]
    argv += ["--output-json", str(out)]
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "VLLM_USE_AOT_COMPILE": "0",
        "VLLM_NO_USAGE_STATS": "1",
        # its warm starts use these; its cold ones make fresh ones of their own
        "VLLM_CACHE_ROOT": str(scratch / "vllm-cache"),
        "TORCHINDUCTOR_CACHE_DIR": str(scratch / "inductor"),
        "TMPDIR": str(scratch),
    }
    log = scratch / "bench.log"
    with open(log, "w") as f:
        subprocess.run(argv, check=True, env=env, stdout=f, stderr=subprocess.STDOUT, timeout=3600)
    result = json.loads(out.read_text())
    printed: dict[str, list[float]] = {name: [] for name in PATTERNS}
    for line in log.read_text(errors="replace").splitlines():
        for name, regex in PATTERNS.items():
            if match := regex.search(line):
                printed[name].append(float(match.group("seconds")))
    skip = n + 1  # the cold iterations and the warm-up come before the warm ones
    return {
        "cold": {
            "span": result["cold_startup_times"],
            **{k: v[:n] for k, v in printed.items()},
        },
        "warm": {
            "span": result["warm_startup_times"],
            **{k: v[skip : skip + n] for k, v in printed.items()},
        },
    }


def ours(
    home: VllmHome, compile_mode: str, n: int, scratch: Path
) -> dict[str, dict[str, list[float]]]:
    argv = [sys.executable, "-m", "coldstart_bench", "run", str(SCENARIO), "-n", str(n)]
    argv += ["--variant", f"compile={compile_mode}", "--var", f"vllm={home.root}"]
    argv += ["--results-dir", str(scratch), "--run-id", "ours", "--no-report", "-q"]
    subprocess.run(argv, check=True, capture_output=True, timeout=7200)
    figures: dict[str, dict[str, list[float]]] = {
        "cold": {"span": [], "weights": [], "engine_init": []},
        "warm": {"span": [], "weights": [], "engine_init": []},
    }
    for line in (scratch / "ours" / "trials.jsonl").read_text().splitlines():
        trial = json.loads(line)
        if trial["warmup"] or trial["status"] != "ok":
            continue
        phases = {p["phase"]: p for p in trial["phases"]}
        side = figures[trial["factors"]["compile_cache"]]
        side["span"].append(sum(phases[p]["end_ms"] - phases[p]["start_ms"] for p in SPAN) / 1000)
        for name in ("weights", "engine_init"):
            side[name].append(phases[name]["reported_ms"] / 1000)
    return figures


def cell(values: list[float]) -> str:
    if not values:
        return "—"
    return f"{statistics.median(values):.2f} [{min(values):.2f}–{max(values):.2f}]"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-n", type=int, default=3, help="cold and warm starts a side")
    p.add_argument("--compile", choices=("eager", "on"), default="eager")
    p.add_argument("--keep", type=Path, help="keep both sides' logs and results here")
    p.add_argument("--ours-first", action="store_true", help="run our side first")
    args = p.parse_args()
    home = VllmHome.default()
    if (problem := home.problem()) is not None:
        print(f"{problem}: run coldstart prepare-vllm first", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="vllm-check-") as tmp:
        scratch = args.keep or Path(tmp)
        (scratch / "theirs").mkdir(parents=True)
        if args.ours_first:
            us = ours(home, args.compile, args.n, scratch / "ours")
        them = theirs(home, args.compile, args.n, scratch / "theirs")
        if not args.ours_first:
            us = ours(home, args.compile, args.n, scratch / "ours")
    print(
        f"compile={args.compile}, {args.n} cold and {args.n} warm starts a side; seconds, "
        "median [min–max]"
    )
    print(f"{'':32} {'coldstart (vllm serve)':>26} {'vllm bench startup':>26} {'ratio':>6}")
    rows = (
        ("span", "args parsed → engine ready"),
        ("weights", "vLLM's 'Loading weights took'"),
        ("engine_init", "vLLM's 'init engine took'"),
    )
    for cache in ("cold", "warm"):
        for key, label in rows:
            a, b = us[cache][key], them[cache][key]
            ratio = statistics.median(a) / statistics.median(b) if a and b else float("nan")
            print(f"{cache + ': ' + label:32} {cell(a):>26} {cell(b):>26} {ratio:>6.2f}")
    # What a cold cache costs, by each side's own clock: the difference of the medians.
    saved = [
        statistics.median(side["cold"]["span"]) - statistics.median(side["warm"]["span"])
        for side in (us, them)
    ]
    print(
        f"{'cold − warm (the caches’ worth)':32} {saved[0]:>26.2f} {saved[1]:>26.2f} "
        f"{saved[0] / saved[1]:>6.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
