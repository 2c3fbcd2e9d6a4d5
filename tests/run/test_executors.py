"""What the session does with a run, through the in-memory executor: no process starts, so
each of these runs in milliseconds. The real executors are exercised by test_session.py
(local) and test_ray.py."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from helpers import run_options, scenario_text

from coldstart_bench import read_run
from coldstart_bench.plan.order import TrialSpec
from coldstart_bench.results.schema import TrialRecord
from coldstart_bench.run.fake import FakeExecutor
from coldstart_bench.run.session import run_scenario
from coldstart_bench.scenario.reader import parse_scenario

SCENARIO = scenario_text(
    repetitions=3,
    warmup_trials=1,
    services=[{"command": ["true"]}],  # the fake executor starts nothing
    matrix={"cache": ["off", "on"], "size": ["s", "m", "l"]},
)


def loaded(tmp_path: Path, text: str = SCENARIO):  # type: ignore[no-untyped-def]
    return parse_scenario(text, path=tmp_path / "s.toml")


class Observer:
    def __init__(self) -> None:
        self.events: list[tuple[str, int]] = []

    def run_started(self, run_dir: Path, trials: list[TrialSpec]) -> None:
        self.events.append(("run", len(trials)))

    def setup_started(self, argv: list[str]) -> None:
        self.events.append(("setup", len(argv)))

    def trial_started(self, trial: TrialSpec) -> None:
        self.events.append(("start", trial.index))

    def trial_finished(self, trial: TrialSpec, record: TrialRecord) -> None:
        assert record.trial == trial.index
        self.events.append(("finish", trial.index))


def test_every_round_runs_each_variant_once_after_the_warmups(tmp_path: Path):
    executor = FakeExecutor()
    outcome = run_scenario(loaded(tmp_path), run_options(tmp_path, executor=executor, seed=3))
    assert [t.index for t in executor.ran] == list(range(6 * 4))
    assert all(t.warmup for t in executor.ran[:6])
    for start in range(0, 24, 6):  # a warm-up round, then three measured rounds
        assert len({t.variant.id for t in executor.ran[start : start + 6]}) == 6
    orders = [[t.variant.id for t in executor.ran[s : s + 6]] for s in range(6, 24, 6)]
    assert len({tuple(o) for o in orders}) > 1  # shuffled, not the same order every round
    assert outcome.status == "complete" and outcome.exit_code == 0
    assert Counter(t.status for t in read_run(outcome.run_dir).measured) == {"ok": 18}


def test_the_same_seed_gives_the_same_order(tmp_path: Path):
    first, second = FakeExecutor(), FakeExecutor()
    run_scenario(loaded(tmp_path), run_options(tmp_path / "a", executor=first, seed=9))
    run_scenario(loaded(tmp_path), run_options(tmp_path / "b", executor=second, seed=9))
    assert [t.variant.id for t in first.ran] == [t.variant.id for t in second.ran]


def test_the_observer_hears_each_trial_start_before_it_finishes(tmp_path: Path):
    observer = Observer()
    run_scenario(loaded(tmp_path), run_options(tmp_path, executor=FakeExecutor()), observer)
    assert observer.events[0] == ("run", 24)
    starts = [i for kind, i in observer.events if kind == "start"]
    finishes = [i for kind, i in observer.events if kind == "finish"]
    assert starts == finishes == list(range(24))
    for index in range(24):
        assert observer.events.index(("start", index)) < observer.events.index(("finish", index))


def test_shards_together_run_every_trial_exactly_once(tmp_path: Path):
    ran: list[int] = []
    for shard in (1, 2, 3):
        executor = FakeExecutor()
        options = run_options(tmp_path / str(shard), executor=executor, seed=5, shard=(shard, 3))
        run_scenario(loaded(tmp_path), options)
        per_variant = Counter(t.variant.id for t in executor.ran)
        assert set(per_variant.values()) <= {1, 2}  # every shard gets a share of each variant
        ran += [t.index for t in executor.ran]
    assert sorted(ran) == list(range(24))


def test_variants_that_cannot_run_here_are_recorded_as_skipped_not_run(tmp_path: Path):
    text = (
        SCENARIO
        + """
