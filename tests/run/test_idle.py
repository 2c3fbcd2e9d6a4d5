"""Idle gaps between a trial's requests: each request says how long the client was silent
before it, and whether the pool found its kept-alive connection closed by the server and
opened a new one."""

from __future__ import annotations

from pathlib import Path

from helpers import run_options, toy_command

from coldstart_bench.analysis.frames import requests_frame, trials_frame
from coldstart_bench.run.session import run_scenario


def test_a_gap_longer_than_the_server_s_keep_alive_costs_the_pooled_connection(
    tmp_path: Path, write_scenario
):
    path = write_scenario(f"""
        repetitions = 2
        [matrix]
        idle_s = [0, 1.2]
        [[services]]
        command = {toy_command("--keep-alive-s", "0.5", "--tokens", "3")}
        ready = {{ kind = "http", path = "/health" }}
        [requests]
        count = 3
    """)
    outcome = run_scenario(path, run_options(tmp_path))
    assert all(t.status == "ok" for t in outcome.trials)
    requests = requests_frame(outcome.trials)
    later = requests[requests["request_index"] > 0]
    quiet = later[later["factor_idle_s"] == "1.2"]
    busy = later[later["factor_idle_s"] == "0"]
    assert (quiet["idle_ms"] >= 1200).all() and (busy["idle_ms"] < 200).all()
    assert quiet["replaced"].all() and not busy["replaced"].any()  # closed after 0.5 s idle
    assert (quiet["connect_ms"] > 0).all() and busy["connect_ms"].isna().all()
    shares = trials_frame(outcome.trials).groupby("factor_idle_s")["later_replaced_share"].mean()
    assert shares.to_dict() == {"0": 0.0, "1.2": 1.0}
