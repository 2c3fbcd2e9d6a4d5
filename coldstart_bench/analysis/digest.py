"""A run read for its statistics without holding every record.

A trial's record is a few kilobytes in memory (each request, its inter-token gaps, each
phase, each load request); a million of them do not fit. What every statistic, the gate
and the history read is one row per trial — its metrics and phases
(:func:`~.phase_effects.trials_with_phases`) and its machine (:func:`~.machine.machine_frame`)
— so :func:`read_digest` streams ``trials.jsonl`` once, in chunks, keeping those rows for
every trial and the whole record of at most ``keep`` of them: every trial while the run is
no larger, else a sample the same size for each variant, drawn by a fixed hash of the trial
number (the same trials on every read, spread evenly over the run). The figures of single
requests, phases over time, load and fleets are then drawn from the sample, and the report
says so (:attr:`RunDigest.detail_note`).
"""

from __future__ import annotations

import gc
import heapq
import os
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from coldstart_bench.analysis.machine import machine_frame
from coldstart_bench.analysis.phase_effects import trials_with_phases
from coldstart_bench.analysis.summary import LOG_TAILS_SHOWN, node_of
from coldstart_bench.results.schema import FAILED_STATUSES, TrialRecord, decode_trial
from coldstart_bench.results.store import TRIALS_FILE, RunData, read_run_file
from coldstart_bench.results.trials_file import TrialsRead, read_lines

# Whole records kept for the detail figures, over all variants: 20,000 trials of four
# requests are ~100 MB in memory and draw in seconds.
DETAIL_TRIALS = 20_000
# Trials framed at once while streaming (their records are dropped after).
CHUNK = 5_000
# Failed trials kept whole beyond the sample: those whose log tails the report shows.
FAILED_KEPT = LOG_TAILS_SHOWN


@dataclass(frozen=True)
class RunDigest:
    """A run as its analysis reads it."""

    run: RunData  # run.json, the unreadable lines; ``trials``: the records kept
    frame: pd.DataFrame  # one row per trial of the run: metrics, phase:NAME, identity
    machine: pd.DataFrame  # one row per trial with a machine sample (machine_frame)
    total: int  # trials in the run
    failed: tuple[TrialRecord, ...] = ()  # the first failed trials, whole (their logs)

    @property
    def sampled(self) -> bool:
        return len(self.run.trials) < self.total

    @property
    def detail_note(self) -> str | None:
        """What the report says where its detail figures come from a sample."""
        if not self.sampled:
            return None
        return (
            f"{self.total:,} trials: the statistics of each variant, the effects (on phases "
            f"too) and the gate's figures are computed from all of them; the phase table, "
            f"single requests, load, fleets and trace.json from {len(self.run.trials):,} "
            "trials, the same number of each variant, drawn evenly over the run"
        )


def digest(run: RunData) -> RunDigest:
    """A run already in memory, every record kept."""
    trials = stratify_by_node(run.trials)
    frame = trials_with_phases(trials)
    failed = tuple(t for t in trials if t.status in FAILED_STATUSES)[:FAILED_KEPT]
    return RunDigest(replace(run, trials=trials), frame, machine_frame(trials), len(trials), failed)


