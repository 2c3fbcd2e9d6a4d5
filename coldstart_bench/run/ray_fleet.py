"""A fleet's replicas placed across the nodes of a Ray cluster (``[fleet] placement =
"ray"``): the trial runs here, each replica on a node of its own in turn (replica i on node
i mod N, the nodes in a fixed order), started, watched and stopped by an actor on that node.

- **Started and stopped by the node that hosts it**: the actor spawns the replica with the
  same process code as a local trial (its own process group, its readiness polled from its
  own node), stops it, and collects its record and phases there.
- **Clocks joined here**: before t0 each actor's wall clock is read in round trips; the
  offset of the quickest (half its round trip is the error, recorded) maps t0 onto the
  node's clock, and the node's times come back measured from that t0.
- **Nothing left on a node**: each actor starts the watchdog of :mod:`..proc.guardian` on
  its node, detached from the actor's process tree (a node kills the children of a worker
  that dies, and the watchdog has to outlive it). When this process dies (even by
  SIGKILL), Ray ends the actors it owns; an actor's end closes its watchdog's pipe, and the
  watchdog kills what is left of the replica and removes its cgroups.

Ray is imported here only, from the optional ``ray`` extra.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from coldstart_bench.plan.render import LOCAL_HOST
from coldstart_bench.plan.specs import ServiceSpec
from coldstart_bench.proc.service import LaunchError
from coldstart_bench.results.schema import PhaseRecord, ServiceRecord
from coldstart_bench.run.ray_extra import import_ray
from coldstart_bench.run.state import TrialState

# Round trips to each actor's clock before t0; the quickest one is kept.
CLOCK_ROUNDS = 5


class ReplicaHost:
    """The actor on a node: one replica, from spawn to its record."""

    def __init__(self, accounting: str) -> None:
        from coldstart_bench.proc.group import TrialProcesses
        from coldstart_bench.proc.guardian import Guardian

        # out of the actor's process tree: a dying worker's children are killed by its node,
        # and the watchdog must outlive the actor to clean up after it
        self.guardian = Guardian().start(detached=True)
        # the run's accounting (a cgroup or the process table): CPU work, memory, reads
        self.processes = TrialProcesses(self.guardian, accounting)
        self.replica: Any = None

    def where(self) -> tuple[str, str]:
        """The node's host name and address."""
        import ray

        return socket.gethostname(), ray.util.get_node_ip_address()

    def clock(self) -> int:
        return time.time_ns()

    def start(self, spec: ServiceSpec, t0_wall_ns: int, deadline_s: float | None) -> None:
        """Spawn the replica; ``t0_wall_ns``: the trial's t0 on this node's wall clock."""
        self.processes.begin()  # the scan of escapees counts from here
        now_perf, now_wall = time.perf_counter_ns(), time.time_ns()
        self.processes.t0_ns = now_perf - (now_wall - t0_wall_ns)
        self.deadline_ns = (
            None if deadline_s is None else self.processes.t0_ns + int(deadline_s * 1e9)
        )
        Path(spec.log_path).parent.mkdir(parents=True, exist_ok=True)
        self.replica = self.processes.start(spec, self.deadline_ns, wait=False)

    def wait_ready(self) -> tuple[str, str] | float:
        """When the replica was ready, ms from t0; or (status, why) it never was."""
        try:
            self.replica.wait_ready(self.deadline_ns)
        except LaunchError as exc:
            return exc.status, str(exc)
        return (self.replica.ready_ns - self.processes.t0_ns) / 1e6

    def first_token(self) -> None:
        self.processes.first_token()

    def stop(self, run_dir: str) -> tuple[list[ServiceRecord], list[PhaseRecord], list[str]]:
        """Stop the replica and collect it as a local trial does: its record, its phases,
        what is to be said about it."""
        from coldstart_bench.run.collect import collect

        self.processes.stop_all()
        state = TrialState()
        services, phases = collect(self.processes, Path(run_dir), self.processes.t0_ns, state)
        self.guardian.close()
        return list(services), phases, state.notes


@dataclasses.dataclass
class RemoteReplica:
    """A replica on a Ray node, as the fleet's trial sees it."""

    spec: ServiceSpec
    host: Any  # its actor
    t0_ns: int
    ready_ns: int | None = None

    def wait_ready(self, deadline_ns: int | None = None) -> None:
        import ray

        try:
            answer = ray.get(self.host.wait_ready.remote())
        except Exception as exc:  # its actor or node is gone
            raise LaunchError("failed", f"replica {self.spec.name!r}: its node: {exc}") from None
        if isinstance(answer, float | int):
            self.ready_ns = self.t0_ns + int(answer * 1e6)
            return
        status, why = answer
        raise LaunchError(status, why)


@dataclasses.dataclass(frozen=True)
class Placed:
    """Where a replica runs and how its node's clock was joined to ours."""

    node_id: str
    hostname: str
    address: str
    offset_ns: int  # its wall clock minus ours
    error_ns: int  # half the quickest round trip


