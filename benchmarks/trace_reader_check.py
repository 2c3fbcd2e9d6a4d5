"""A run's trace.json opened by a trace reader that is not ours: speedscope (npm
``speedscope``; it imports the Trace Event format that Perfetto and chrome://tracing read),
its bundled web app in headless Chromium, offline.

Perfetto's UI and trace processor fetch their code from the network, and Debian's Chromium
has no chrome://tracing viewer; speedscope's package holds its whole app. The check: the
reader loads the file without an error, and lists one profile per lane of the trace (each
trial's client and each service's spans), named as the trace's metadata names them.

Run: ``npm install --prefix /tmp/speedscope speedscope@1.25.0``, then
``python benchmarks/trace_reader_check.py --speedscope /tmp/speedscope/node_modules/speedscope
[--run RUN_DIR] [--screenshot PNG]`` (without --run: a run of the reference server with its
OpenTelemetry spans, 2 trials, ~30 s).
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCENARIO = """
name = "trace-check"
repetitions = 2
setup = [["{python}", "-m", "coldstart_bench.target", "make-model", "--size", "small",
          "--out", "{cache_dir}/models/small"]]
[[services]]
name = "llm"
command = ["{python}", "-m", "coldstart_bench.target", "serve", "--model",
           "{cache_dir}/models/small", "--port", "{port}", "--otel-spans"]
ready = { kind = "http", path = "/health", timeout_s = 120 }
spans = "otlp"
[requests]
kind = "openai-chat"
count = 2
prompts = ["Why is the first request slow?"]
max_tokens = 8
"""


def make_run(where: Path) -> Path:
    scenario = where / "trace-check.toml"
    scenario.write_text(SCENARIO)
    subprocess.run(
        [sys.executable, "-m", "coldstart_bench", "run", str(scenario), "--results-dir",
         str(where / "results"), "--run-id", "trace-check", "-q"],
        check=True,
    )  # fmt: skip
    return where / "results" / "trace-check"


def lanes(trace: dict) -> list[str]:
    """The thread names the trace's metadata gives, in order."""
    return [
        e["args"]["name"]
        for e in trace["traceEvents"]
        if e.get("ph") == "M" and e.get("name") == "thread_name"
    ]


def open_in_speedscope(
    trace_path: Path, app: Path, screenshot: Path | None, profile: int = 1
) -> dict:
    from selenium import webdriver

    loader = trace_path.with_suffix(".speedscope.js")
    data = base64.b64encode(trace_path.read_bytes()).decode()
    loader.write_text(
        f"speedscope.loadFileFromBase64({json.dumps(trace_path.name)}, {json.dumps(data)})"
    )
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,900",
                 "--allow-file-access-from-files"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options)
    try:
        index = (app / "dist" / "release" / "index.html").resolve()
        driver.get(f"file://{index}#localProfilePath={loader}")
        deadline = time.monotonic() + 30
        title = ""
        while time.monotonic() < deadline:
            title = driver.title
            if trace_path.name in title:
                break
            time.sleep(0.2)
        time.sleep(1.0)
        for _ in range(profile - 1):  # speedscope's key for the next profile
            driver.find_element("tag name", "body").send_keys("n")
            time.sleep(0.3)
        body = driver.find_element("tag name", "body").text
        if screenshot is not None:
            driver.save_screenshot(str(screenshot))
        return {"title": title, "text": body}
    finally:
        driver.quit()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--speedscope", type=Path, required=True, help="the npm package's dir")
    parser.add_argument("--run", type=Path, help="a run directory with report/trace.json")
    parser.add_argument("--screenshot", type=Path)
    parser.add_argument("--profile", type=int, default=1, help="the profile (lane) to show")
    args = parser.parse_args(argv)
    if not (args.speedscope / "dist" / "release" / "index.html").exists():
        print(f"{args.speedscope}: no speedscope app here (npm install speedscope@1.25.0)")
        return 2
    run = args.run or make_run(Path(tempfile.mkdtemp(prefix="trace-check-")))
    trace_path = run / "report" / "trace.json"
    trace = json.loads(trace_path.read_text())
    names = lanes(trace)
    seen = open_in_speedscope(trace_path, args.speedscope, args.screenshot, args.profile)
    loaded = trace_path.name in seen["title"]
    failed = "Something went wrong" in seen["text"] or "Unrecognized format" in seen["text"]
    spans = sum(e.get("ph") == "X" for e in trace["traceEvents"])
    print(f"trace: {trace_path} ({spans} slices, {len(names)} lanes: {', '.join(names[:6])} …)")
    print(f"speedscope: title {seen['title']!r}; loaded: {loaded}; error shown: {failed}")
    counter = next((line for line in seen["text"].splitlines() if "/" in line and "(" in line), "")
    print(f"speedscope's profile selector: {counter!r}")
    return 0 if loaded and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
