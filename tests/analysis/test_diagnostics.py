"""Known pitfalls recognised in a run's numbers: hand-made requests first, then the toy
server with Nagle's algorithm left on, through `coldstart run`'s report."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from helpers import run_options, toy_command

from coldstart_bench import read_run
from coldstart_bench.analysis.diagnostics import diagnose
from coldstart_bench.analysis.frames import requests_frame
from coldstart_bench.report.build import build_report
from coldstart_bench.run.session import run_scenario


def requests(gaps: dict[str, list[float]], ttfb: float = 1.0) -> pd.DataFrame:
    """Later requests (index 1) of pooling=on (reused) and pooling=off (fresh) variants,
    with the given headers → first token gaps."""
    rows = []
    for level, values in gaps.items():
        for gap in values:
            rows.append(
                {
                    "variant": f"pooling={level}",
                    "factor_pooling": level,
                    "warmup_trial": False,
                    "trial_status": "ok",
                    "status": "ok",
                    "request_index": 1,
                    "reused": level == "on",
                    "ttfb_ms": ttfb,
                    "ttft_ms": ttfb + gap,
                    "total_ms": ttfb + gap + 5,
                }
            )
    return pd.DataFrame(rows)


def test_a_40_ms_stall_on_reused_connections_only_is_called_out():
    [found] = diagnose(requests({"on": [41.0, 43.0, 44.0], "off": [0.3, 0.4, 0.5]}))
    assert found.kind == "nagle"
    assert found.variants == ("pooling=on", "pooling=off")
    assert "43 ms" in found.message and "TCP_NODELAY" in found.message


@pytest.mark.parametrize(
    "gaps",
    [
        {"on": [12.0, 11.0, 13.0], "off": [10.0, 10.5, 11.0]},  # a model's own prefill time
        {"on": [52.0, 55.0, 50.0], "off": [40.0, 42.0, 41.0]},  # slower, but not 3× slower
        {"on": [41.0, 43.0], "off": [0.3, 0.4]},  # too few requests to say
        {"on": [41.0, 43.0, 44.0]},  # nothing fresh to compare with
    ],
)
def test_no_diagnosis_without_the_signature(gaps: dict[str, list[float]]):
    assert diagnose(requests(gaps)) == []


def nagle_run(tmp_path: Path, write_scenario, *flags: str) -> Path:
    path = write_scenario(f"""
        repetitions = 3
        [matrix]
        pooling = ["on", "off"]
        [[services]]
        command = {toy_command("--tokens", "8", "--itl-ms", "2", *flags)}
        [requests]
        kind = "openai-chat"
        count = 4
    """)
    name = "nagle" if flags else "nodelay"
    outcome = run_scenario(path, run_options(tmp_path / "results", run_id=name))
    assert outcome.exit_code == 0
    build_report(outcome.run_dir, formats=["md", "html"])
    return outcome.run_dir


def test_a_server_without_tcp_nodelay_is_diagnosed_in_the_report(tmp_path: Path, write_scenario):
    run_dir = nagle_run(tmp_path, write_scenario, "--nagle")
    run = requests_frame(read_run(run_dir).trials)
    later = run[(run["request_index"] >= 1) & (run["factor_pooling"] == "on")]
    stall = float((later["ttft_ms"] - later["ttfb_ms"]).median())
    if stall < 30:
        pytest.skip(f"this kernel did not delay ACKs on loopback (gap {stall:.1f} ms)")
    summary = (run_dir / "report" / "summary.md").read_text()
    assert "### Worth checking" in summary and "TCP_NODELAY" in summary
    assert "Worth checking:" in (run_dir / "report" / "report.html").read_text()


def test_a_server_with_tcp_nodelay_raises_no_alarm(tmp_path: Path, write_scenario):
    run_dir = nagle_run(tmp_path, write_scenario)
    assert "Worth checking" not in (run_dir / "report" / "summary.md").read_text()


def test_pooling_against_a_server_that_closes_every_connection_was_not_tested(
    tmp_path, write_scenario
):
    from helpers import run_options, toy_scenario

    from coldstart_bench.analysis.run_analysis import analyse
    from coldstart_bench.results.store import read_run
    from coldstart_bench.run.session import run_scenario

    path = write_scenario(
        toy_scenario(
            "--close-connections",
            repetitions=3,
            matrix={"pooling": ["on", "off"]},
            requests={"kind": "http", "count": 3},
        )
    )
    outcome = run_scenario(path, run_options(tmp_path / "r"))
    analysis = analyse(read_run(outcome.run_dir))
    [said] = [d for d in analysis.diagnoses if d.kind == "pooling-untested"]
    assert "pooling was not tested here" in said.message
    assert not [e for e in analysis.effects if e.factor == "pooling"]
