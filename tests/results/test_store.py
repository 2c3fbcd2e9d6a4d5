"""Results on disk: atomic metadata, append-only trials, and a reader that survives a
run killed mid-write."""

import json
from pathlib import Path

import pytest
from helpers import record

from coldstart_bench.errors import RunDirError
from coldstart_bench.results.schema import SCHEMA_VERSION, RequestRecord, ServiceRecord, TrialRecord
from coldstart_bench.results.store import RunWriter, new_run_dir, read_run, safe_name


def trial(index: int) -> TrialRecord:
    return record(
        index,
        ready_ms=10.0,
        cold_ttft_ms=12.5,
        services=(ServiceRecord(name="s", status="ok", spawn_ms=0.5, ready_ms=10.0, survivors=()),),
        requests=(
            RequestRecord(index=0, status="ok", start_ms=10.1, ttft_ms=2.4, itl_ms=(0.1, 0.2)),
        ),
    )


def test_records_round_trip_through_disk(tmp_path: Path):
    writer = RunWriter(tmp_path, {"run_id": "r", "status": "running"})
    for i in range(3):
        writer.append(trial(i))
    writer.finish(status="complete")
    run = read_run(tmp_path)
    assert run.metadata.status == "complete"
    assert run.metadata.schema_version == SCHEMA_VERSION
    assert run.trials == [trial(i) for i in range(3)]


def test_a_half_written_last_line_is_skipped_and_reported(tmp_path: Path):
    writer = RunWriter(tmp_path, {"run_id": "r", "status": "running"})
    writer.append(trial(0))
    writer.close()
    with open(tmp_path / "trials.jsonl", "a") as f:
        f.write(json.dumps(trial(1).to_dict())[:57])  # killed mid-write
    run = read_run(tmp_path)
    assert run.trials == [trial(0)]
    assert len(run.problems) == 1 and "line 2" in run.problems[0] and "cut off" in run.problems[0]


def test_unknown_fields_from_newer_versions_are_kept_not_rejected():
    data = trial(0).to_dict() | {"gpu_name": "H100"}
    assert TrialRecord.from_dict(data).extra == {"gpu_name": "H100"}


def test_run_directories_are_never_reused(tmp_path: Path):
    a = new_run_dir(tmp_path, "demo")
    b = new_run_dir(tmp_path, "demo")
    assert a != b and a.parent == b.parent == tmp_path
    (a / "trials.jsonl").write_text("x")
    with pytest.raises(RunDirError, match="already exists"):
        new_run_dir(tmp_path, "ignored", run_id=a.name)


@pytest.mark.parametrize("name", ["../../etc", "/abs/path", "..", "a/b\\\\c", "<script>"])
def test_names_cannot_escape_the_results_folder(tmp_path: Path, name: str):
    run_dir = new_run_dir(tmp_path, name)
    assert run_dir.parent == tmp_path
    assert "/" not in safe_name(name) and not safe_name(name).startswith(".")


def test_loading_something_that_is_not_a_run_is_a_clear_error(tmp_path: Path):
    with pytest.raises(RunDirError, match="no such run directory"):
        read_run(tmp_path / "missing")
    with pytest.raises(RunDirError, match="not a coldstart run"):
        read_run(tmp_path)