class RayReplicas:
    """The fleet's replicas on Ray, in place of a local :class:`TrialProcesses`: the same
    calls the fleet's trial makes (``begin``, ``start``, ``first_token``, ``stop_all``),
    each answered by the replica's node."""

    def __init__(
        self, guardian: Any, address: str | None, run_dir: Path, accounting: str = "off"
    ) -> None:
        self.guardian = guardian  # ours, for the balancer
        self.accounting = accounting
        self.ray = connect(address)
        self.run_dir = run_dir
        self.t0_ns: int | None = None
        self.t0_wall_ns = 0
        self.services: list[Any] = []  # nothing of it runs here: collect() finds none
        self.escaped: list[Any] = []
        self.remote: list[RemoteReplica] = []
        self.placed: dict[str, Placed] = {}
        self.hosts: dict[str, Any] = {}
        self.records: list[ServiceRecord] = []
        self.phases: list[PhaseRecord] = []
        self.notes: list[str] = []

    def place(self, specs: tuple[ServiceSpec, ...]) -> None:
        """An actor for each replica on its node, its clock read (before t0)."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        nodes = sorted(
            (n for n in self.ray.nodes() if n.get("Alive")),
            key=lambda n: (not n.get("IsHead", False), n["NodeID"]),
        )
        if not nodes:
            raise LaunchError("failed", "the Ray cluster has no node alive")
        actor = self.ray.remote(num_cpus=0, max_restarts=0)(ReplicaHost)
        here = self.ray.util.get_node_ip_address()
        node_ids = [nodes[i % len(nodes)]["NodeID"] for i in range(len(specs))]
        for spec, node_id in zip(specs, node_ids, strict=True):
            strategy = NodeAffinitySchedulingStrategy(node_id, soft=False)
            on_node = actor.options(scheduling_strategy=strategy)
            self.hosts[spec.name] = on_node.remote(self.accounting)
        wheres = self.ray.get([h.where.remote() for h in self.hosts.values()])
        for spec, node_id, (hostname, address) in zip(specs, node_ids, wheres, strict=True):
            offset, error = _clock(self.ray, self.hosts[spec.name])
            reach = LOCAL_HOST if address == here else address
            self.placed[spec.name] = Placed(node_id, hostname, reach, offset, error)

    def address_of(self, name: str) -> str:
        return self.placed[name].address if name in self.placed else LOCAL_HOST

    def begin(self) -> int:
        self.t0_ns, self.t0_wall_ns = time.perf_counter_ns(), time.time_ns()
        return self.t0_ns

    def start(
        self, spec: ServiceSpec, deadline_ns: int | None = None, wait: bool = True
    ) -> RemoteReplica:
        if self.t0_ns is None:
            self.begin()
        assert self.t0_ns is not None
        host, placed = self.hosts[spec.name], self.placed[spec.name]
        left = None if deadline_ns is None else (deadline_ns - self.t0_ns) / 1e9
        try:
            self.ray.get(host.start.remote(spec, self.t0_wall_ns + placed.offset_ns, left))
        except LaunchError:
            raise
        except Exception as exc:  # the actor's own error, or its node gone
            cause = getattr(exc, "cause", None)
            if isinstance(cause, LaunchError):
                raise cause from None
            raise LaunchError("failed", f"replica {spec.name!r}: its node: {exc}") from None
        replica = RemoteReplica(spec, host, self.t0_ns)
        self.remote.append(replica)
        if wait:
            replica.wait_ready(deadline_ns)
        return replica

    def first_token(self) -> None:
        for replica in self.remote:
            replica.host.first_token.remote()

    def stop_all(self) -> None:
        """Each node stops its replica and sends back its records; then the actors go."""
        asked = [(r.spec.name, r.host.stop.remote(str(self.run_dir))) for r in self.remote]
        for name, answer in asked:
            try:
                services, phases, notes = self.ray.get(answer)
            except Exception as exc:  # a node lost: its watchdog is what stops the replica
                self.notes.append(f"replica {name}: its node did not answer the stop ({exc})")
                continue
            self.records += services
            self.phases += phases
            self.notes += notes
        for host in self.hosts.values():
            self.ray.kill(host)
        self.hosts.clear()


def _clock(ray: Any, host: Any) -> tuple[int, int]:
    """(the actor's wall clock minus ours, half the round trip) of the quickest of
    :data:`CLOCK_ROUNDS` round trips."""
    best: tuple[int, int] | None = None
    for _ in range(CLOCK_ROUNDS):
        sent = time.time_ns()
        theirs = ray.get(host.clock.remote())
        back = time.time_ns()
        trip = back - sent
        if best is None or trip < 2 * best[1]:
            best = (theirs - (sent + back) // 2, trip // 2)
    assert best is not None
    return best


@contextlib.contextmanager
def local_cluster(nodes: int = 3, cpus_each: int = 1) -> Iterator[str]:
    """A Ray cluster of ``nodes`` nodes on this one machine (Ray's ``cluster_utils``: a
    raylet each, a small object store each), for trying a placement without machines;
    yields its address, shuts it down after."""
    from ray.cluster_utils import Cluster

    store = 80 * 2**20
    cluster = Cluster(
        initialize_head=True, head_node_args={"num_cpus": cpus_each, "object_store_memory": store}
    )
    try:
        for _ in range(nodes - 1):
            cluster.add_node(num_cpus=cpus_each, object_store_memory=store)
        cluster.wait_for_nodes()
        yield cluster.address
    finally:
        cluster.shutdown()


def connect(address: str | None) -> Any:
    """Ray, connected once per process: to ``address``, else to the cluster RAY_ADDRESS
    names, else to a one-node cluster of our own."""
    ray = import_ray('[fleet] placement = "ray"')
    if not ray.is_initialized():
        target = address or os.environ.get("RAY_ADDRESS") or None
        ray.init(address=target, log_to_driver=False, include_dashboard=False)
    return ray
