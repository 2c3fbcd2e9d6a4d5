"""A large run read for its statistics without holding every record: each trial's row for
every trial, the whole record of a sample, and the same result however many processes read
the file's parts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import record

from coldstart_bench.analysis import digest as digest_module
from coldstart_bench.analysis.digest import digest, read_digest
from coldstart_bench.analysis.run_analysis import summarise_run
from coldstart_bench.report.build import build_report
from coldstart_bench.results.schema import PhaseRecord, RequestRecord
from coldstart_bench.results.store import RunWriter, read_run

VARIANTS = ("cache=on", "cache=off")


def write_run(run_dir: Path, trials: int, bad_lines: dict[int, str] | None = None) -> None:
    """A run of ``trials`` trials over two variants, each with a request and a phase;
    ``bad_lines``: after trial N, a line that is no record."""
    plan = [{"id": v, "factors": {"cache": v.split("=")[1]}} for v in VARIANTS]
    writer = RunWriter(
        run_dir, {"run_id": "r", "scenario": {"name": "big"}, "plan": {"variants": plan}}
    )
    for n in range(trials):
        variant = VARIANTS[n % 2]
        ready = 100.0 + n % 7 + (20 if variant == "cache=off" else 0)
        writer.append(
            record(
                n,
                variant=variant,
                factors={"cache": variant.split("=")[1]},
                repetition=n // 2,
                ready_ms=ready,
                cold_ttft_ms=ready + 5,
                status="failed" if n % 50 == 49 else "ok",
                error="boom" if n % 50 == 49 else None,
                requests=(RequestRecord(0, "ok", ready, ttft_ms=5.0, itl_ms=(1.0, 2.0)),),
                phases=(PhaseRecord("llm", "load", 0.0, ready - 10),),
            )
        )
    writer.finish(status="complete")
    if bad_lines:
        path = run_dir / "trials.jsonl"
        lines = path.read_text().splitlines(keepends=True)
        for n in sorted(bad_lines, reverse=True):
            lines.insert(n + 1, bad_lines[n] + "\n")
        path.write_text("".join(lines))


def test_every_trial_counts_but_only_a_sample_is_kept_whole(tmp_path: Path):
    write_run(tmp_path, 400)
    whole = digest(read_run(tmp_path))
    streamed = read_digest(tmp_path, keep=40)

    assert streamed.total == whole.total == 400 and len(streamed.frame) == 400
    assert streamed.frame.equals(whole.frame)
    kept = streamed.run.trials
    assert len(kept) == 40 and sum(t.variant == "cache=on" for t in kept) == 20
    numbers = [t.trial for t in kept]
    assert numbers == sorted(numbers) and numbers[0] < 100 and numbers[-1] > 300  # spread
    assert numbers == [t.trial for t in read_digest(tmp_path, keep=40).run.trials]  # fixed
    assert kept[0].requests[0].itl_ms == (1.0, 2.0)  # whole records

    # every statistic from every trial: the same table as with all records in memory
    assert summarise_run(streamed).stats.equals(summarise_run(whole).stats)
    failed = summarise_run(streamed).failures
    assert len(failed) == 8 and failed[0].error == "boom"
    assert streamed.detail_note and "400 trials" in streamed.detail_note
    assert whole.detail_note is None


def test_parts_read_by_several_processes_give_the_same_digest(tmp_path: Path, monkeypatch):
    write_run(tmp_path, 600, bad_lines={10: "{not json", 450: "[1, 2]"})
    one = read_digest(tmp_path, keep=60, workers=1)
    monkeypatch.setattr(digest_module, "PART_BYTES", 1)  # a part per process whatever the size
    split: list[int] = []
    parts = digest_module._parts
    monkeypatch.setattr(
        digest_module, "_parts", lambda *a: split.append(len(found := parts(*a))) or found
    )
    three = read_digest(tmp_path, keep=60, workers=3)
    assert split == [3]  # read by three processes

    assert three.frame.equals(one.frame) and three.machine.equals(one.machine)
    assert three.run.trials == one.run.trials
    assert three.run.problems == one.run.problems
    # the bad line's number counts every line before it, in whichever part it was read
    assert any("line 12: not a complete trial record" in p for p in one.run.problems)
    assert any("schema_version None" in p for p in one.run.problems)


def test_a_sampled_report_says_so_and_lists_every_trial(tmp_path: Path, monkeypatch):
    write_run(tmp_path, 300)
    monkeypatch.setattr(digest_module, "DETAIL_TRIALS", 30)
    report = build_report(tmp_path, tmp_path / "report", ["md", "csv"])
    said = (tmp_path / "report" / "summary.md").read_text()
    assert "300 trials" in said and "from 30 trials" in said
    rows = (tmp_path / "report" / "trials.csv").read_text().splitlines()
    assert len(rows) == 1 + 300  # one row per trial, no request columns from a sample
    assert "req_" not in rows[0]
    assert report.analysis.summary.frame.shape[0] == 300


@pytest.mark.parametrize("keep", [10**9, 0])
def test_a_large_keep_keeps_every_record_and_zero_keeps_none(tmp_path: Path, keep: int):
    write_run(tmp_path, 30)
    read = read_digest(tmp_path, keep=keep)
    assert len(read.run.trials) == (30 if keep else 0)
    assert len(read.frame) == 30
    assert json.loads((tmp_path / "run.json").read_text())["run_id"] == "r"
