"""A fleet: N replicas of a toy server started at once, the requests through a real HAProxy
(Debian's) or straight to the first replica ready. Every replica's readiness is its own,
every answer names its replica, HAProxy's own log agrees, and nothing is left running."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from helpers import TOY_SERVER, run_options

from coldstart_bench.analysis.fleet import fleet_rows
from coldstart_bench.errors import ColdstartError
from coldstart_bench.plan.specs import RequestSpec, ServiceSpec
from coldstart_bench.report.build import build_report
from coldstart_bench.results.store import read_run
from coldstart_bench.run.fleet import ClientRouter
from coldstart_bench.run.session import run_scenario
from coldstart_bench.scenario.reader import read_scenario

HAPROXY = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")


def fleet_scenario(replicas: list[int], balancers: list[str], delay_ms: int = 200) -> str:
    return f"""
        name = "fleet"
        repetitions = 2
        [matrix]
        replicas = {replicas}
        balancer = {balancers}
        [fleet]
        health_check_ms = 50
        [[services]]
        name = "toy"
        command = ["{sys.executable}", "{TOY_SERVER}", "--port", "{{port}}",
                   "--startup-delay-ms", "{delay_ms}"]
        ready = {{ kind = "http", path = "/health" }}
        [requests]
        kind = "http"
        count = 3
    """


def under_load(text: str, load: str) -> str:
    """A fleet scenario's requests replaced by a [load] table (one request as its template)."""
    return text.replace(
        '[requests]\n        kind = "http"\n        count = 3',
        f"[requests]\n        count = 1\n        [load]\n        {load}",
    )


POISSON_30 = 'pattern = "poisson"\n        rate = 40\n        requests = 30'


@pytest.mark.skipif(HAPROXY is None, reason="needs HAProxy (apt-get install haproxy)")
def test_a_fleet_behind_haproxy_answers_every_request_and_its_log_agrees(
    tmp_path: Path, write_scenario
):
    scenario = write_scenario(fleet_scenario([1, 3], ["haproxy"]))
    outcome = run_scenario(scenario, run_options(tmp_path / "results", run_id="fleet"))
    assert outcome.exit_code == 0
    run = read_run(outcome.run_dir)
    for trial in run.trials:
        fleet = trial.fleet
        assert fleet is not None and trial.status == "ok", trial.error
        n = int(trial.factors["replicas"])
        assert fleet.replicas == ("toy", "toy.2", "toy.3")[:n]
        assert [s.name for s in trial.services] == list(fleet.replicas)
        assert all(r is not None for r in fleet.ready_ms)  # each replica's own readiness
        for service in trial.services:  # what each read from storage until ready
            assert service.cpu is None or service.cpu.read_mib_ready is not None
        # users reach the fleet when HAProxy has a replica up: after the first is ready
        assert fleet.balancer_ready_ms is not None
        assert fleet.balancer_ready_ms >= min(fleet.ready_ms)  # type: ignore[type-var]
        assert trial.ready_ms == fleet.balancer_ready_ms
        answered = [r.replica for r in trial.requests]
        assert len(answered) == 3 and all(a in fleet.replicas for a in answered)
        assert list(fleet.balancer_answers) == answered  # HAProxy's own log
        assert (outcome.run_dir / fleet.balancer_log).exists()  # type: ignore[operator]
    rows = fleet_rows(run.trials, run.variant_order)
    assert [(r.replicas, r.log_agrees) for r in rows] == [(1, 1.0), (3, 1.0)]
    three = rows[1]
    assert three.contention is not None and len(three.k_ready_ms) == 3
    assert three.k_ready_ms == tuple(sorted(three.k_ready_ms))  # type: ignore[type-var]
    report = build_report(outcome.run_dir, formats=["csv", "png", "md"])
    names = {p.name for p in report.files}
    assert {"fleet.csv", "fleet.png", "fleet_gantt.png"} <= names
    summary = (outcome.run_dir / "report" / "summary.md").read_text()
    assert "### The fleet" in summary and "| replicas=3,balancer=haproxy |" in summary


