"""The compile_cache factor: a cold trial's server gets a new empty directory, a warm
one the run's shared directory, and each trial records what the directory held."""

from __future__ import annotations

from pathlib import Path

from helpers import run_options, toy_command

from coldstart_bench.run.session import run_scenario

# The toy server "compiles" by writing kernel.bin into the cache unless it is already there.
SERVICE = f"""
        [[services]]
        command = {toy_command("--compile-cache", "{compile_cache_dir}")}
        ready = {{ kind = "http", path = "/health" }}
        [requests]
        count = 1
"""


def test_cold_trials_start_empty_and_warm_ones_find_what_the_warm_up_left(
    tmp_path: Path, write_scenario
):
    path = write_scenario(
        """
        repetitions = 2
        warmup_trials = 1
        [matrix]
        compile_cache = ["cold", "warm"]
        """
        + SERVICE
    )
    outcome = run_scenario(path, run_options(tmp_path))
    assert all(t.status == "ok" for t in outcome.trials) and len(outcome.trials) == 6
    for trial in outcome.trials:
        cache = trial.compile_cache
        level = trial.factors["compile_cache"]
        found_filled = level == "warm" and not trial.warmup
        assert cache.mode == level
        assert cache.files_at_spawn == (1 if found_filled else 0)
        assert cache.files_added == (0 if found_filled else 1)
        assert cache.bytes_added == (0 if found_filled else 1000)
        assert not trial.notes
        if level == "cold":
            assert not Path(cache.dir).exists()  # removed after its trial
    dirs = {
        level: {t.compile_cache.dir for t in outcome.trials if t.factors["compile_cache"] == level}
        for level in ("cold", "warm")
    }
    assert len(dirs["warm"]) == 1 and len(dirs["cold"]) == 3  # one per cold trial


def test_a_warm_trial_that_found_the_cache_empty_says_so(tmp_path: Path, write_scenario):
    path = write_scenario(
        """
        repetitions = 2
        [matrix]
        compile_cache = ["warm"]
        """
        + SERVICE
    )
    first, second = run_scenario(path, run_options(tmp_path)).trials
    assert first.compile_cache.files_at_spawn == 0
    assert any("was empty at spawn" in note for note in first.notes)
    assert second.compile_cache.files_at_spawn == 1 and not second.notes
