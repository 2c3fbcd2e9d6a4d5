"""py-spy's samples: read its collapsed stacks, rank the hot spots, and write them as a
speedscope profile and a flame graph (SVG, no script)."""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from coldstart_bench.results.store import atomic_write_text


@dataclass(frozen=True)
class HotSpot:
    name: str
    self_value: float  # samples (py-spy) or µs (importtime)
    total_value: float
    self_share: float  # of all samples / of all import time
    total_share: float


# A stack sampled before the process ran any Python code is the marker alone, with no ';'.
_PROCESS_PREFIX = re.compile(r'^process \d+:(".*?"(;|$)|[^;]*(;|$))')


def write_collapsed(stacks: Mapping[tuple[str, ...], int], path: Path) -> None:
    atomic_write_text(path, "".join(f"{';'.join(s)} {n}\n" for s, n in stacks.items()))


def read_collapsed(path: Path) -> Counter[tuple[str, ...]]:
    """py-spy's raw output: one ``frame;frame;...;frame COUNT`` line per distinct stack,
    root first. Process and thread markers are dropped."""
    stacks: Counter[tuple[str, ...]] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        # With --subprocesses a stack starts with 'process PID:"its command line";' — the
        # command line may hold ';' (and secrets), so it goes as a whole.
        stack = _PROCESS_PREFIX.sub("", stack)
        frames = tuple(
            f.strip() for f in stack.split(";") if f.strip() and not f.startswith("thread ")
        )
        if frames:
            stacks[frames] += int(count)
    return stacks


def _function(frame: str) -> str:
    """'load_weights (coldstart_bench/target/weights.py:231)' → without the line number."""
    return re.sub(r":\d+\)$", ")", frame)


def hot_spots(stacks: Mapping[tuple[str, ...], int], top: int = 15) -> list[HotSpot]:
    total = sum(stacks.values()) or 1
    self_counts: Counter[str] = Counter()
    total_counts: Counter[str] = Counter()
    for stack, count in stacks.items():
        names = [_function(f) for f in stack]
        self_counts[names[-1]] += count
        for name in set(names):
            total_counts[name] += count
    ranked = sorted(total_counts, key=lambda n: (-self_counts[n], -total_counts[n]))
    return [
        HotSpot(n, self_counts[n], total_counts[n], self_counts[n] / total, total_counts[n] / total)
        for n in ranked[:top]
    ]


def write_speedscope(stacks: Mapping[tuple[str, ...], int], path: Path, name: str) -> None:
    frames: dict[str, int] = {}
    samples, weights = [], []
    for stack, count in stacks.items():
        samples.append([frames.setdefault(f, len(frames)) for f in stack])
        weights.append(count)
    document = {
        "$schema": "https://www.speedscope.app/file-format-schema.json",
        "shared": {"frames": [{"name": f} for f in frames]},
        "profiles": [
            {
                "type": "sampled",
                "name": name,
                "unit": "none",
                "startValue": 0,
                "endValue": sum(weights),
                "samples": samples,
                "weights": weights,
            }
        ],
        "exporter": "coldstart-bench",
    }
    atomic_write_text(path, json.dumps(document))


def flame_svg(stacks: Mapping[tuple[str, ...], int], title: str, width: int = 1200) -> str:
    """An icicle-style flame graph (root on top), every frame name escaped; no script."""
    tree: dict = {"count": 0, "children": {}}
    for stack, count in stacks.items():
        node = tree
        node["count"] += count
        for frame in stack:
            node = node["children"].setdefault(frame, {"count": 0, "children": {}})
            node["count"] += count
    total = tree["count"] or 1
    row, rects = 16, []
    palette = ("#E69F00", "#F0C05A", "#D55E00", "#E8A87C", "#CC79A7")

    def walk(node: dict, x: float, depth: int) -> int:
        deepest = depth
        for i, (frame, child) in enumerate(sorted(node["children"].items())):
            w = child["count"] / total * width
            if w >= 0.5:
                label = html.escape(
                    frame if len(frame) * 6.5 < w else frame[: max(int(w / 6.5) - 1, 0)]
                )
                tip = html.escape(
                    f"{frame} — {child['count']} samples ({child['count'] / total:.1%})"
                )
                y = 24 + depth * row
                rects.append(
                    f'<g><title>{tip}</title><rect x="{x:.1f}" y="{y}" width="{w:.1f}" '
                    f'height="{row - 1}" fill="{palette[(depth + i) % len(palette)]}"/>'
                    + (f'<text x="{x + 2:.1f}" y="{y + 12}">{label}</text>' if label else "")
                    + "</g>"
                )
                deepest = max(deepest, walk(child, x, depth + 1))
            x += w
        return deepest

    depth = walk(tree, 0.0, 0)
    height = 24 + (depth + 1) * row + 8
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="monospace" font-size="11">'
        f'<text x="4" y="16" font-size="13">{html.escape(title)}</text>'
        + "".join(rects)
        + "</svg>\n"
    )