def test_first_ready_sends_to_the_replica_ready_first(tmp_path: Path, write_scenario):
    scenario = write_scenario(fleet_scenario([2], ["first-ready"]))
    outcome = run_scenario(scenario, run_options(tmp_path / "results", run_id="fleet"))
    assert outcome.exit_code == 0
    for trial in read_run(outcome.run_dir).trials:
        fleet = trial.fleet
        assert fleet is not None and fleet.balancer == "first-ready"
        ready = dict(zip(fleet.replicas, fleet.ready_ms, strict=True))
        first = min(ready, key=lambda name: ready[name] or float("inf"))
        assert fleet.first_ready == first
        assert {r.replica for r in trial.requests} == {first}
        assert trial.ready_ms == ready[first]
        assert trial.requests[0].start_ms >= ready[first]  # type: ignore[operator]


def test_a_replica_that_dies_before_ready_is_said_and_the_others_serve(
    tmp_path: Path, write_scenario
):
    text = fleet_scenario([2], ["first-ready"]).replace(
        '"--startup-delay-ms", "200"]',
        '"--startup-delay-ms", "200", "--crash-in-repetitions", "2", "--repetition", "{replica}"]',
    )
    outcome = run_scenario(write_scenario(text), run_options(tmp_path / "results", run_id="f"))
    assert outcome.exit_code == 0
    for trial in read_run(outcome.run_dir).trials:
        assert trial.status == "ok" and trial.fleet is not None
        assert trial.fleet.ready_ms[0] is not None and trial.fleet.ready_ms[1] is None
        assert {r.replica for r in trial.requests} == {"toy"}
        assert [s.status for s in trial.services] == ["ok", "failed"]
        assert any(n.startswith("replica toy.2 was never ready") for n in trial.notes)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ('[[services]]\nname = "other"\ncommand = ["true"]\n', "replicates the scenario's one"),
        ("", r"needs a \[fleet\] table"),
    ],
)
def test_what_a_fleet_cannot_do_yet_is_said_before_a_trial(
    write_scenario, change: str, message: str
):
    text = fleet_scenario([1, 2], ["haproxy", "first-ready"])
    text = text + change if change else text.replace("[fleet]\n        health_check_ms = 50", "")
    with pytest.raises(ColdstartError, match=message):
        read_scenario(write_scenario(text))


@pytest.mark.skipif(HAPROXY is None, reason="needs HAProxy (apt-get install haproxy)")
def test_a_hostile_fleet_is_bounded_said_per_replica_and_leaves_nothing(
    tmp_path: Path, write_scenario
):
    """8 replicas behind HAProxy: replica 3 never listens, 5 dies on its first answer, 7
    hangs its stream. The trial ends within its bound, each misbehaviour is on record, and
    the autouse guard finds no process left (HAProxy's included)."""
    hostile = Path(TOY_SERVER).with_name("hostile_replica.py")
    scenario = write_scenario(f"""
        repetitions = 1
        trial_timeout_s = 8
        [fleet]
        replicas = 8
        health_check_ms = 50
        [[services]]
        name = "toy"
        command = ["{sys.executable}", "{hostile}", "{{replica}}", "--port", "{{port}}",
                   "--startup-delay-ms", "100"]
        ready = {{ kind = "http", path = "/health", timeout_s = 6 }}
        [requests]
        count = 8
        timeout_s = 2
        pause_ms = 150
    """)
    began = time.monotonic()
    outcome = run_scenario(scenario, run_options(tmp_path / "results", run_id="hostile"))
    took = time.monotonic() - began
    (trial,) = read_run(outcome.run_dir).trials
    fleet = trial.fleet
    assert fleet is not None and len(fleet.replicas) == 8
    assert took < 8 + 15  # the trial's bound, then the teardown of 8 replicas and HAProxy
    assert fleet.ready_ms[2] is None  # replica 3 never listened ...
    assert any(n.startswith("replica toy.3 was never ready") for n in trial.notes)
    assert [s.status for s in trial.services][2] != "ok"  # ... and its record says so
    # the requests until the first that failed, each with the replica that answered it
    assert trial.requests and all(r.replica in fleet.replicas for r in trial.requests[:-1])
    if trial.status != "ok":  # it met replica 5 or 7: the failure names the request and it
        culprit = trial.requests[-1].replica
        assert culprit in ("toy.5", "toy.7"), trial.error
        assert trial.error is not None and f"(replica {culprit})" in trial.error


