"""``python -X importtime`` lines: the slowest imports of a server's start-up, as a table
and a chart."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from coldstart_bench.profiling.stacks import HotSpot

_IMPORT_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S.*)$")


def import_times(log_text: str, top: int = 20) -> list[HotSpot]:
    """``-X importtime`` lines → the slowest imports by cumulative time (µs)."""
    rows = []
    for line in log_text.splitlines():
        match = _IMPORT_LINE.match(line)
        if match:
            rows.append(
                (
                    match.group(4).strip(),
                    int(match.group(1)),
                    int(match.group(2)),
                    len(match.group(3)),
                )
            )
    total = sum(self_us for _name, self_us, _cum, _indent in rows) or 1
    ranked = sorted(rows, key=lambda r: -r[2])[:top]
    return [HotSpot(n, s, c, s / total, c / total) for n, s, c, _i in ranked]


def import_chart(hot: Sequence[HotSpot], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from coldstart_bench.report.style import OKABE_ITO

    fig, ax = plt.subplots(figsize=(10, max(3.0, 0.35 * len(hot) + 1.2)), layout="constrained")
    names = [h.name for h in hot]
    ax.barh(
        range(len(hot)), [h.total_value / 1000 for h in hot], color=OKABE_ITO[0], label="cumulative"
    )
    ax.barh(range(len(hot)), [h.self_value / 1000 for h in hot], color=OKABE_ITO[1], label="self")
    ax.set_yticks(range(len(hot)), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("milliseconds (python -X importtime)")
    ax.set_title("Slowest imports of the server's start-up")
    ax.legend()
    ax.grid(axis="x", alpha=0.3)
    fig.savefig(path, dpi=110)
    plt.close(fig)
