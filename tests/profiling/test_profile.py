"""`coldstart profile`: the pieces on hand-made input, then the reference server's cold
start profiled for real with every profiler."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from coldstart_bench.profiling.importtime import import_times
from coldstart_bench.profiling.session import _py_spy_problem, run_profile
from coldstart_bench.profiling.stacks import flame_svg, hot_spots, read_collapsed
from coldstart_bench.profiling.wrap import pyinstrument_argv
from coldstart_bench.scenario.reader import parse_scenario


def test_collapsed_stacks_give_self_and_total_shares(tmp_path: Path):
    raw = tmp_path / "raw.txt"
    raw.write_text(
        'process 12:"python srv.py --key a;b";main (a.py:1);load (w.py:10);read (w.py:20) 6\n'
        "main (a.py:1);load (w.py:10) 2\n"
        "main (a.py:1);<script>x</script> (e.py:3) 2\n"
    )
    stacks = read_collapsed(raw)
    assert sum(stacks.values()) == 10
    spots = {h.name: h for h in hot_spots(stacks)}
    assert spots["read (w.py)"].self_share == 0.6
    assert spots["load (w.py)"].total_share == 0.8 and spots["load (w.py)"].self_share == 0.2
    assert spots["main (a.py)"].total_share == 1.0
    svg = flame_svg(stacks, "t")
    ET.fromstring(svg)  # well-formed
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_import_time_lines_are_parsed_and_ranked():
    log = (
        "import time: self [us] | cumulative | imported package\n"
        "import time:       120 |        120 |   json.decoder\n"
        "import time:      5000 |     900000 | torch\n"
        "noise line\n"
        "import time:        50 |       3050 | json\n"
    )
    hot = import_times(log)
    assert [h.name for h in hot] == ["torch", "json", "json.decoder"]
    assert hot[0].total_value == 900000


def test_pyinstrument_wraps_python_modules_and_scripts_only(tmp_path: Path):
    out = str(tmp_path / "s.{trial}.pyisession")
    assert pyinstrument_argv(["{python}", "-m", "srv", "--port", "{port}"], out) == [
        "{python}",
        "-m",
        "pyinstrument",
        "-r",
        "pyisession",
        "-o",
        out,
        "-m",
        "srv",
        "--port",
        "{port}",
    ]
    assert pyinstrument_argv(["/usr/bin/python3", "app.py"], out)[-1] == "app.py"
    assert pyinstrument_argv(["vllm", "serve", "m"], out) is None


def test_a_ptrace_refusal_says_how_to_allow_it():
    message = _py_spy_problem("Error: Operation not permitted (os error 1)")
    assert "SYS_PTRACE" in message and "ptrace_scope" in message


def scenario_for(model: Path) -> str:
    return f"""
name = "profiled"
[matrix]
warmup = ["startup"]
[[services]]
command = ["{sys.executable}", "-m", "coldstart_bench.target", "serve", "--model", "{model}",
           "--port", "{{port}}", "--warmup", "{{warmup}}"]
ready = {{ kind = "http", path = "/health", timeout_s = 120 }}
[requests]
kind = "openai-completions"
count = 3
max_tokens = 8
"""


@pytest.mark.slow
def test_profiling_the_reference_server(tmp_path: Path):
    pytest.importorskip("torch")
    from coldstart_bench.target.weights import write_model

    model = write_model(tmp_path / "model", "small", ["safetensors"]).path
    loaded = parse_scenario(scenario_for(model), path=tmp_path / "s.toml")
    session = run_profile(
        loaded, {}, ["py-spy", "pyinstrument", "importtime"], "first-token", tmp_path / "r"
    )
    by_name = {r.profiler: r for r in session.results}
    assert {r.status for r in session.results} == {"ok"}, [r.message for r in session.results]
    profiles = session.run_dir / "profiles"

    spy = by_name["py-spy"]
    doc = json.loads((profiles / "py-spy.speedscope.json").read_text())
    assert doc["profiles"][0]["type"] == "sampled" and doc["profiles"][0]["samples"]
    ET.parse(profiles / "py-spy.flame.svg")
    everything = hot_spots(read_collapsed(profiles / "py-spy.raw.txt"), top=100_000)
    assert any(h.name.startswith("load_model ") for h in everything)  # the model loading
    assert spy.hot and spy.trial is not None

    assert (profiles / "pyinstrument.html").stat().st_size > 1000
    assert "load_model" in (profiles / "pyinstrument.txt").read_text()

    imports = [h.name for h in by_name["importtime"].hot]
    assert "torch" in imports
    assert (profiles / "importtime.png").read_bytes()[:4] == b"\x89PNG"

    for result in session.results:  # stopped after the first token, one request only
        assert result.trial is not None and len(result.trial.requests) == 1
        assert result.trial.requests[0].tokens == 1
    html = (session.run_dir / "report" / "report.html").read_text()
    assert "Start-up profile" in html and "data:image/svg+xml;base64," in html
    assert "pyinstrument.html" in html


BUSY_SERVER = """
import http.server, sys, time

