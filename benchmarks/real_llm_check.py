"""Does our probe see the real LLM server as the official OpenAI client does? Rounds
alternate: `coldstart run scenarios/real-llm.toml` (one variant: page cache warm, mmap on,
prompt cache off, N cold trials) and the same number of cold starts of the same server
command measured with the ``openai`` client (stream, the same four prompts, each stream
read to its end before the next request). Prints each request's median TTFT side by side.

Needs the ``llm`` and ``dev`` extras. Run: ``python benchmarks/real_llm_check.py [--rounds 3]
[-n 5]`` (about 30 s a round on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
SCENARIO = REPO / "scenarios" / "real-llm.toml"
VARIANT = ("page_cache=warm", "mmap=on", "prompt_cache=off")
PROMPTS = [
    "Why is the first request after a restart slow?",
    "What does a page cache keep?",
    "Name one way to make a replica start faster.",
    "Why is the first request after a restart slow?",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ours(results: Path, run_id: str, n: int, cache: Path) -> list[list[float]]:
    variants = [arg for v in VARIANT for arg in ("--variant", v)]
    argv = [sys.executable, "-m", "coldstart_bench", "run", str(SCENARIO), *variants]
    argv += ["-n", str(n), "--warmup-trials", "0", "--results-dir", str(results)]
    argv += ["--run-id", run_id, "--no-report"]
    env = {**os.environ, "COLDSTART_CACHE_DIR": str(cache)}
    subprocess.run(argv, check=True, env=env, capture_output=True, timeout=600)
    rows = []
    for line in (results / run_id / "trials.jsonl").read_text().splitlines():
        trial = json.loads(line)
        rows.append([r["ttft_ms"] for r in trial["requests"]])
    return rows


def openai_client(model: Path, n: int, logs: Path) -> list[list[float]]:
    """Cold starts measured with the openai client; the server's output goes to a file,
    as in our trials (llama.cpp writes thousands of lines while it loads)."""
    import openai

    rows = []
    for i in range(n):
        log = (logs / f"server-{time.monotonic_ns()}-{i}.log").open("wb")
        port = free_port()
        flags = "--model_alias smollm2 --host 127.0.0.1 --use_mmap on --cache off"
        flags += " --n_threads 2 --n_ctx 1024"
        argv = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), *flags.split()]
        server = subprocess.Popen(
            [*argv, "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/v1/models").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.01)
            client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="none")
            row = []
            for prompt in PROMPTS:
                began, first = time.perf_counter(), None
                stream = client.chat.completions.create(
                    model="smollm2",
                    messages=[{"role": "user", "content": prompt}],
                    max_tokens=16,
                    stream=True,
                )
                for chunk in stream:  # read to the end, as our probe does
                    if first is None and chunk.choices and chunk.choices[0].delta.content:
                        first = (time.perf_counter() - began) * 1000
                row.append(first if first is not None else float("nan"))
            rows.append(row)
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            log.close()
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("-n", type=int, default=5, help="cold starts per client per round")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="real-llm-check-") as tmp:
        base = Path(tmp)
        probe: list[list[float]] = []
        official: list[list[float]] = []
        for r in range(args.rounds):
            probe += ours(base / "results", f"round{r}", args.n, base / "cache")
            model = base / "cache" / "models" / "smollm2-135m.gguf"
            official += openai_client(model, args.n, base)
            print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    print(f"TTFT from sending the request, median of {len(probe)} cold starts each (ms)")
    print(f"{'request':>8} {'coldstart probe':>16} {'openai client':>14} {'ratio':>6}")
    for i in range(len(PROMPTS)):
        a = statistics.median(row[i] for row in probe)
        b = statistics.median(row[i] for row in official)
        print(f"{i + 1:>8} {a:>16.1f} {b:>14.1f} {a / b:>6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
