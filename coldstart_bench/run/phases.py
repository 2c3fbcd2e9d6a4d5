"""Phases a target reported about itself through ``COLDSTART_PHASES``, read back after the
trial and placed on its timeline."""

from __future__ import annotations

import json
from collections.abc import Collection

from coldstart_bench.plan.specs import ServiceSpec
from coldstart_bench.proc.readiness import MATCH_TIMEOUT_S
from coldstart_bench.results.schema import PhaseRecord, ns_to_ms

# What a trial keeps of a phases file: a server appending without end (or a 200 MB file
# of valid lines) must not cost the harness its memory, nor each record its size.
MAX_PHASES_BYTES = 1 << 20
MAX_PHASES = 1_000
MAX_PHASE_NAME = 200


def read_phases(
    spec: ServiceSpec, t0_ns: int, notes: list[str], service: str | None = None
) -> list[PhaseRecord]:
    """Phases a target appended to its ``COLDSTART_PHASES`` file, placed on the trial's
    timeline and recorded under ``service`` (the instance's name, see
    :func:`~coldstart_bench.results.schema.instance_name`; the spec's name by default).
    Lines that do not follow the protocol are skipped with a note; the file is read up to
    :data:`MAX_PHASES_BYTES` and :data:`MAX_PHASES` phases, with a note where it was cut."""
    path = spec.phases_path
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_PHASES_BYTES + 1)
    except FileNotFoundError:
        return []
    cut = len(data) > MAX_PHASES_BYTES
    if cut:  # keep whole lines only
        data = data[: data.rfind(b"\n", 0, MAX_PHASES_BYTES) + 1]
    service = service or spec.name
    phases: list[PhaseRecord] = []
    bad = 0
    for line in data.decode("utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        if len(phases) == MAX_PHASES:
            cut = True
            break
        try:
            record = json.loads(line)
            start, end = int(record["start_ns"]), int(record["end_ns"])
            name = str(record["phase"])
            nbytes = record.get("bytes")
            nbytes = int(nbytes) if isinstance(nbytes, int) and nbytes >= 0 else None
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            bad += 1
            continue
        if len(name) > MAX_PHASE_NAME:
            name = name[:MAX_PHASE_NAME] + "…"
        phases.append(
            PhaseRecord(service, name, ns_to_ms(start - t0_ns), ns_to_ms(end - t0_ns), nbytes)
        )
    if bad:
        notes.append(
            f"service {spec.name!r}: {bad} line(s) of its phases file are not "
            '{"phase": ..., "start_ns": ..., "end_ns": ...} and were skipped'
        )
    if cut:
        notes.append(
            f"service {spec.name!r}: its phases file was read up to {MAX_PHASES:,} phases "
            f"and {MAX_PHASES_BYTES >> 20} MB; the rest was left out"
        )
    return phases


def read_log_phases(
    spec: ServiceSpec,
    spawn_ns: int | None,
    marks_ns: dict[str, int],
    t0_ns: int,
    notes: list[str],
    service: str | None = None,
    reported_ms: dict[str, float] | None = None,
    timed_out: Collection[str] = (),
) -> list[PhaseRecord]:
    """The service's ``log_phases`` as phases on the trial's timeline: each ends when its
    line was seen in the log and begins where the last phase that was seen ended (the first,
    at spawn), with the duration its line printed where it printed one. A phase whose line
    did not appear before ready is left out, with a note."""
    if not spec.log_phases or spawn_ns is None:
        return []
    service = service or spec.name
    phases: list[PhaseRecord] = []
    begin = spawn_ns
    missing = []
    for name, pattern in spec.log_phases:
        end = marks_ns.get(name)
        if end is None:
            slow = (
                f", which ran out of time ({MATCH_TIMEOUT_S:g} s) on the log"
                if name in timed_out
                else ""
            )
            missing.append(f"{name!r} ({pattern!r}{slow})")
            continue
        if end < begin:  # its line came before the previous phase's: out of order
            notes.append(
                f"service {spec.name!r}: log phase {name!r} ended before the phase listed "
                "before it; left out (list log_phases in the order the lines appear)"
            )
            continue
        reported = (reported_ms or {}).get(name)
        phases.append(
            PhaseRecord(
                service,
                name,
                ns_to_ms(begin - t0_ns),
                ns_to_ms(end - t0_ns),
                reported_ms=round(reported, 4) if reported is not None else None,
            )
        )
        begin = end
    if missing:
        notes.append(
            f"service {spec.name!r}: no line matched log phase(s) {', '.join(missing)} "
            "before it was ready; left out"
        )
    return phases