@pytest.mark.skipif(HAPROXY is None, reason="needs HAProxy (apt-get install haproxy)")
def test_load_on_a_fleet_scaling_out_loses_no_arrival_and_each_names_its_replica(
    tmp_path: Path, write_scenario
):
    text = under_load(fleet_scenario([2], ["haproxy"]), POISSON_30)
    outcome = run_scenario(write_scenario(text), run_options(tmp_path / "results", run_id="l"))
    assert outcome.exit_code == 0
    run = read_run(outcome.run_dir)
    for trial in run.trials:
        assert trial.fleet is not None and len(trial.load) == 30  # every arrival recorded
        answered = [r.request.replica for r in trial.load if r.request.status == "ok"]
        assert answered and all(a in trial.fleet.replicas for a in answered)
    (row,) = fleet_rows(run.trials, run.variant_order)
    assert row.log_agrees == 1.0 and row.cold_p95_ttft_ms is not None


def test_round_robin_spreads_the_requests_over_the_replicas_ready_when_each_is_sent(
    tmp_path: Path, write_scenario
):
    text = fleet_scenario([3], ["round-robin"]).replace(
        "count = 3", "count = 6\n        pause_ms = 200"
    )
    outcome = run_scenario(write_scenario(text), run_options(tmp_path / "results", run_id="r"))
    assert outcome.exit_code == 0
    for trial in read_run(outcome.run_dir).trials:
        fleet = trial.fleet
        assert fleet is not None and trial.status == "ok"
        ready = dict(zip(fleet.replicas, fleet.ready_ms, strict=True))
        assert trial.requests[0].replica == fleet.first_ready
        for request in trial.requests:  # only ever a replica that was ready by then
            assert ready[request.replica] <= request.start_ms  # type: ignore[index,operator]
        assert {r.replica for r in trial.requests} == set(fleet.replicas)  # all 3 served


def test_a_staggered_fleet_spawns_each_replica_in_its_turn(tmp_path: Path, write_scenario):
    text = fleet_scenario([3], ["first-ready"]).replace(
        "health_check_ms = 50", "health_check_ms = 50\n        stagger_ms = 300"
    )
    outcome = run_scenario(write_scenario(text), run_options(tmp_path / "results", run_id="s"))
    assert outcome.exit_code == 0
    run = read_run(outcome.run_dir)
    for trial in run.trials:
        assert trial.fleet is not None and trial.status == "ok"
        spawned = {s.name: s.spawn_ms for s in trial.services}
        order = [spawned[name] for name in trial.fleet.replicas]
        assert order == sorted(order)  # type: ignore[type-var]  # in their turns ...
        for i, at in enumerate(order):  # ... replica i + 1 no sooner than i × 300 ms
            assert at >= 300 * i  # type: ignore[operator]
        assert all(r is not None for r in trial.fleet.ready_ms)  # each measured to ready
    (row,) = fleet_rows(run.trials, run.variant_order)
    assert row.k_ready_ms[-1] > 600  # type: ignore[operator]  # the last spawned at 600 ms