def busy_start():  # a start-up that burns CPU, so py-spy has something to sample
    end = time.perf_counter() + 0.3
    while time.perf_counter() < end:
        sum(range(1000))

busy_start()
handler = http.server.BaseHTTPRequestHandler
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), handler).serve_forever()
"""


def test_repeated_profiles_pool_py_spy_samples_and_take_medians(tmp_path: Path):
    server = tmp_path / "busy_server.py"
    server.write_text(BUSY_SERVER)
    text = f"""
[[services]]
command = ["{{python}}", "{server}", "{{port}}", "--api-key", "sk-profiled-secret-123"]
ready = {{ kind = "tcp", timeout_s = 30 }}
"""
    session = run_profile(
        parse_scenario(text, path=tmp_path / "s.toml"),
        {},
        ["py-spy", "pyinstrument", "importtime"],
        "ready",
        tmp_path / "r",
        repetitions=2,
    )
    assert len(session.baselines) == 2 and all(t.status == "ok" for t in session.baselines)
    by_name = {r.profiler: r for r in session.results}
    assert by_name["py-spy"].status == "ok", by_name["py-spy"].message
    assert len(by_name["py-spy"].trials) == 2
    profiles = session.run_dir / "profiles"
    assert any(h.name.startswith("busy_start ") for h in by_name["py-spy"].hot)
    # The per-trial files (with py-spy's recorded command lines) are pooled, then gone.
    assert (profiles / "py-spy.raw.txt").exists() and not list(profiles.glob("py-spy.*.raw.txt"))
    assert "http.server" in [h.name for h in by_name["importtime"].hot]
    # pyinstrument's page shows the profiled command line: its secret flag is hidden.
    assert by_name["pyinstrument"].status == "ok", by_name["pyinstrument"].message
    assert "busy_start" in (profiles / "pyinstrument.txt").read_text()
    assert not list(profiles.glob("pyinstrument.*.pyisession"))
    for artifact in profiles.iterdir():
        assert b"sk-profiled-secret-123" not in artifact.read_bytes(), artifact.name

    summary = json.loads((session.run_dir / "profile.json").read_text())
    assert summary["repetitions"] == 2 and summary["baseline_n"] == 2
    readies = sorted(t.ready_ms for t in session.baselines)
    assert summary["baseline_ms"] == pytest.approx(sum(readies) / 2)  # median of two
    assert [p["n"] for p in summary["profilers"]] == [2, 2, 2]
    html = (session.run_dir / "report" / "report.html").read_text()
    assert '<td class="num">2/2</td>' in html


def test_profilers_that_cannot_apply_are_skipped_with_the_reason(tmp_path: Path, monkeypatch):
    monkeypatch.setattr("coldstart_bench.profiling.wrap.find_tool", lambda name: None)
    text = """
[[services]]
command = ["sh", "-c", "exec sleep 30"]
ready = { kind = "tcp", timeout_s = 1 }
[requests]
kind = "http"
"""
    session = run_profile(
        parse_scenario(text, path=tmp_path / "s.toml"),
        {},
        ["py-spy", "pyinstrument"],
        "ready",
        tmp_path / "r",
    )
    messages = {r.profiler: (r.status, r.message) for r in session.results}
    assert messages["py-spy"][0] == "skipped" and "not installed" in messages["py-spy"][1]
    assert messages["pyinstrument"][0] == "skipped"
    assert "Python programs" in messages["pyinstrument"][1]


def test_profilers_are_found_beside_the_interpreter_of_a_venv_that_is_not_activated():
    # A pipx-style install runs venv/bin/coldstart without venv/bin on PATH.
    venv_bin = Path(sys.executable).parent
    if not (venv_bin / "py-spy").exists():
        pytest.skip(f"py-spy is not installed beside {sys.executable}")
    code = "from coldstart_bench.profiling.wrap import find_tool; print(find_tool('py-spy'))"
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == str(venv_bin / "py-spy")


def test_a_stack_of_a_process_marker_alone_keeps_no_command_line(tmp_path: Path):
    """py-spy samples a process before it ran any Python (more often on a busy machine) as
    its marker alone, with no ';' after it: the command line (and its secrets) must still go."""
    raw = tmp_path / "raw.txt"
    raw.write_text(
        'process 12:"python s.py --api-key sk-profiled-secret-123" 3\n'
        'process 12:"python s.py --api-key sk-profiled-secret-123";<module> (s.py:1) 5\n'
        "process 13:python s.py --token=sk-other-secret-456 2\n"
    )
    stacks = read_collapsed(raw)
    assert stacks == {("<module> (s.py:1)",): 5}
    assert "secret" not in repr(stacks)
