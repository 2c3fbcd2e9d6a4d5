"""Start-up phases of the reference server, kept for ``/startup`` and appended to the
``COLDSTART_PHASES`` file when the harness asks for them (see the README's protocol)."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Phase:
    name: str
    start_ns: int
    end_ns: int
    nbytes: int | None = None

    def line(self) -> dict[str, object]:
        """The ``COLDSTART_PHASES`` protocol's line."""
        data: dict[str, object] = {
            "phase": self.name,
            "start_ns": self.start_ns,
            "end_ns": self.end_ns,
        }
        if self.nbytes is not None:
            data["bytes"] = self.nbytes
        return data

    def to_dict(self) -> dict[str, object]:
        return {**self.line(), "duration_ms": round((self.end_ns - self.start_ns) / 1e6, 4)}


class PhaseLog:
    def __init__(self, path: str | None = None) -> None:
        self.path = path if path is not None else os.environ.get("COLDSTART_PHASES")
        self._phases: list[Phase] = []
        self._lock = threading.Lock()

    def add(self, name: str, start_ns: int, end_ns: int, nbytes: int | None = None) -> None:
        phase = Phase(name, start_ns, end_ns, nbytes)
        with self._lock:
            self._phases.append(phase)
            if self.path:
                with open(self.path, "a", encoding="utf-8") as f:
                    f.write(json.dumps(phase.line()) + "\n")

    @contextmanager
    def span(self, name: str, nbytes: int | None = None) -> Iterator[None]:
        start = time.perf_counter_ns()
        try:
            yield
        finally:
            self.add(name, start, time.perf_counter_ns(), nbytes)

    @property
    def phases(self) -> list[Phase]:
        with self._lock:
            return list(self._phases)
