"""Model-load throughput of the reference server's loaders vs a raw sequential read of the
same file, warm and cold page cache, measured side by side in one run.

Each load runs in a fresh Python process (torch already imported there before the clock
starts), so no allocator or page state carries over. Cold = the file evicted from the page
cache with posix_fadvise(DONTNEED) just before; warm = read once just before. The raw read
is ``cat FILE > /dev/null`` timed from outside. ``torch-mmap`` is lazy, so it is shown twice:
as returned (nothing read yet) and with every tensor touched (all pages read); safetensors
too, since its tensors are views of mapped page-cache pages and touching them costs a pass
over 600 MB of memory.

Run: ``python benchmarks/model_load.py [--size large] [-n 3]``. Goal: safetensors with a warm
page cache at >= 70 % of the raw read's throughput. Exits non-zero only if a measurement
broke, never on a missed goal.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from coldstart_bench.analysis.stats import median
from coldstart_bench.host.paths import default_cache_dir
from coldstart_bench.run import page_cache

LOADER = r"""
import json, sys, time
from pathlib import Path
import torch
from coldstart_bench.target.phases import PhaseLog
from coldstart_bench.target.weights import load_weights
model_dir, fmt, touch = Path(sys.argv[1]), sys.argv[2], sys.argv[3] == "touch"
start = time.perf_counter()
weights = load_weights(model_dir, fmt, PhaseLog(path=""))
loaded = time.perf_counter()
if touch:
    total = 0.0
    for t in weights.values():
        total += float(t.float().sum())  # reads every byte of every tensor
end = time.perf_counter()
print(json.dumps({"load_s": loaded - start, "total_s": end - start}))
"""


def set_cache(path: Path, state: str) -> None:
    if state == "cold":
        page_cache.evict([path])
    else:
        page_cache.warm([path])


def raw_read_s(path: Path) -> float:
    start = time.perf_counter()
    with open(path, "rb") as f:
        subprocess.run(["cat"], stdin=f, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def loader_s(model_dir: Path, fmt: str, touch: bool) -> float:
    done = subprocess.run(
        [sys.executable, "-c", LOADER, str(model_dir), fmt, "touch" if touch else "lazy"],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout)
    return float(result["total_s"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="large", help="model size (default: large, ~610 MB)")
    parser.add_argument("-n", "--repetitions", type=int, default=3)
    parser.add_argument("--model-dir", type=Path, help="default: the cache directory")
    args = parser.parse_args(argv)

    from coldstart_bench.target.weights import write_model

    model_dir = args.model_dir or default_cache_dir() / "models" / args.size
    written = write_model(model_dir, args.size, ["safetensors", "torch"])
    files = written.files
    cases = [
        ("raw read (cat)", "safetensors", None, False),
        ("safetensors", "safetensors", "safetensors", False),
        ("safetensors + touch", "safetensors", "safetensors", True),
        ("raw read (cat)", "torch", None, False),
        ("torch", "torch", "torch", False),
        ("torch-mmap (lazy)", "torch", "torch-mmap", False),
        ("torch-mmap + touch", "torch", "torch-mmap", True),
    ]
    print(f"model {model_dir} ({args.size}); {args.repetitions} repetitions, median shown")
    header = (
        f"{'loader':<20} {'file':<18} {'cache':<5} {'MB':>5} {'time s':>7} {'MB/s':>7} "
        f"{'vs raw':>6}"
    )
    print(header)
    raw: dict[tuple[str, str], float] = {}
    for state in ("warm", "cold"):
        for label, file_fmt, load_fmt, touch in cases:
            path = files[file_fmt]
            size_mb = path.stat().st_size / 1e6
            times = []
            for _ in range(args.repetitions):
                set_cache(path, state)
                if load_fmt is None:
                    times.append(raw_read_s(path))
                else:
                    times.append(loader_s(model_dir, load_fmt, touch))
            t = median(times)
            assert t is not None
            if load_fmt is None:
                raw[(file_fmt, state)] = t
            ratio = raw[(file_fmt, state)] / t
            goal = ""
            if load_fmt == "safetensors" and state == "warm":
                goal = "  goal >= 0.70: " + ("pass" if ratio >= 0.70 else "MISS")
            print(
                f"{label:<20} {path.name:<18} {state:<5} {size_mb:5.0f} {t:7.3f} "
                f"{size_mb / t:7.0f} {ratio:6.2f}{goal}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
