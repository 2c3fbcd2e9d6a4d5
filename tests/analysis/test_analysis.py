"""Analysis on small hand-made runs whose answers can be worked out on paper."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from coldstart_bench.analysis.effects import (
    Effect,
    declared_levels,
    factor_contrasts,
    factor_effects,
)
from coldstart_bench.analysis.findings import headline
from coldstart_bench.analysis.frames import phases_frame, requests_frame, trials_frame
from coldstart_bench.analysis.phases import (
    REQUEST_LANE,
    SPAWN_TO_READY,
    load_throughput,
    median_timelines,
    median_trial,
)
from coldstart_bench.analysis.requests import (
    connection_setup,
    repeated_prompts,
    request_index_summary,
)
from coldstart_bench.analysis.stats import mad, median_ci
from coldstart_bench.analysis.summary import metric_summary
from coldstart_bench.results.schema import PhaseRecord, RequestRecord, ServiceRecord, TrialRecord


def trial(
    n: int,
    factors: dict[str, str],
    cold_ttft: float,
    *,
    status: str = "ok",
    warmup: bool = False,
    requests: tuple[RequestRecord, ...] = (),
    phases: tuple[PhaseRecord, ...] = (),
) -> TrialRecord:
    return TrialRecord(
        schema_version=1,
        run_id="r",
        trial=n,
        variant=",".join(f"{k}={v}" for k, v in factors.items()),
        factors=factors,
        repetition=0,
        warmup=warmup,
        status=status,  # type: ignore[arg-type]
        started_at="2026-11-25T00:00:00+00:00",
        t0_ns=0,
        ready_ms=cold_ttft - 10 if status == "ok" else None,
        cold_ttft_ms=cold_ttft if status == "ok" else None,
        requests=requests,
        phases=phases,
    )


def request(index: int, ttft: float, *, reused: bool, connect: float | None) -> RequestRecord:
    return RequestRecord(
        index=index,
        status="ok",
        start_ms=0.0,
        reused=reused,
        connect_ms=connect,
        ttfb_ms=ttft / 2,
        ttft_ms=ttft,
        total_ms=ttft * 2,
        itl_ms=(1.0, 3.0),
    )


def test_summary_statistics_match_hand_computation():
    trials = [trial(i, {"w": "on"}, v) for i, v in enumerate([10.0, 20.0, 30.0, 40.0, 100.0])]
    trials.append(trial(9, {"w": "on"}, 999.0, warmup=True))  # discarded
    trials.append(trial(10, {"w": "on"}, 0.0, status="failed"))  # no figure
    row = metric_summary(trials_frame(trials), ["cold_ttft_ms"]).iloc[0]
    assert row["n"] == 5
    assert row["median"] == 30.0
    assert row["p95"] == pytest.approx(88.0)  # 40 + 0.8 * (100 - 40)
    assert (row["min"], row["max"]) == (10.0, 100.0)
    assert row["mad"] == 10.0  # |deviations| 20, 10, 0, 10, 70 → median 10
    assert row["ci_low"] <= 30.0 <= row["ci_high"]
    assert row["ci_low"] >= 10.0 and row["ci_high"] <= 100.0


def test_the_bootstrap_interval_narrows_with_more_data_and_is_reproducible():
    rng = np.random.default_rng(1)
    small, large = rng.normal(100, 10, 8), rng.normal(100, 10, 400)
    lo_s, hi_s = median_ci(small)
    lo_l, hi_l = median_ci(large)
    assert hi_l - lo_l < hi_s - lo_s
    assert median_ci(small) == (lo_s, hi_s)
    assert median_ci(np.array([5.0])) == (5.0, 5.0)
    assert mad(np.array([1.0, 1.0, 1.0])) == 0.0


def test_factor_effects_pair_within_strata_and_say_so_in_words():
    # pooling halves cold TTFT whatever tls is; tls adds 5 ms.
    trials, n = [], 0
    for tls, extra in (("off", 0.0), ("on", 5.0)):
        for pooling, scale in (("off", 1.0), ("on", 0.5)):
            for jitter in (-1.0, 0.0, 1.0):
                trials.append(
                    trial(n, {"pooling": pooling, "tls": tls}, (100 + jitter) * scale + extra)
                )
                n += 1
    frame = trials_frame(trials)
    assert factor_contrasts(frame) == {"pooling": ("off", ("on",)), "tls": ("off", ("on",))}
    effects = {(e.factor, e.metric): e for e in factor_effects(frame, ["cold_ttft_ms"])}
    pooling = effects[("pooling", "cold_ttft_ms")]
    # strata: tls=off → 50/100 = 0.5; tls=on → 55/105; the effect is their mean
    assert pooling.ratio == pytest.approx((0.5 + 55 / 105) / 2)
    assert pooling.strata == 2 and pooling.clear
    assert pooling.ci_low <= pooling.ratio <= pooling.ci_high
    assert pooling.sentence().startswith(
        "pooling=on (vs off): cold TTFT (spawn → first token) 49 % lower"
    )
    tls = effects[("tls", "cold_ttft_ms")]
    assert tls.ratio == pytest.approx((105 / 100 + 55 / 50) / 2)
    assert "higher" in tls.sentence()


def test_an_effect_with_overlapping_levels_is_not_called_clear():
    trials = [trial(i, {"cache": "on" if i % 2 else "off"}, 100.0 + (i % 7)) for i in range(28)]
    [effect] = factor_effects(trials_frame(trials), ["cold_ttft_ms"])
    assert not effect.clear
    assert "not clear" in effect.sentence()


def test_baseline_levels_are_recognised_whatever_their_order():
    trials = [trial(i, {"warmup": "startup"}, 50.0) for i in range(3)]
    trials += [trial(i + 3, {"warmup": "none"}, 100.0) for i in range(3)]
    assert factor_contrasts(trials_frame(trials)) == {"warmup": ("none", ("startup",))}
    [effect] = factor_effects(trials_frame(trials), ["cold_ttft_ms"])
    assert effect.ratio == 0.5 and math.isclose(effect.change_pct, -50.0)


def test_a_three_level_factor_is_compared_level_by_level_with_its_first_declared_level():
    # torch is seen first (trials are interleaved), but the scenario declared safetensors
    # first: it is the baseline, and each other level gets its own effect.
    medians = {"torch": 300.0, "safetensors": 100.0, "torch-mmap": 150.0}
    trials = [
        trial(n, {"load_format": fmt}, medians[fmt] + jitter)
        for n, (jitter, fmt) in enumerate(
            (j, f) for j in (-1.0, 0.0, 1.0) for f in ("torch", "safetensors", "torch-mmap")
        )
    ]
    planned = [{"load_format": f} for f in ("safetensors", "torch", "torch-mmap")]
    declared = declared_levels(planned)
    assert declared == {"load_format": ["safetensors", "torch", "torch-mmap"]}
    frame = trials_frame(trials)
    assert factor_contrasts(frame, declared) == {
        "load_format": ("safetensors", ("torch", "torch-mmap"))
    }
    effects = factor_effects(frame, ["cold_ttft_ms"], declared=declared)
    assert [(e.treatment, e.baseline) for e in effects] == [
        ("torch", "safetensors"),
        ("torch-mmap", "safetensors"),
    ]
    assert [e.ratio for e in effects] == [3.0, 1.5]
    assert effects[0].sentence().startswith("load_format=torch (vs safetensors): cold TTFT")
    # Without the declared order the first level seen is the baseline.
    assert factor_contrasts(frame)["load_format"][0] == "torch"


def test_cells_with_too_few_trials_give_no_effect():
    trials = [trial(0, {"w": "on"}, 50.0), trial(1, {"w": "on"}, 51.0)]
    trials += [trial(i + 2, {"w": "off"}, 100.0) for i in range(5)]
    assert factor_effects(trials_frame(trials), ["cold_ttft_ms"]) == []


def test_requests_by_index_show_the_first_request_penalty_and_reuse():
    reqs = (
        request(0, 40.0, reused=False, connect=0.2),
        request(1, 10.0, reused=True, connect=None),
        request(2, 12.0, reused=True, connect=None),
    )
    trials = [trial(i, {"pooling": "on"}, 50.0, requests=reqs) for i in range(3)]
    by_index = request_index_summary(requests_frame(trials))
    assert list(by_index["ttft_ms"]) == [40.0, 10.0, 12.0]
    assert list(by_index["connect_ms"]) == [0.2, 0.0, 0.0]  # a reused connection: 0 ms
    assert list(by_index["reused_share"]) == [0.0, 1.0, 1.0]
    frame = trials_frame(trials)
    assert frame["later_connect_ms"].iloc[0] == 0.0 and frame["later_ttft_ms"].iloc[0] == 11.0
    flat = requests_frame(trials)
    assert len(flat) == 9 and flat["itl_mean_ms"].iloc[0] == 2.0


def test_requests_by_index_follow_the_matrix_order_not_the_run_order():
    reqs = (
        request(0, 40.0, reused=False, connect=0.2),
        request(1, 10.0, reused=True, connect=None),
    )
    ran = [trial(i, {"pooling": lv}, 50.0, requests=reqs) for i, lv in enumerate(["off", "on"])]
    by_index = request_index_summary(requests_frame(ran), ["pooling=on", "pooling=off"])
    assert list(by_index["variant"]) == ["pooling=on"] * 2 + ["pooling=off"] * 2
    assert list(by_index["request"]) == [1, 2, 1, 2]  # 1: the first after ready


def test_load_throughput_uses_the_bytes_targets_report():
    phases = (
        PhaseRecord("llm", "import", 0.0, 900.0),
        PhaseRecord("llm", "model_read", 900.0, 1000.0, 200_000_000),
        PhaseRecord("llm", "deserialize", 1000.0, 1100.0, 200_000_000),
    )
    frame = load_throughput(phases_frame([trial(0, {"f": "a"}, 1200.0, phases=phases)]))
    row = frame.iloc[0]
    assert row["load_ms"] == 200.0 and row["mb"] == 200.0
    assert row["mb_per_s"] == pytest.approx(1000.0)


def test_empty_and_failed_runs_give_empty_tables_not_errors():
    frame = trials_frame([trial(0, {"a": "x"}, 0.0, status="failed")])
    assert metric_summary(frame).empty
    assert factor_effects(frame) == []
    assert median_timelines([trial(0, {"a": "x"}, 0.0, status="failed")]).empty
    assert metric_summary(trials_frame([])).empty


def test_the_waterfall_shows_the_median_trial_whose_parts_end_at_its_cold_ttft():
    def with_request(n: int, cold: float) -> TrialRecord:
        first = RequestRecord(
            index=0, status="ok", start_ms=cold - 30, connect_ms=0.5, ttfb_ms=10.0, ttft_ms=30.0
        )
        phases = (PhaseRecord("llm", "import", 1.0, cold - 40),)
        return trial(n, {"w": "on"}, cold, requests=(first,), phases=phases)

    trials = [with_request(n, cold) for n, cold in enumerate([500.0, 100.0, 300.0, 200.0])]
    assert median_trial(trials).cold_ttft_ms == 200.0  # the lower middle of four
    timeline = median_timelines(trials)
    assert set(timeline["trial"]) == {3}
    request_parts = timeline[timeline["kind"] == "request"]
    assert list(request_parts["part"]) == ["connect", "wait for headers", "headers → first token"]
    assert request_parts["end_ms"].max() == pytest.approx(200.0)
    [cold] = timeline.loc[timeline["kind"] == "cold_ttft", "start_ms"]
    assert cold == 200.0


def test_connection_set_up_compares_fresh_and_reused_at_the_same_positions():
    pooled = (
        request(0, 40.0, reused=False, connect=0.3),  # request 1: left out on both sides
        request(1, 10.0, reused=True, connect=None),
        request(2, 12.0, reused=True, connect=None),
    )
    fresh = tuple(request(i, 14.0, reused=False, connect=0.1 + i / 100) for i in range(3))
    trials = [trial(i, {"pooling": "on"}, 50.0, requests=pooled) for i in range(3)]
    trials += [trial(3 + i, {"pooling": "off"}, 50.0, requests=fresh) for i in range(3)]
    table, covered = connection_setup(requests_frame(trials))
    assert covered == "requests 2..n"
    rows = {(r.variant, r.kind): r for r in table.itertuples()}
    assert set(rows) == {("pooling=on", "reused"), ("pooling=off", "fresh")}
    assert rows[("pooling=on", "reused")].n == rows[("pooling=off", "fresh")].n == 6
    assert rows[("pooling=on", "reused")].setup_p50 == 0.0
    assert rows[("pooling=off", "fresh")].connect_p50 == pytest.approx(0.115)
    assert rows[("pooling=on", "reused")].ttfb_p50 == pytest.approx(5.5)


def effect(metric: str, ratio: float, low: float, high: float) -> Effect:
    return Effect("warmup", "none", "async", metric, ratio, low, high, strata=2)


def test_an_effect_knows_which_way_is_better_for_its_metric():
    assert effect("cold_ttft_ms", 0.7, 0.6, 0.8).verdict == "better"
    assert effect("goodput_rps", 0.0001, 0.00005, 0.5).verdict == "worse"  # goodput fell
    assert effect("goodput_rps", 2.0, 1.5, 2.5).verdict == "better"
    assert effect("ready_ms", 1.05, 1.01, 1.1).verdict == "worse"
    assert effect("ready_ms", 1.05, 0.95, 1.1).verdict == "unclear"


def test_the_headline_never_calls_a_worsening_a_win():
    effects = [effect("goodput_rps", 0.0001, 0.00005, 0.5), effect("ready_ms", 1.1, 1.05, 1.2)]
    empty = trials_frame([])
    assert headline(empty, empty, [], effects).best_win is None
    better = effect("goodput_rps", 3.0, 2.0, 4.0)
    assert headline(empty, empty, [], [*effects, better]).best_win == better


def test_an_interval_across_no_change_is_said_in_words_and_never_rounds_a_bound_to_zero():
    sentence = effect("first_ttft_ms", 1.03, 0.997, 1.08).sentence()
    assert "3 % higher [95 % CI 0.3 % lower to 8 % higher] (not clear" in sentence
    assert "[95 % CI 20, 40]" in effect("cold_ttft_ms", 0.7, 0.6, 0.8).sentence()


def test_a_goodput_of_zero_is_a_finding_not_a_construction():
    levels = ["none"] * 3 + ["async"] * 3
    frame = trials_frame([trial(i, {"warmup": lv}, 100.0) for i, lv in enumerate(levels)])
    frame["goodput_rps"] = [1.0, 1.2, 0.9, 0.0, 0.0, 0.0]  # the SLO was never met with async
    [found] = factor_effects(frame, metrics=("goodput_rps",))
    assert not found.by_construction and found.verdict == "worse"


def test_a_change_in_one_combination_of_the_other_factors_alone_is_no_finding():
    # goodput is 0 in every cell but one (hold, none): async "lowers" it only there
    cells = [("hold", "none", 1.0), ("hold", "async", 0.0)]
    cells += [("retry", "none", 0.0), ("retry", "async", 0.0)]
    rows = [(ready, warm, value) for ready, warm, value in cells for _ in range(3)]
    frame = trials_frame(
        [trial(i, {"before_ready": r, "warmup": w}, 100.0) for i, (r, w, _v) in enumerate(rows)]
    )
    frame["goodput_rps"] = [value for _r, _w, value in rows]
    [found] = [e for e in factor_effects(frame, metrics=("goodput_rps",)) if e.factor == "warmup"]
    assert found.clear and (found.strata_measured, found.strata_agreeing) == (2, 1)
    assert not found.finding and found.verdict == "unclear"
    assert "not a finding: only 1 of 2 combinations of the other factors" in found.sentence()


def test_a_finding_says_how_many_trials_carry_it():
    rows = [(ready, warm) for ready in ("hold", "retry") for warm in ("none", "async")] * 3
    frame = trials_frame(
        [trial(i, {"before_ready": r, "warmup": w}, 100.0) for i, (r, w) in enumerate(rows)]
    )
    frame["cold_ttft_ms"] = [50.0 if w == "async" else 100.0 + i for i, (_r, w) in enumerate(rows)]
    [found] = [e for e in factor_effects(frame, metrics=("cold_ttft_ms",)) if e.factor == "warmup"]
    assert found.finding and found.trials == 12 and found.strata_agreeing == 2
    assert found.sentence().endswith("(12 trials, consistent across the other factors)")


def test_a_request_that_repeats_an_earlier_prompt_is_known_by_its_number():
    prompts = ["a", "b", "a", "c", "b", "a"]
    assert repeated_prompts(prompts) == {3: 1, 5: 2, 6: 1}
    assert repeated_prompts(["a", "b"]) == {}


def test_a_chain_s_timeline_has_a_lane_per_service_and_one_for_the_request():
    first = RequestRecord(index=0, status="ok", start_ms=900.0, ttfb_ms=10.0, ttft_ms=30.0)
    services = (
        ServiceRecord("gateway", "ok", spawn_ms=1.0, ready_ms=100.0),
        ServiceRecord("llm", "ok", spawn_ms=120.0, ready_ms=880.0),
    )
    phases = (
        PhaseRecord("gateway", "import", 10.0, 90.0),
        PhaseRecord("llm", "import", 130.0, 800.0),
    )
    chain = trial(0, {"w": "on"}, 930.0, requests=(first,), phases=phases)
    timeline = median_timelines([dataclasses.replace(chain, services=services)])
    lanes = timeline.groupby("lane", sort=False)["part"].apply(list).to_dict()
    assert lanes["gateway"] == [SPAWN_TO_READY, "gateway/import", "ready"]
    assert lanes["llm"] == [SPAWN_TO_READY, "llm/import", "ready"]
    assert lanes[REQUEST_LANE] == ["wait for headers", "headers → first token", "cold TTFT"]
    spawn = timeline[(timeline["lane"] == "llm") & (timeline["part"] == SPAWN_TO_READY)]
    assert (spawn["start_ms"].item(), spawn["end_ms"].item()) == (120.0, 880.0)
    alone = median_timelines([dataclasses.replace(chain, services=services[1:], phases=phases[1:])])
    assert set(alone["lane"]) == {""} and "import" in set(alone["part"])  # one service: one row
