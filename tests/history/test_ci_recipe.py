"""The CI recipe played job by job as GitHub Actions runs it (examples/ci/): each job in a
fresh checkout, the history restored from the cache before the gate script and saved after
it. The first job passes and starts the history; a build with a planted regression fails or
is inconclusive with its reason; no job ever exits 2 for want of a baseline."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from helpers import toy_scenario

from coldstart_bench.history.store import HistoryStore

RECIPES = Path(__file__).parents[2] / "examples" / "ci"
# The toy server's start, CPU work; the planted build adds a fifth to it. CPU work, so that
# the regression is caught where the machine's speed moved between jobs (wall time is then
# not judged, CPU work is).
WORK_MS = 400


def _workflow_steps() -> list[dict[str, object]]:
    workflow = yaml.safe_load((RECIPES / "github-actions.yml").read_text())
    return workflow["jobs"]["coldstart"]["steps"]


def _job(
    tmp_path: Path, number: int, cache: Path, scenario_text: str, *run_options: str
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """One job: a fresh checkout, restore the cache, the workflow's gate step, save."""
    checkout = tmp_path / f"job{number}"
    (checkout / "examples" / "ci").mkdir(parents=True)
    shutil.copy(RECIPES / "coldstart-gate.sh", checkout / "examples" / "ci")
    (checkout / "scenario.toml").write_text(scenario_text)
    steps = {str(s.get("name", "")): s for s in _workflow_steps()}
    history = checkout / str(steps["run and gate"]["env"]["COLDSTART_HISTORY"])  # type: ignore[index]
    if cache.exists():  # actions/cache/restore
        shutil.copy(cache, history)
    env = {
        **os.environ,
        **{k: str(v) for k, v in steps["run and gate"]["env"].items()},  # type: ignore[union-attr]
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "GITHUB_SHA": f"c{number:02d}",
        "GITHUB_REF_NAME": "main",
        "GITHUB_RUN_ID": str(1000 + number),
        "GITHUB_STEP_SUMMARY": str(checkout / "summary.md"),
    }
    done = subprocess.run(
        ["bash", "examples/ci/coldstart-gate.sh", "scenario.toml", "-q", *run_options],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    if history.exists():  # actions/cache/save (the workflow saves on main, after any outcome)
        shutil.copy(history, cache)
    return done, checkout


def test_the_workflow_runs_the_recipe_script_and_keeps_the_history_on_main():
    steps = {str(s.get("name", "")): s for s in _workflow_steps()}
    assert str(steps["run and gate"]["run"]).startswith("bash examples/ci/coldstart-gate.sh ")
    restore, save = steps["restore the history"], steps["keep the history"]
    assert restore["with"]["path"] == save["with"]["path"] == "coldstart-history.sqlite"  # type: ignore[index]
    assert "always()" in str(save["if"]) and "refs/heads/main" in str(save["if"])


@pytest.mark.timeout(600)
def test_the_recipe_passes_its_first_run_and_catches_a_planted_regression(tmp_path: Path):
    scenario = toy_scenario(
        "--startup-work-ms", "{startup_work_ms}",
        repetitions=8, requests={"count": 1},
        extra=f'[vars]\nstartup_work_ms = "{WORK_MS}"\n',
    )  # fmt: skip
    cache = tmp_path / "cache" / "history.sqlite"
    cache.parent.mkdir()

    first, checkout = _job(tmp_path, 1, cache, scenario)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "no earlier run of" in first.stdout and "gate passes" in first.stdout
    junit = ET.parse(checkout / "coldstart-gate.xml").getroot()
    assert (junit.get("tests"), junit.get("failures"), junit.get("errors")) == ("1", "0", "0")
    assert junit.find("testcase").get("name") == "baseline"
    assert "cold-start gate: pass" in (checkout / "summary.md").read_text()

    same, _ = _job(tmp_path, 2, cache, scenario)
    assert same.returncode != 2, same.stdout + same.stderr
    assert "the baseline is the last 1 run(s) of" in same.stdout

    planted = str(int(WORK_MS * 1.2))
    slower, checkout = _job(tmp_path, 3, cache, scenario, "--var", f"startup_work_ms={planted}")
    assert slower.returncode in (1, 4), slower.stdout + slower.stderr
    assert "the baseline is the last 2 run(s) of" in slower.stdout
    assert "| 16/8 |" in (checkout / "summary.md").read_text()  # every trial pooled once
    said = slower.stdout.replace("\n", " ")
    if slower.returncode == 1:  # on wall time, or on CPU work where the machine moved
        assert re.search(r"regression: default c(old|pu)_ttft_ms", said), said
    else:
        assert "inconclusive" in said, said
    junit = ET.parse(checkout / "coldstart-gate.xml").getroot()
    assert int(junit.get("failures", "0")) + int(junit.get("errors", "0")) >= 1

    with HistoryStore(cache) as store:
        runs = [s.entry for s in store.runs()]
    assert [(r.commit, r.branch) for r in runs] == [
        ("c01", "main"),
        ("c02", "main"),
        ("c03", "main"),
    ]
    assert runs[0].verdict == "pass" and runs[2].verdict in ("fail", "inconclusive")
