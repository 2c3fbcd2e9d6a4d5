"""The generated model: deterministic bytes, identical logits in every load format, and a
KV cache that gives the same answer as recomputing everything."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
import torch

from coldstart_bench.target.model import PRESETS, build_model, config_for_size, generate_weights
from coldstart_bench.target.phases import PhaseLog
from coldstart_bench.target.tokenizer import decode, encode, encode_chat
from coldstart_bench.target.weights import LOAD_FORMATS, load_weights, model_config, write_model


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_seed_gives_identical_bytes_in_both_formats(tmp_path: Path):
    a = write_model(tmp_path / "a", "tiny", ["safetensors", "torch"], seed=7)
    b = write_model(tmp_path / "b", "tiny", ["safetensors", "torch"], seed=7)
    c = write_model(tmp_path / "c", "tiny", ["safetensors"], seed=8)
    for fmt in ("safetensors", "torch"):
        assert sha256(a.files[fmt]) == sha256(b.files[fmt])
    assert sha256(a.files["safetensors"]) != sha256(c.files["safetensors"])


def test_an_identical_model_is_reused_and_a_damaged_one_rewritten(tmp_path: Path):
    first = write_model(tmp_path / "m", "tiny", ["safetensors"], seed=1)
    path = first.files["safetensors"]
    written_at = path.stat().st_mtime_ns
    again = write_model(tmp_path / "m", "tiny", ["safetensors"], seed=1)
    assert not first.reused and again.reused
    assert path.stat().st_mtime_ns == written_at

    good = sha256(path)
    with open(path, "r+b") as f:  # flip bytes, keep the size; the mtime changes
        f.seek(1000)
        f.write(b"\xff\xff\xff\xff")
    repaired = write_model(tmp_path / "m", "tiny", ["safetensors"], seed=1)
    assert not repaired.reused
    assert sha256(path) == good

    other_seed = write_model(tmp_path / "m", "tiny", ["safetensors"], seed=2)
    assert not other_seed.reused


def test_all_load_formats_give_identical_logits(tiny_model: Path):
    cfg = model_config(tiny_model)
    ids = torch.tensor([encode("cold start")])
    logits = []
    for fmt in LOAD_FORMATS:
        phases = PhaseLog(path="")
        model = build_model(cfg, load_weights(tiny_model, fmt, phases))
        logits.append(model(ids)[0])
        names = [p.name for p in phases.phases]
        assert "deserialize" in names
        assert ("model_read" in names) == (fmt == "safetensors")
    for other in logits[1:]:
        assert torch.equal(logits[0], other)


def test_the_kv_cache_matches_a_full_recomputation():
    cfg = PRESETS["tiny"]
    model = build_model(cfg, generate_weights(cfg, seed=3))
    ids = encode("the first token after a restart")
    full, _ = model(torch.tensor([ids]))
    _, cache = model(torch.tensor([ids[:10]]))
    _, cache = model(torch.tensor([ids[10:-1]]), cache)
    last, _ = model(torch.tensor([ids[-1:]]), cache)
    torch.testing.assert_close(last[0, -1], full[0, -1], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    ("size", "low", "high"),
    [("5MB", 4e6, 7e6), ("500MB", 480e6, 560e6), ("1GB", 1.0e9, 1.2e9)],
)
def test_sizes_land_near_what_was_asked(size: str, low: float, high: float):
    assert low <= config_for_size(size).approx_bytes() <= high


def test_a_size_that_makes_no_sense_is_explained():
    with pytest.raises(ValueError, match="tiny, small, medium, large, xl"):
        config_for_size("huge-ish")


def test_the_tokenizer_is_bytes_plus_a_chat_template():
    assert decode(encode("héllo")) == "héllo"
    ids = encode_chat([{"role": "system", "content": "S"}, {"role": "user", "content": "U"}])
    assert decode(ids) == "<|system|>\nS\n<|user|>\nU\n<|assistant|>\n"


def test_written_files_are_world_readable(tmp_path: Path):
    written = write_model(tmp_path / "m", "tiny", ["torch"], seed=0)
    assert os.stat(written.files["torch"]).st_mode & 0o044 == 0o044
