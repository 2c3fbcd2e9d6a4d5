"""``coldstart gate --history``: the baseline is the last runs of the scenario before the
new run (on a branch, where asked), never the new run itself; an empty history passes and
says so, budgets still hold; and the stored-baseline recipe's first run can pass too."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from coldstart_bench.cli.app import app
from coldstart_bench.history.baseline import history_baseline
from coldstart_bench.history.entry import entry_of, packed_run
from coldstart_bench.history.store import HistoryStore
from coldstart_bench.results.store import RunData, read_run

GOLDEN_RUN = Path(__file__).parents[1] / "data" / "run-0e8cffb"


def _copy(tmp_path: Path, name: str, hour: int) -> RunData:
    """The golden run under another id, started at ``hour``."""
    copy = tmp_path / name
    shutil.copytree(GOLDEN_RUN, copy)
    meta = json.loads((copy / "run.json").read_text())
    meta.update(run_id=name, started_at=f"2026-12-07T{hour:02d}:00:00+00:00")
    (copy / "run.json").write_text(json.dumps(meta))
    return read_run(copy)


def _add(store: HistoryStore, run: RunData, commit: str, branch: str, trials: bool = True):
    entry, values = entry_of(run, commit, branch)
    store.add(entry, values, packed_run(run) if trials else None)


@pytest.fixture
def history(tmp_path: Path) -> tuple[Path, dict[str, RunData]]:
    """Runs a (main), b (feature), c (main) in that order; d (main) made after, not added."""
    runs = {
        name: _copy(tmp_path, name, hour)
        for name, hour in zip("abcd", (9, 10, 11, 12), strict=True)
    }
    path = tmp_path / "h.sqlite"
    with HistoryStore(path) as store:
        for name, commit, branch in (("a", "c1", "main"), ("b", "c2", "feature"),
                                     ("c", "c3", "main")):  # fmt: skip
            _add(store, runs[name], commit, branch)
    return path, runs


def test_the_baseline_is_the_runs_before_the_new_one_on_its_branch(history):
    path, runs = history
    with HistoryStore(path) as store:
        in_store = history_baseline(store, runs["c"], "main")
        any_branch = history_baseline(store, runs["c"], None)
        after = history_baseline(store, runs["d"], "main", window=1)
    assert [e.run_id for e in in_store.entries] == ["a"]  # c is the new run: not its own base
    assert [e.run_id for e in any_branch.entries] == ["a", "b"]
    assert [e.run_id for e in after.entries] == [
        "c"
    ] and "last 1 run(s) of old-format on main" in after.note
    pooled = any_branch.run
    assert pooled is not None and len(pooled.trials) == 2 * len(runs["a"].trials)
    assert len({t.trial for t in pooled.trials}) == len(pooled.trials)  # numbered afresh


def test_runs_kept_without_their_trials_are_said_and_skipped(tmp_path: Path):
    old, new = _copy(tmp_path, "old", 9), _copy(tmp_path, "new", 10)
    with HistoryStore(tmp_path / "h.sqlite") as store:
        _add(store, old, "c1", "main", trials=False)  # as history schema 1 kept runs
        found = history_baseline(store, new, "main")
    assert found.run is None and "1 earlier run(s) were added without their trials" in found.note


def test_the_gate_judges_a_run_against_the_pooled_history(history, tmp_path: Path):
    path, runs = history
    out = tmp_path / "gate.json"
    done = CliRunner().invoke(
        app, ["gate", str(runs["d"].run_dir), "--history", str(path), "--branch", "main",
              "--json", str(out)],
    )  # fmt: skip
    assert done.exit_code in (0, 4), done.output  # the same trials as its baseline's runs
    verdict = json.loads(out.read_text())
    assert any("the baseline is the last 2 run(s) of old-format on main" in n
               for n in verdict["notes"])  # fmt: skip
    cold = [c for c in verdict["comparisons"] if c["metric"] == "cold_ttft_ms"]
    assert cold and all(c["n_base"] == 2 * c["n_new"] for c in cold)
    assert all(c["ratio"] == pytest.approx(1.0) for c in cold)


def test_an_empty_history_passes_says_so_and_adds_the_run(tmp_path: Path):
    path, junit = tmp_path / "h.sqlite", tmp_path / "gate.xml"
    gate = ["gate", str(GOLDEN_RUN), "--history", str(path), "--add", "--junit", str(junit)]
    done = CliRunner().invoke(app, gate)
    assert done.exit_code == 0 and "no earlier run of old-format" in done.output, done.output
    assert ET.parse(junit).getroot().get("tests") == "1"
    with HistoryStore(path) as store:
        (stored,) = store.runs()
    assert stored.entry.verdict == "pass"
    over = CliRunner().invoke(
        app, ["gate", str(GOLDEN_RUN), "--history", str(tmp_path / "new.sqlite"),
              "--budget", "cold_ttft_ms=1"],
    )  # fmt: skip
    assert over.exit_code == 1 and "over budget" in over.output  # budgets need no history


def test_the_stored_baseline_recipe_can_pass_its_first_run(tmp_path: Path):
    gate = ["gate", str(GOLDEN_RUN), "--baseline", "main", "--results-dir", str(tmp_path)]
    missing = CliRunner().invoke(app, gate)
    assert missing.exit_code == 2 and "neither a run directory nor a baseline" in missing.output
    first = CliRunner().invoke(app, [*gate, "--if-no-baseline", "pass"])
    assert first.exit_code == 0 and "main is neither a run directory" in first.output


def test_history_options_need_history_and_exclude_the_other_baselines():
    both = CliRunner().invoke(
        app, ["gate", str(GOLDEN_RUN), "--history", "h.sqlite", "--baseline", "main"]
    )
    assert both.exit_code == 2 and "one of --history, --baseline and --factor" in both.output
    alone = CliRunner().invoke(app, ["gate", str(GOLDEN_RUN), "--add"])
    assert alone.exit_code == 2 and "go with --history" in alone.output
