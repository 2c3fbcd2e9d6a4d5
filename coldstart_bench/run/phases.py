"""Phases a target reported about itself through ``COLDSTART_PHASES``, read back after the
trial and placed on its timeline."""

from __future__ import annotations

import json

from coldstart_bench.plan.specs import ServiceSpec
from coldstart_bench.results.schema import PhaseRecord, ns_to_ms


def read_phases(
    spec: ServiceSpec, t0_ns: int, notes: list[str], service: str | None = None
) -> list[PhaseRecord]:
    """Phases a target appended to its ``COLDSTART_PHASES`` file, placed on the trial's
    timeline and recorded under ``service`` (the instance's name, see
    :func:`~coldstart_bench.results.schema.instance_name`; the spec's name by default).
    Lines that do not follow the protocol are skipped with a note."""
    path = spec.phases_path
    if not path.exists():
        return []
    service = service or spec.name
    phases: list[PhaseRecord] = []
    bad = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            start, end = int(data["start_ns"]), int(data["end_ns"])
            name = str(data["phase"])
            nbytes = data.get("bytes")
            nbytes = int(nbytes) if isinstance(nbytes, int) and nbytes >= 0 else None
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            bad += 1
            continue
        phases.append(
            PhaseRecord(service, name, ns_to_ms(start - t0_ns), ns_to_ms(end - t0_ns), nbytes)
        )
    if bad:
        notes.append(
            f"service {spec.name!r}: {bad} line(s) of its phases file are not "
            '{"phase": ..., "start_ns": ..., "end_ns": ...} and were skipped'
        )
    return phases