def read_digest(
    run_dir: str | Path, keep: int | None = None, workers: int | None = None
) -> RunDigest:
    """Stream a run directory's trials (see the module's docstring), keeping ``keep``
    records whole (default :data:`DETAIL_TRIALS`; 0: none). A file of more than
    :data:`PART_BYTES` is read in parts by ``workers`` processes at once (default: one per
    CPU this process may use, at most :data:`MAX_WORKERS`)."""
    run = read_run_file(run_dir)
    path = run.run_dir / TRIALS_FILE
    variants = max(len(run.planned_variants), 1)
    keep = DETAIL_TRIALS if keep is None else keep
    each = max(keep // variants, 1 if keep else 0)
    if not path.exists():
        return digest(run)
    # Forked: a spawned process would import the program's main module again (not there
    # for python -c or an embedding program). Only a process of one thread forks: a lock
    # another thread held would stay locked in the child.
    bounds = _parts(path, workers if threading.active_count() == 1 else 1)
    if len(bounds) == 1:
        parts = [_read_part(path, 0, None, each)]
    else:
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context

        with ProcessPoolExecutor(len(bounds), mp_context=get_context("fork")) as pool:
            jobs = [pool.submit(_read_part, path, a, b, each) for a, b in bounds]
            parts = [job.result() for job in jobs]
    read = TrialsRead()
    for part in parts:
        read.add(part.read)
    problems = read.finish(path)
    frame = _concat([p.frame for p in parts])
    machine = _concat([p.machine for p in parts])
    kept = [decode_trial(line) for line in _merge_samples([p.sample for p in parts], each)]
    failed = [decode_trial(line) for p in parts for line in p.failed][:FAILED_KEPT]
    if len(set().union(*(p.nodes for p in parts))) > 1:
        frame = _frame_by_node(frame)
        kept = stratify_by_node(kept, force=True)
        failed = stratify_by_node(failed, force=True)
    frame = frame.drop(columns=["node"], errors="ignore")
    run = replace(run, trials=kept, problems=problems)
    return RunDigest(run, frame, machine, read.records, tuple(failed))


# Past this size trials.jsonl is read in parts, one process each (~100,000 trials of four
# requests); MAX_WORKERS of them at most.
PART_BYTES = 256 * 2**20
MAX_WORKERS = 4


def _parts(path: Path, workers: int | None) -> list[tuple[int, int | None]]:
    """Byte ranges of the file, each beginning at a line's beginning."""
    size = path.stat().st_size
    if workers is None:
        workers = min(len(os.sched_getaffinity(0)), MAX_WORKERS)
    count = max(1, min(workers, size // PART_BYTES))
    if count == 1:
        return [(0, None)]
    starts = [0]
    with open(path, "rb") as f:
        for k in range(1, count):
            f.seek(size * k // count)
            f.readline()
            if f.tell() > starts[-1] and f.tell() < size:
                starts.append(f.tell())
    ends: list[int | None] = [*starts[1:], None]
    return list(zip(starts, ends, strict=True))


@dataclass
class _Part:
    """What one process read of its part of trials.jsonl."""

    read: TrialsRead
    frame: pd.DataFrame
    machine: pd.DataFrame
    sample: list[tuple[float, tuple[int, int], str, bytes]]  # lines: quicker to pass back
    failed: list[bytes]
    nodes: set[str]


def _read_part(path: Path, start: int, end: int | None, each: int) -> _Part:
    # The records make no reference cycles, and the collector would walk every kept one
    # again and again as millions pass (a third of the time of a read).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _read_records(path, start, end, each)
    finally:
        if collecting:
            gc.enable()


def _read_records(path: Path, start: int, end: int | None, each: int) -> _Part:
    read = TrialsRead()
    sample = _Sample(each)
    frames: list[pd.DataFrame] = []
    machines: list[pd.DataFrame] = []
    failed: list[bytes] = []
    chunk: list[TrialRecord] = []
    nodes: set[str] = set()

    def flush() -> None:
        frames.append(_interned(_with_node(trials_with_phases(chunk), chunk)))
        machines.append(_interned(machine_frame(chunk)))
        chunk.clear()

    for number, line, record in read_lines(path, read, start, end):
        if (node := node_of(record)) is not None:
            nodes.add(node)
        if record.status in FAILED_STATUSES and len(failed) < FAILED_KEPT:
            failed.append(line)
        sample.offer(record, line, (start, number))
        chunk.append(record)
        if len(chunk) >= CHUNK:
            flush()
    if chunk or not frames:
        flush()
    return _Part(read, _concat(frames), _concat(machines), sample.entries(), failed, nodes)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty] or frames[:1]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _merge_samples(
    parts: list[list[tuple[float, tuple[int, int], str, bytes]]], each: int
) -> list[bytes]:
    """The parts' samples as one: of each variant, the ``each`` that hash lowest, in the
    file's order."""
    by_variant: dict[str, list[tuple[float, tuple[int, int], str, bytes]]] = {}
    for entries in parts:
        for entry in entries:
            by_variant.setdefault(entry[2], []).append(entry)
    kept = []
    for entries in by_variant.values():
        kept += sorted(entries, key=lambda e: (-e[0], e[1]))[:each]
    return [line for _key, _at, _variant, line in sorted(kept, key=lambda e: e[1])]


def stratify_by_node(trials: Iterable[TrialRecord], force: bool = False) -> list[TrialRecord]:
    """Trials from several machines get their node as one more factor (and in the variant
    id), so no statistic averages two machine types together. One machine: unchanged
    (``force``: the run is known to span several, these trials may not show it)."""
    trials = list(trials)
    if not force and len({node_of(t) for t in trials} - {None}) < 2:
        return trials
    out = []
    for t in trials:
        node = node_of(t) or "unknown"
        factors = {**t.factors, "node": node}
        out.append(replace(t, factors=factors, variant=f"{t.variant},node={node}"))
    return out


def _with_node(frame: pd.DataFrame, trials: list[TrialRecord]) -> pd.DataFrame:
    if not frame.empty:
        frame["node"] = [node_of(t) for t in trials]
    return frame


def _frame_by_node(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame's side of :func:`stratify_by_node` for a run over several machines."""
    node = frame["node"].fillna("unknown").astype(str)
    frame = frame.copy()
    frame["factor_node"] = node
    frame["variant"] = frame["variant"].astype(str) + ",node=" + node
    return frame


def _interned(frame: pd.DataFrame) -> pd.DataFrame:
    """Repeated text (variant ids, levels, statuses) held once, not once per trial: a
    million trials' ids are otherwise half a gigabyte of copies of a few strings."""
    for column in frame.columns:
        series = frame[column]
        if not (series.dtype == object or pd.api.types.is_string_dtype(series.dtype)):
            continue
        values = series.to_numpy(dtype=object)
        if not all(v is None or isinstance(v, str) or v != v for v in values[:100]):
            continue
        shared = [sys.intern(v) if isinstance(v, str) else v for v in values]
        frame[column] = pd.array(shared, dtype=series.dtype) if series.dtype != object else shared
    return frame


class _Sample:
    """At most ``each`` records of each variant, those whose trial number hashes lowest:
    a uniform sample that does not depend on the order they are offered in."""

    def __init__(self, each: int) -> None:
        self.each = each
        self.kept: dict[str, list[tuple[float, tuple[int, int], str, bytes]]] = {}

    def offer(self, record: TrialRecord, line: bytes, at: tuple[int, int]) -> None:
        """``at``: where the record stands in the file (its order among the kept)."""
        if not self.each:
            return
        heap = self.kept.setdefault(record.variant, [])
        entry = (-_spread(record.trial), at, record.variant, line)
        if len(heap) < self.each:
            heapq.heappush(heap, entry)
        elif entry[0] > heap[0][0]:
            heapq.heapreplace(heap, entry)

    def entries(self) -> list[tuple[float, tuple[int, int], str, bytes]]:
        """(minus the hash, where, variant, line) of every record kept."""
        return [entry for heap in self.kept.values() for entry in heap]


def _spread(trial: int) -> float:
    """A fixed pseudo-random number in [0, 1) for a trial number (Knuth's multiplicative
    hash): which trials the sample keeps."""
    return ((trial * 2654435761) % 2**32) / 2**32
