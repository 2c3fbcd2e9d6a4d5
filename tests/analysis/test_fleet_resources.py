"""Which shared resource a fleet's replicas fought over, where it can be seen: each
replica's CPU work to ready against one replica's alone (near 1: none reused another's
work, such as compiled entries), and what the fleet wrote into its compile cache."""

from __future__ import annotations

from helpers import record

from coldstart_bench.analysis.fleet import fleet_rows
from coldstart_bench.results.schema import (
    CompileCacheState,
    CpuWork,
    FleetRecord,
    ServiceRecord,
    TrialRecord,
)


def fleet_trial(n: int, replicas: int, cpu_ms: list[float], cache_mib: float) -> TrialRecord:
    names = ["llm", *(f"llm.{i}" for i in range(2, replicas + 1))]
    services = tuple(
        ServiceRecord(
            name, "ok", spawn_ms=1.0, ready_ms=900.0, cpu=CpuWork("cgroup-v1", ready_ms=cpu)
        )
        for name, cpu in zip(names, cpu_ms, strict=True)
    )
    return record(
        n,
        variant=f"replicas={replicas}",
        factors={"replicas": str(replicas)},
        services=services,
        fleet=FleetRecord(tuple(names), "first-ready", ready_ms=(900.0,) * replicas),
        compile_cache=CompileCacheState("cold", "/c", 0, 0, 40, int(cache_mib * 2**20)),
    )


def test_replicas_that_each_compiled_everything_show_it_in_their_cpu_work():
    trials = [
        fleet_trial(0, 1, [1000.0], 10.0),
        fleet_trial(1, 1, [1020.0], 10.0),
        fleet_trial(2, 2, [990.0, 1030.0], 10.5),
        fleet_trial(3, 2, [1000.0, 1010.0], 11.0),
    ]
    one, two = fleet_rows(trials, ["replicas=1", "replicas=2"])
    assert one.cpu_vs_alone == 1.0 and one.cache_added_mib == 10.0
    # medians: each replica of two 1,005 ms against 1,010 alone; written 10.75 MiB
    assert two.cpu_vs_alone is not None and abs(two.cpu_vs_alone - 1005 / 1010) < 1e-9
    assert two.cache_added_mib == 10.75


def test_without_cpu_figures_or_a_compile_cache_nothing_is_claimed():
    plain = record(
        0,
        variant="replicas=1",
        factors={"replicas": "1"},
        services=(ServiceRecord("llm", "ok", spawn_ms=1.0, ready_ms=900.0),),
        fleet=FleetRecord(("llm",), "first-ready", ready_ms=(900.0,)),
    )
    (row,) = fleet_rows([plain], ["replicas=1"])
    assert row.cpu_vs_alone is None and row.cache_added_mib is None
