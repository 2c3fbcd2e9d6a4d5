"""`coldstart prepare-vllm --dir` writes only into a directory it made (or found empty):
a user's directory is refused, with or without --force, and left as it was."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from coldstart_bench.engines.vllm.home import OWNED_MARKER, PrepareRefused, VllmHome


def prepare(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coldstart_bench.engines", "prepare-vllm", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("force", [False, True])
def test_a_users_directory_is_refused_and_left_as_it_was(tmp_path: Path, force: bool):
    mine = tmp_path / "mine"
    (mine / "model").mkdir(parents=True)
    (mine / "model" / "weights.bin").write_bytes(b"the user's weights")
    (mine / "prepared.json").write_text('{"mine": true}')
    (mine / "venv").mkdir()
    before = snapshot(mine)
    done = prepare("--dir", str(mine), *(["--force"] if force else []))
    assert done.returncode == 2, done.stderr
    assert "not empty and was not made by coldstart prepare-vllm" in done.stderr
    assert "Traceback" not in done.stderr
    assert snapshot(mine) == before


@pytest.mark.parametrize("where", ["a-file", "missing-parent"])
def test_a_directory_that_cannot_be_one_is_one_line_and_exit_2(tmp_path: Path, where: str):
    target = tmp_path / "a-file"
    target.write_text("x")
    if where == "missing-parent":
        target = target / "below"
    done = prepare("--dir", str(target))
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_a_new_or_empty_directory_becomes_ours_and_stays_ours(tmp_path: Path):
    home = VllmHome(tmp_path / "new")
    home.claim()
    assert (home.root / OWNED_MARKER).is_file() and home.owned()
    (home.root / "model").mkdir()  # what a preparation writes
    home.claim()  # ours: may be prepared again (--force)
    empty = VllmHome(tmp_path / "empty")
    empty.root.mkdir()
    empty.claim()
    assert empty.owned()
    taken = VllmHome(tmp_path / "taken")
    (taken.root / "x").mkdir(parents=True)
    with pytest.raises(PrepareRefused):
        taken.claim()
