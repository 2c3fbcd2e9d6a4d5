"""A fleet in a trial: how many replicas of the service a variant starts, their names and
ports, and where its requests go."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from coldstart_bench.plan.specs import FleetSpec
from coldstart_bench.scenario.matrix import Variant
from coldstart_bench.scenario.schema import Scenario

BALANCER_PORT = "balancer"  # the key of HAProxy's front-end port among a trial's ports


def fleet_size(scenario: Scenario, variant: Variant) -> int:
    """Replicas this variant starts (1 without a [fleet])."""
    if scenario.fleet is None:
        return 1
    return int(variant.factors.get("replicas", scenario.fleet.replicas))


def balancer_of(scenario: Scenario, variant: Variant) -> str | None:
    if scenario.fleet is None:
        return None
    return variant.factors.get("balancer", scenario.fleet.balancer)


def replica_names(service: str, replicas: int) -> list[str]:
    """Replica 1 keeps the service's name (a fleet of one is the plain trial); replica i is
    NAME.i."""
    return [service if i == 1 else f"{service}.{i}" for i in range(1, replicas + 1)]


def fleet_ports(
    scenario: Scenario, variant: Variant, ports: Mapping[str, int], free: Callable[[], int]
) -> dict[str, int]:
    """The trial's ports with one per replica and HAProxy's front end added."""
    out = dict(ports)
    if scenario.fleet is None:
        return out
    service = scenario.services[0].name
    for name in replica_names(service, fleet_size(scenario, variant))[1:]:
        out[name] = free()
    if balancer_of(scenario, variant) == "haproxy":
        out[BALANCER_PORT] = free()
    return out


def fleet_spec(
    scenario: Scenario, variant: Variant, ports: Mapping[str, int], trial_dir: Path
) -> FleetSpec | None:
    """The trial's fleet (None without a [fleet]); its HTTP check is set by the caller from
    the rendered readiness rule."""
    if scenario.fleet is None:
        return None
    balancer = balancer_of(scenario, variant)
    return FleetSpec(
        replicas=tuple(replica_names(scenario.services[0].name, fleet_size(scenario, variant))),
        balancer=balancer,  # type: ignore[arg-type]
        balancer_port=ports.get(BALANCER_PORT) if balancer == "haproxy" else None,
        health_check_ms=scenario.fleet.health_check_ms,
        stagger_ms=scenario.fleet.stagger_ms,
        check_path=None,
        config_path=trial_dir / "haproxy.cfg",
        log_path=trial_dir / "haproxy.log",
        scale_at_queue=scenario.fleet.scale_at_queue,
        placement=scenario.fleet.placement,
        ray_address=scenario.fleet.ray_address,
    )
