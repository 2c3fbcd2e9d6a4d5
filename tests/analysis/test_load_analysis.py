"""The frames of the load picture: every trial aligned on its own readiness, a burst's
requests ranked, the answers within the SLO counted as they end."""

from __future__ import annotations

import math

from helpers import record

from coldstart_bench.analysis.load import burst_drain, good_answers, load_points, rolling_latency
from coldstart_bench.results.schema import LoadRecord, RequestRecord, TrialRecord
from coldstart_bench.scenario.settings import LoadSettings


def settings(pattern: str) -> LoadSettings:
    return LoadSettings(
        pattern=pattern,  # type: ignore[arg-type]
        start="spawn",
        before_ready="hold",
        slo_ttft_ms=100.0,
        slo_total_ms=None,
        steady_margin=0.5,
        steady_window=2,
        goodput_window_s=1.0,
    )


def arrival(phase: str, at_ms: float, sent_ms: float, ttft_ms: float | None) -> LoadRecord:
    request = RequestRecord(
        index=0,
        status="ok" if ttft_ms is not None else "failed",
        start_ms=sent_ms,
        ttft_ms=ttft_ms,
        total_ms=None if ttft_ms is None else ttft_ms + 5,
    )
    return LoadRecord(index=0, phase=phase, arrival_ms=at_ms, request=request)  # type: ignore[arg-type]


def load_trial(n: int, ready_ms: float, pattern: str, load: list[LoadRecord]) -> TrialRecord:
    return record(
        n, variant="v", ready_ms=ready_ms, load=tuple(load), load_settings=settings(pattern)
    )


def test_trials_that_became_ready_at_different_times_line_up_on_their_ready():
    slow = load_trial(0, 3000.0, "poisson", [arrival("cold", 2000.0, 3000.0, 50.0),
                                             arrival("cold", 3500.0, 3500.0, 20.0),
                                             arrival("warm", 9000.0, 9000.0, 10.0)])  # fmt: skip
    fast = load_trial(1, 1000.0, "poisson", [arrival("cold", 0.0, 1000.0, 50.0),
                                             arrival("cold", 1500.0, 1500.0, 20.0)])  # fmt: skip
    points = load_points([slow, fast])
    cold = points[points["phase"] == "cold"]
    assert sorted(cold["since_s"]) == [-1.0, -1.0, 0.5, 0.5]  # arrived 1 s before ready, ...
    assert list(points[points["phase"] == "warm"]["since_s"]) == [0.0]  # from the warm start
    # a held request's latency counts from its arrival: 1 s of waiting + 50 ms
    assert set(cold.loc[cold["since_s"] < 0, "latency_ms"]) == {1050.0}
    rolling = rolling_latency(points, bins=2)
    assert list(rolling["n"]) == [2, 2] and rolling["t_s"].iloc[0] < 0 < rolling["t_s"].iloc[1]


def test_a_burst_is_ranked_fastest_first_and_an_unanswered_request_comes_last():
    cold = [arrival("cold", 1000.0, 1000.0, ttft) for ttft in (30.0, None, 10.0)]
    warm = [arrival("warm", 5000.0, 5000.0, ttft) for ttft in (4.0, 2.0, 3.0)]
    points = load_points([load_trial(0, 1000.0, "burst", cold + warm)])
    drain = burst_drain(points)
    cold_line = drain[drain["phase"] == "cold"]
    assert list(cold_line["rank"]) == [1, 2, 3]
    assert list(cold_line["latency_ms"])[:2] == [10.0, 30.0] and math.isinf(
        cold_line["latency_ms"].iloc[2]
    )
    assert list(drain[drain["phase"] == "warm"]["latency_ms"]) == [2.0, 3.0, 4.0]
    assert rolling_latency(points).empty  # a burst has no arrivals spread in time


def test_answers_within_the_slo_are_counted_per_trial_as_they_end():
    first = load_trial(0, 1000.0, "poisson", [arrival("cold", 1000.0, 1000.0, 50.0),
                                              arrival("cold", 1000.0, 1000.0, 500.0)])  # fmt: skip
    second = load_trial(1, 2000.0, "poisson", [arrival("cold", 2000.0, 2000.0, 50.0)])
    good = good_answers(load_points([first, second]), steps=50)
    # one answer a trial within the 100 ms SLO (the 500 ms one misses it), ending 55 ms
    # after ready: 0 before, 1 per trial after
    assert good["good_per_trial"].iloc[0] == 0.0 and good["good_per_trial"].iloc[-1] == 1.0
    assert good.loc[good["t_s"] < 0.055, "good_per_trial"].max() == 0.0


def test_steady_state_begins_where_every_later_window_stays_near_the_warm_p95():
    from coldstart_bench.analysis.load import time_to_steady

    # warm p95 100 ms, margin 0.5: a window is steady at p95 ≤ 150 ms (windows of 2)
    slow_then_fast = [
        arrival("cold", 10.0 * i, 0.0, t) for i, t in enumerate([900, 400, 120, 110, 100, 90])
    ]
    assert time_to_steady(slow_then_fast, 100.0, 0.5, 2) == 20.0  # from the third arrival on
    late_spike = [*slow_then_fast[:-1], arrival("cold", 50.0, 0.0, 600)]
    assert time_to_steady(late_spike, 100.0, 0.5, 2) is None  # not steady at the phase's end
    unanswered = [*slow_then_fast[:3], arrival("cold", 30.0, 0.0, None), *slow_then_fast[4:]]
    assert time_to_steady(unanswered, 100.0, 0.5, 2) == 40.0  # an unanswered one counts as slow
    assert time_to_steady(slow_then_fast, None, 0.5, 2) is None  # no warm phase to compare with
