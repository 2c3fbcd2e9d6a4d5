"""A small real run to report on: the toy server, pooling on/off, one variant that crashes
and whose crash message tries to inject HTML."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import run_options, toy_command
from report_fixtures import HOSTILE

from coldstart_bench.run.session import run_scenario


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("run")
    path = tmp / "scenario.toml"
    path.write_text(f"""
name = "{HOSTILE}"
description = "report fixture"
repetitions = 3
[matrix]
pooling = ["on", "off"]
mode = ["healthy", "crashing"]
exclude = [{{ pooling = "off", mode = "crashing" }}]
[[services]]
command = {toy_command("--tokens", "3", "--ready-line", "<b>ready</b>")}
[[services.when]]
match = {{ mode = "crashing" }}
args = ["--crash-before-ready"]
[requests]
kind = "openai-chat"
count = 3
""")
    outcome = run_scenario(path, run_options(tmp / "results", run_id="small"))
    assert outcome.exit_code == 1  # the crashing variant
    return outcome.run_dir
