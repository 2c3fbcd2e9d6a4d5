"""Generation in-process: greedy and seeded sampling are reproducible, and both caches give
the same tokens as computing everything afresh."""

from __future__ import annotations

from pathlib import Path

import torch

from coldstart_bench.target.engine import Engine, SamplingParams
from coldstart_bench.target.model import build_model
from coldstart_bench.target.phases import PhaseLog
from coldstart_bench.target.tokenizer import ALLOWED_OUTPUT, encode_chat
from coldstart_bench.target.weights import load_weights, model_config


def engine(model_dir: Path, cache: int = 0) -> Engine:
    weights = load_weights(model_dir, "safetensors", PhaseLog(path=""))
    return Engine(
        build_model(model_config(model_dir), weights),
        torch.device("cpu"),
        response_cache_size=cache,
    )


def run(e: Engine, prompt: list[int], params: SamplingParams):
    gen, tokens = e.generate(prompt, params)
    return list(tokens), gen


CHAT = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "hi"}]


def test_greedy_is_deterministic_and_stays_in_the_allowed_alphabet(tiny_model: Path):
    e = engine(tiny_model)
    params = SamplingParams(max_tokens=12, ignore_eos=True)
    first, gen = run(e, encode_chat(CHAT), params)
    second, _ = run(e, encode_chat(CHAT), params)
    assert first == second
    assert len(first) == 12 and gen.finish_reason == "length"
    assert set(first) <= set(ALLOWED_OUTPUT)


def test_seeded_sampling_repeats_and_other_seeds_differ(tiny_model: Path):
    e = engine(tiny_model)
    prompt = encode_chat(CHAT)
    a, _ = run(e, prompt, SamplingParams(max_tokens=24, temperature=1.5, seed=1, ignore_eos=True))
    b, _ = run(e, prompt, SamplingParams(max_tokens=24, temperature=1.5, seed=1, ignore_eos=True))
    c, _ = run(e, prompt, SamplingParams(max_tokens=24, temperature=1.5, seed=2, ignore_eos=True))
    assert a == b
    assert a != c


def test_the_prefix_cache_changes_nothing_but_the_work_done(tiny_model: Path):
    plain = engine(tiny_model)
    cached = engine(tiny_model)
    assert cached.build_prefix_cache("You are terse.") > 0
    params = SamplingParams(max_tokens=10, ignore_eos=True)
    expected, _ = run(plain, encode_chat(CHAT), params)
    got, gen = run(cached, encode_chat(CHAT), params)
    assert got == expected
    assert gen.prefix_cache_hit and cached.stats.prefix_cache_hits == 1
    other = [{"role": "system", "content": "Be verbose."}, {"role": "user", "content": "hi"}]
    _, miss = run(cached, encode_chat(other), params)
    assert not miss.prefix_cache_hit


def test_the_response_cache_replays_identical_requests_only(tiny_model: Path):
    e = engine(tiny_model, cache=8)
    params = SamplingParams(max_tokens=6, ignore_eos=True)
    first, gen1 = run(e, encode_chat(CHAT), params)
    again, gen2 = run(e, encode_chat(CHAT), params)
    longer, gen3 = run(e, encode_chat(CHAT), SamplingParams(max_tokens=7, ignore_eos=True))
    assert again == first and gen2.response_cache_hit and not gen1.response_cache_hit
    assert not gen3.response_cache_hit and longer[:6] == first
    unseeded = SamplingParams(max_tokens=6, temperature=1.0, ignore_eos=True)
    run(e, encode_chat(CHAT), unseeded)
    _, gen4 = run(e, encode_chat(CHAT), unseeded)
    assert not gen4.response_cache_hit  # random output is never replayed
    assert e.stats.response_cache_hits == 1
