"""A fleet scaling out: for each fleet variant, when k of its N replicas were ready (the
median over trials of each trial's k-th ready replica), k on the x axis — and beside each
fleet of N, one replica alone, so the curve's climb is the replicas' contention."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt

from coldstart_bench.analysis.fleet import FleetRow
from coldstart_bench.report.style import GREY, OKABE_ITO, png_bytes
from coldstart_bench.results.schema import TrialRecord


def fleet_picture(rows: Sequence[FleetRow]) -> bytes | None:
    """The k-ready curve of each fleet variant (None without a fleet of two or more)."""
    drawn = [r for r in rows if r.replicas > 1]
    if not drawn:
        return None
    fig, ax = plt.subplots(figsize=(11, 4.6), layout="constrained")
    styles = {"haproxy": "-", "first-ready": "--"}
    for i, row in enumerate(drawn):
        ks = [k for k, v in enumerate(row.k_ready_ms, 1) if v is not None]
        values = [v for v in row.k_ready_ms if v is not None]
        colour = OKABE_ITO[i % len(OKABE_ITO)]
        ax.plot(ks, values, marker="o", color=colour, linestyle=styles.get(row.balancer, "-"),
                label=f"{row.variant} (n = {row.trials})")  # fmt: skip
    alone = sorted({r.alone_ready_ms for r in drawn if r.alone_ready_ms is not None})
    if alone:  # one grey tick per distinct baseline (each fleet's other factors alike)
        ax.scatter([0.6] * len(alone), alone, color=GREY, marker="_", s=300)
        ax.annotate("one replica alone", xy=(0.6, alone[0]), xytext=(0.7, alone[0] * 0.9),
                    color=GREY, fontsize=9)  # fmt: skip
    ax.set_xlabel("k: replicas ready (the k-th to be ready)")
    ax.set_ylabel("ms from t0 (median over trials)")
    ax.set_xticks(range(1, max(r.replicas for r in drawn) + 1))
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("Replicas started at once: when the k-th was ready", loc="left", fontsize=11)
    return png_bytes(fig)


MAX_GANTTS = 4


def fleet_gantt(typical: Sequence[tuple[str, TrialRecord]]) -> bytes | None:
    """Per fleet variant (at most four), its typical trial: each replica's spawn → ready
    with its phases, and under it on the same time axis each request's TTFT at the moment
    it was answered, coloured by the replica that answered; every replica's ready marked."""
    shown = list(typical)[:MAX_GANTTS]
    if not shown:
        return None
    fig, axes = plt.subplots(
        2 * len(shown), 1, figsize=(11, 3.6 * len(shown)), layout="constrained",
        gridspec_kw={"height_ratios": [3, 2] * len(shown)}, squeeze=False,
    )  # fmt: skip
    for i, (variant, trial) in enumerate(shown):
        bars, users = axes[2 * i, 0], axes[2 * i + 1, 0]
        fleet = trial.fleet
        assert fleet is not None
        colours = {name: OKABE_ITO[j % len(OKABE_ITO)] for j, name in enumerate(fleet.replicas)}
        services = {s.name: s for s in trial.services}
        for row, name in enumerate(fleet.replicas):
            service = services.get(name)
            if service is None:  # the queue never asked for it
                bars.text(0, row, "  not started: the queue never asked for it", va="center",
                          fontsize=8, color="#555555")  # fmt: skip
                continue
            spawn = service.spawn_ms if service and service.spawn_ms is not None else 0.0
            ready = fleet.ready_ms[row]
            end = ready if ready is not None else trial.wall_ms or spawn
            bars.barh(row, end - spawn, left=spawn, height=0.5, color="#dddddd",
                      edgecolor=colours[name])  # fmt: skip
            for phase in (p for p in trial.phases if p.service == name and not p.depth):
                bars.barh(row, phase.end_ms - phase.start_ms, left=phase.start_ms, height=0.3,
                          color=colours[name], alpha=0.6)  # fmt: skip
            if ready is not None:
                for ax in (bars, users):
                    ax.axvline(ready, color=colours[name], linewidth=0.8, linestyle=":")
            else:
                bars.text(end, row, "  never ready", va="center", fontsize=8, color="#aa0000")
        if fleet.balancer_ready_ms is not None:
            for ax in (bars, users):
                ax.axvline(fleet.balancer_ready_ms, color=GREY, linewidth=1.5)
        bars.set_yticks(range(len(fleet.replicas)), list(fleet.replicas), fontsize=8)
        bars.set_ylim(len(fleet.replicas) - 0.5, -0.5)  # replica 1 on top, every row shown
        bars.set_title(f"{variant}: the replicas (spawn → ready; the phases darker)",
                       loc="left", fontsize=10)  # fmt: skip
        answered = [*trial.requests, *(r.request for r in trial.load)]
        done = [r for r in answered if r.ttft_ms is not None]
        users.scatter([r.start_ms + (r.ttft_ms or 0) for r in done], [r.ttft_ms for r in done],
                      c=[colours.get(r.replica or "", GREY) for r in done], s=25)  # fmt: skip
        users.set_ylabel("TTFT, ms")
        users.set_ylim(0, max((r.ttft_ms or 0 for r in done), default=1.0) * 1.25)
        haproxy = " (grey line: HAProxy had a replica up)" if fleet.balancer == "haproxy" else ""
        users.set_title("the requests: TTFT when answered, coloured by the replica that "
                        f"answered{haproxy}", loc="left", fontsize=9)  # fmt: skip
        users.set_xlabel("ms from t0")
        users.sharex(bars)
        ends = [r.start_ms + (r.total_ms or r.ttft_ms or 0) for r in answered]
        ends += [r for r in fleet.ready_ms if r is not None]
        bars.set_xlim(0, max(ends, default=1.0) * 1.03)
        for ax in (bars, users):
            ax.grid(alpha=0.3)
    return png_bytes(fig)
