"""`log_phases = "vllm"`: the start-up phases of a server that reports none, from a named set
of patterns read off its own output, checked here against logs real servers wrote."""

from __future__ import annotations

from pathlib import Path

import pytest

from coldstart_bench.engines import PRESETS
from coldstart_bench.errors import ScenarioError
from coldstart_bench.proc.readiness import LogMarks
from coldstart_bench.scenario.reader import parse_scenario

LOGS = Path(__file__).parents[1] / "data" / "server-logs"


def phases_of(log_phases: str) -> list[tuple[str, str]]:
    loaded = parse_scenario(f"""
[[services]]
command = ["serve"]
log_phases = {log_phases}
""")
    return [(p.name, p.until) for p in loaded.scenario.services[0].log_phases]


def test_a_preset_name_stands_for_its_list_of_phases():
    assert phases_of('"vllm"') == [(p.name, p.until) for p in PRESETS["vllm"].phases]
    assert [name for name, _ in phases_of('"llama.cpp"')] == [
        "import", "model_load", "context", "http_start",
    ]  # fmt: skip


def test_an_unknown_preset_names_the_ones_there_are():
    with pytest.raises(
        ScenarioError,
        match=r"no preset named 'vlm' \(presets: 'llama.cpp', 'vllm'\).*did you mean 'vllm'",
    ):
        phases_of('"vlm"')


def test_a_pattern_gives_the_servers_figure_as_one_group():
    with pytest.raises(ScenarioError, match="one group, 'seconds' or 'ms'"):
        phases_of('[{ name = "w", until = "(?P<seconds>[0-9]+) (?P<ms>[0-9]+)" }]')


def marks_in(log: Path, preset: str) -> LogMarks:
    patterns = {p.name: p.until for p in PRESETS[preset].phases}
    marks = LogMarks(log, patterns)
    marks(1)  # the whole log at once: every mark stamped 1
    return marks


@pytest.mark.parametrize(
    "log",
    ["vllm-eager-info.log", "vllm-compiled-info.log", "vllm-uni-info.log", "vllm-eager-debug.log"],
)
def test_the_vllm_preset_finds_every_phase_in_logs_vllm_wrote(log: str):
    marks = marks_in(LOGS / log, "vllm")
    assert set(marks.seen_ns) == {p.name for p in PRESETS["vllm"].phases}
    assert set(marks.reported_ms) == {"weights", "engine_init"}
    assert all(0 < v < 600_000 for v in marks.reported_ms.values())


def test_the_vllm_preset_reads_the_figures_vllm_printed():
    marks = marks_in(LOGS / "vllm-eager-info.log", "vllm")
    text = (LOGS / "vllm-eager-info.log").read_text()
    for name, figure in marks.reported_ms.items():
        seconds = f"{figure / 1000:.2f}"
        assert f"took {seconds} s" in text, (name, seconds)