[[requires]]
match = { size = "l" }
command = ["false"]
reason = "no large machine"
"""
    )
    executor = FakeExecutor()
    outcome = run_scenario(loaded(tmp_path, text), run_options(tmp_path, executor=executor))
    assert {t.variant.factors["size"] for t in executor.ran} == {"s", "m"}
    skipped = [t for t in outcome.trials if t.status == "skipped"]
    assert len(skipped) == 2 * 4 and all(t.error.startswith("no large machine") for t in skipped)
    meta = json.loads((outcome.run_dir / "run.json").read_text())
    assert set(meta["skipped_variants"]) == {"cache=off,size=l", "cache=on,size=l"}
    assert outcome.exit_code == 0  # skipped is not failed


def test_failed_trials_make_exit_code_1_but_warmup_failures_do_not(tmp_path: Path):
    def fail_large(trial: TrialSpec) -> str | None:
        return "boom" if trial.variant.factors["size"] == "l" else None

    def fail_warmups(trial: TrialSpec) -> str | None:
        return "cold disk" if trial.warmup else None

    failing = run_scenario(
        loaded(tmp_path), run_options(tmp_path / "a", executor=FakeExecutor(failure=fail_large))
    )
    assert failing.exit_code == 1
    assert {t.error for t in failing.trials if t.status == "failed"} == {"boom"}
    # every warm-up failing alike would stop the run (run/give_up.py): --keep-going
    warm = run_scenario(
        loaded(tmp_path),
        run_options(tmp_path / "b", executor=FakeExecutor(failure=fail_warmups), keep_going=True),
    )
    assert warm.exit_code == 0


def test_an_interrupt_keeps_the_finished_trials_on_disk(tmp_path: Path):
    executor = FakeExecutor(interrupt_after=7)
    outcome = run_scenario(loaded(tmp_path), run_options(tmp_path, executor=executor))
    assert outcome.status == "interrupted" and outcome.exit_code == 130
    run = read_run(outcome.run_dir)
    assert [t.trial for t in run.trials] == list(range(7))
    assert run.metadata.status == "interrupted"
    assert run.metadata.trials_done == 7 and run.metadata.interrupted_by == "SIGINT"


def test_the_record_of_each_trial_carries_what_the_executor_measured(tmp_path: Path):
    def ttft(trial: TrialSpec) -> float:
        return {"s": 100.0, "m": 200.0, "l": 400.0}[trial.variant.factors["size"]]

    outcome = run_scenario(
        loaded(tmp_path), run_options(tmp_path, executor=FakeExecutor(cold_ttft_ms=ttft))
    )
    run = read_run(outcome.run_dir)
    by_size = {t.factors["size"]: t.cold_ttft_ms for t in run.measured}
    assert by_size == {"s": 100.0, "m": 200.0, "l": 400.0}
    assert run.metadata.executor == "fake"


def test_an_unknown_executor_name_is_refused_by_the_cli(tmp_path: Path, write_scenario):
    from typer.testing import CliRunner

    from coldstart_bench.cli.app import app

    path = write_scenario(SCENARIO)
    result = CliRunner().invoke(app, ["run", str(path), "--executor", "dask"])
    assert result.exit_code == 2
    assert "local" in result.output and "ray" in result.output


@pytest.mark.parametrize("bad", [(0, 2), (3, 2)])
def test_a_shard_out_of_range_is_bad_input(tmp_path: Path, bad):
    from coldstart_bench.errors import ColdstartError

    with pytest.raises(ColdstartError, match="--shard"):
        run_scenario(
            loaded(tmp_path), run_options(tmp_path, executor=FakeExecutor(), seed=1, shard=bad)
        )
