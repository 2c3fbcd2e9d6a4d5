"""The Trace Event format's rules (the part Perfetto and chrome://tracing rely on), as a
checker the tests share."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from typing import Any

PHASES = {"X", "i", "M"}
METADATA = {"process_name", "thread_name", "process_sort_index"}


def check_trace_events(text: str) -> dict[str, Any]:
    """Raise AssertionError on the first broken rule; the parsed document otherwise."""
    document = json.loads(text)
    assert isinstance(document, dict) and isinstance(document["traceEvents"], list)
    assert document.get("displayTimeUnit", "ms") in ("ms", "ns")
    named_processes, named_threads = set(), set()
    slices: dict[tuple[int, int], list[tuple[float, float, str]]] = defaultdict(list)
    for event in document["traceEvents"]:
        assert isinstance(event["name"], str) and event["ph"] in PHASES, event
        assert isinstance(event["pid"], int), event
        if event["ph"] == "M":
            assert event["name"] in METADATA and isinstance(event["args"], dict), event
            if event["name"] == "process_name":
                named_processes.add(event["pid"])
            if event["name"] == "thread_name":
                named_threads.add((event["pid"], event["tid"]))
            continue
        assert isinstance(event["tid"], int), event
        assert isinstance(event["ts"], int | float) and math.isfinite(event["ts"]), event
        assert event["ts"] >= 0, event
        if event["ph"] == "i":
            assert event.get("s", "t") in ("g", "p", "t"), event
            continue
        assert isinstance(event["dur"], int | float) and event["dur"] >= 0, event
        assert isinstance(event.get("args", {}), dict), event
        slices[(event["pid"], event["tid"])].append(
            (event["ts"], event["ts"] + event["dur"], event["name"])
        )
    for (pid, tid), found in slices.items():
        assert pid in named_processes and (pid, tid) in named_threads, (pid, tid)
        # Complete events on one thread nest or follow each other; a viewer draws a slice
        # that overlaps its neighbour's end wrongly.
        stack: list[tuple[float, float, str]] = []
        for start, end, name in sorted(found, key=lambda s: (s[0], -s[1])):
            while stack and start >= stack[-1][1] - 1e-3:
                stack.pop()
            if stack:
                assert end <= stack[-1][1] + 1e-3, f"{name} overlaps {stack[-1][2]} ({pid}/{tid})"
            stack.append((start, end, name))
    return document
