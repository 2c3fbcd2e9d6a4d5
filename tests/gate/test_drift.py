"""Two runs on machines of different speed: the gate says it cannot decide, and why,
rather than call the machine's change the build's (and --allow-drift overrides it)."""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np
from helpers import record
from typer.testing import CliRunner

from coldstart_bench.cli.app import app
from coldstart_bench.results.schema import MachineSample
from coldstart_bench.results.store import RunWriter


def write_run(path: Path, cold_ttft_ms: np.ndarray, calibration_ms: np.ndarray) -> Path:
    """A run directory of trials with these cold TTFTs, each after this calibration (the
    machine's speed, outside what is measured, set here instead of slowing this one)."""
    path.mkdir(parents=True)
    variant = {"id": "default", "factors": {}}
    writer = RunWriter(path, {"run_id": path.name, "status": "complete",
                              "plan": {"variants": [variant]}})  # fmt: skip
    for i, (ttft, calibration) in enumerate(zip(cold_ttft_ms, calibration_ms, strict=True)):
        machine = MachineSample(float(calibration), (float(calibration),), 0.3, 2)
        ready, ttft = float(ttft) * 0.9, float(ttft)
        writer.append(
            record(i, run_id=path.name, ready_ms=ready, cold_ttft_ms=ttft, machine=machine)
        )
    writer.finish(status="complete")
    return path


def test_a_slower_machine_makes_the_gate_inconclusive_not_failed(tmp_path: Path):
    rng = np.random.default_rng(0)
    quiet = write_run(tmp_path / "quiet", rng.normal(1000, 20, 20), rng.normal(55, 1, 20))
    # The same build on a machine twice as slow (calibration) and 20 % slower trials.
    busy = write_run(tmp_path / "busy", rng.normal(1200, 30, 20), rng.normal(110, 3, 20))
    junit = tmp_path / "gate.xml"
    result = CliRunner().invoke(app, ["gate", str(busy), "--baseline", str(quiet),
                                      "--junit", str(junit)])  # fmt: skip
    assert result.exit_code == 4, result.output
    text = " ".join(result.output.split())
    assert re.search(r"machine was (9[5-9]|10[0-5]) % slower", text), text
    assert "A/B" in text and "--allow-drift" in text
    suite = ET.parse(junit).getroot()
    assert suite.get("failures") == "0" and suite.get("errors") == "1"
    anyway = CliRunner().invoke(app, ["gate", str(busy), "--baseline", str(quiet),
                                      "--allow-drift"])  # fmt: skip
    assert anyway.exit_code == 1, anyway.output  # compared anyway: +20 % is a regression


def test_the_same_machine_lets_the_comparison_decide(tmp_path: Path):
    rng = np.random.default_rng(1)
    base = write_run(tmp_path / "base", rng.normal(1000, 20, 20), rng.normal(55, 1, 20))
    new = write_run(tmp_path / "new", rng.normal(1000, 20, 20), rng.normal(55, 1, 20))
    result = CliRunner().invoke(app, ["gate", str(new), "--baseline", str(base)])
    assert result.exit_code == 0, result.output
    assert "the same within 5%" in " ".join(result.output.split())
    compared = CliRunner().invoke(app, ["compare", str(base), str(new), "--out",
                                        str(tmp_path / "cmp")])  # fmt: skip
    assert compared.exit_code == 0
    assert "no change" in compared.output and "the same within 5%" in " ".join(
        compared.output.split()
    )