@pytest.mark.skipif(HAPROXY is None, reason="needs HAProxy (apt-get install haproxy)")
def test_replicas_start_when_the_queue_asks_for_them_and_not_before(tmp_path: Path, write_scenario):
    """scale_at_queue = 5: replica 1 at t0; a burst of 30 held arrivals is more than 5 per
    replica started, so the other two start at once; three arrivals a second never are."""

    def on_queue(load: str) -> str:
        text = fleet_scenario([3], ["haproxy"]).replace(
            "health_check_ms = 50", "health_check_ms = 50\n        scale_at_queue = 5"
        )
        return under_load(text, load)

    burst = write_scenario(on_queue('pattern = "burst"\n        requests = 30'))
    outcome = run_scenario(burst, run_options(tmp_path / "results", run_id="burst"))
    assert outcome.exit_code == 0
    for trial in read_run(outcome.run_dir).trials:
        fleet = trial.fleet
        assert trial.status == "ok" and fleet is not None
        queued = fleet.queue_at_start
        assert queued[0] == 0 and all(q is not None and q > 5 for q in queued[1:]), queued
        assert [s.name for s in trial.services] == ["toy", "toy.2", "toy.3"]
        assert all(s.spawn_ms is not None and s.spawn_ms < 200 for s in trial.services)
        assert len(trial.load) == 30  # every arrival recorded

    light = write_scenario(on_queue('pattern = "constant"\n        rate = 3\n        requests = 3'))
    outcome = run_scenario(light, run_options(tmp_path / "results", run_id="light"))
    assert outcome.exit_code == 0
    run = read_run(outcome.run_dir)
    for trial in run.trials:
        fleet = trial.fleet
        assert trial.status == "ok" and fleet is not None
        assert fleet.queue_at_start == (0, None, None)  # the others never asked for
        assert [s.name for s in trial.services] == ["toy"]
        assert {r.request.replica for r in trial.load} == {"toy"}
    (row,) = fleet_rows(run.trials, run.variant_order)
    assert row.started == 1 and "1 of 3 started: 1 at t0" in row.started_text()


def test_a_queue_rule_without_traffic_that_queues_is_refused(write_scenario):
    text = fleet_scenario([2], ["first-ready"]).replace(
        "health_check_ms = 50", "health_check_ms = 50\n        scale_at_queue = 4"
    )
    with pytest.raises(ColdstartError, match="need traffic that queues"):
        read_scenario(write_scenario(text))


def test_the_clients_own_policies_pick_among_the_replicas_ready_when_each_request_goes():
    names = ["toy", "toy.2", "toy.3"]
    specs = [
        ServiceSpec(name, (), {}, None, 8000 + i, None, 15, 1.0, Path("l"), Path("p"))  # type: ignore[arg-type]
        for i, name in enumerate(names)
    ]
    ready: list[ServiceSpec] = []
    watch = SimpleNamespace(ready_now=lambda: [SimpleNamespace(spec=s) for s in ready])
    request = RequestSpec(0, "http", "GET", "http://127.0.0.1:1/v1", {}, None, False, 200, 5.0)

    def router(policy: str) -> ClientRouter:
        return ClientRouter(policy, watch, specs, lambda _name: "127.0.0.1")  # type: ignore[arg-type]

    least = router("least-outstanding")
    sent, name = least.pick(request)
    assert name == "toy" and sent.url == "http://127.0.0.1:8000/v1"  # none ready: replica 1
    least.release(name)
    ready += [specs[2], specs[0], specs[1]]  # in the order they became ready
    picked = [least.pick(request)[1] for _ in range(3)]
    assert picked == ["toy.3", "toy", "toy.2"]  # each to the one with fewest in flight
    least.release("toy")
    assert least.pick(request)[1] == "toy"  # the one that finished one
    rr = router("round-robin")
    assert [rr.pick(request)[1] for _ in range(4)] == ["toy.3", "toy", "toy.2", "toy.3"]
    first = router("first-ready")
    assert {first.pick(request)[1] for _ in range(3)} == {"toy.3"}


def test_load_with_the_clients_own_policy_names_each_replica_and_sends_none_early(
    tmp_path: Path, write_scenario
):
    text = under_load(fleet_scenario([2], ["least-outstanding", "round-robin"]), POISSON_30)
    outcome = run_scenario(write_scenario(text), run_options(tmp_path / "results", run_id="c"))
    assert outcome.exit_code == 0
    run = read_run(outcome.run_dir)
    for trial in run.trials:
        assert trial.status == "ok" and trial.fleet is not None and len(trial.load) == 30
        assert all(r.request.replica in trial.fleet.replicas for r in trial.load)
    rows = fleet_rows(run.trials, run.variant_order)
    assert [r.early_requests for r in rows] == [0, 0]  # only replicas already ready
    assert all(r.cold_p95_ttft_ms is not None for r in rows)
