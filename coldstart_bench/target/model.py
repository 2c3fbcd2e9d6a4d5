"""A small GPT-style decoder: token and position embeddings, pre-norm causal self-attention
blocks with a KV cache, a GELU MLP, and an LM head. Its weights are random but seeded, so
every generated model is the same bytes for the same seed and size."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from coldstart_bench.target.tokenizer import VOCAB_SIZE

KVCache = list[tuple[torch.Tensor, torch.Tensor]]


@dataclass(frozen=True)
class ModelConfig:
    d_model: int
    n_layers: int
    n_heads: int
    max_seq: int = 1024
    vocab_size: int = VOCAB_SIZE

    @property
    def d_ff(self) -> int:
        return 4 * self.d_model

    def parameter_count(self) -> int:
        d, v, s = self.d_model, self.vocab_size, self.max_seq
        per_layer = 4 * d * d + 4 * d + 2 * d * self.d_ff + self.d_ff + d + 4 * d
        return v * d + s * d + self.n_layers * per_layer + 2 * d + v * d

    def approx_bytes(self) -> int:
        return 4 * self.parameter_count()

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


PRESETS: dict[str, ModelConfig] = {
    "tiny": ModelConfig(d_model=128, n_layers=2, n_heads=4, max_seq=512),  # ~2 MB
    "small": ModelConfig(d_model=256, n_layers=4, n_heads=4),  # ~14 MB
    "medium": ModelConfig(d_model=512, n_layers=8, n_heads=8),  # ~103 MB
    "large": ModelConfig(d_model=1024, n_layers=12, n_heads=16),  # ~610 MB
    "xl": ModelConfig(d_model=1024, n_layers=21, n_heads=16),  # ~1.06 GB
}

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(k|m|g)i?b?\s*$", re.IGNORECASE)
_UNITS = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def config_for_size(size: str) -> ModelConfig:
    """A preset name (``tiny`` ... ``xl``) or a weight-file size such as ``500MB``/``1.5GB``:
    the width grows with the size and the depth is chosen to land close to it."""
    if size in PRESETS:
        return PRESETS[size]
    match = _SIZE.match(size)
    if not match:
        names = ", ".join(PRESETS)
        raise ValueError(f"size {size!r}: expected one of {names}, or a size like 500MB or 1GB")
    target = float(match.group(1)) * _UNITS[match.group(2).lower()]
    # The widest model that still has a few layers: fewer, larger tensors, as real models.
    for d_model, heads in ((2048, 32), (1024, 16), (512, 8), (256, 4), (128, 4)):
        base = ModelConfig(d_model=d_model, n_layers=0, n_heads=heads)
        per_layer = ModelConfig(d_model=d_model, n_layers=1, n_heads=heads).approx_bytes()
        per_layer -= base.approx_bytes()
        layers = round((target - base.approx_bytes()) / per_layer)
        if 4 <= layers <= 48 or (d_model == 128 and 1 <= layers < 4):
            return ModelConfig(d_model=d_model, n_layers=layers, n_heads=heads)
    raise ValueError(f"size {size!r} is outside what the generator makes (about 1 MB to 10 GB)")


def mlp(
    x: torch.Tensor,
    ln_w: torch.Tensor,
    ln_b: torch.Tensor,
    fc_w: torch.Tensor,
    fc_b: torch.Tensor,
    out_w: torch.Tensor,
    out_b: torch.Tensor,
) -> torch.Tensor:
    """A block's feed-forward half as a pure function of its weights, so one compiled
    graph serves every layer (``TinyGPT.compile_mlp``)."""
    h = F.layer_norm(x, (x.shape[-1],), ln_w, ln_b)
    return F.linear(F.gelu(F.linear(h, fc_w, fc_b)), out_w, out_b)


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig, device: str | None = None) -> None:
        super().__init__()
        self.n_heads = cfg.n_heads
        self.mlp = mlp  # TinyGPT.compile_mlp swaps in the compiled one
        d, dev = cfg.d_model, device
        self.ln1 = nn.LayerNorm(d, device=dev)
        self.qkv = nn.Linear(d, 3 * d, device=dev)
        self.proj = nn.Linear(d, d, device=dev)
        self.ln2 = nn.LayerNorm(d, device=dev)
        self.fc = nn.Linear(d, cfg.d_ff, device=dev)
        self.out = nn.Linear(cfg.d_ff, d, device=dev)

    def forward(
        self, x: torch.Tensor, past: tuple[torch.Tensor, torch.Tensor] | None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        b, t, d = x.shape
        h = self.n_heads
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q = q.view(b, t, h, d // h).transpose(1, 2)
        k = k.view(b, t, h, d // h).transpose(1, 2)
        v = v.view(b, t, h, d // h).transpose(1, 2)
        past_len = 0
        if past is not None:
            past_len = past[0].shape[2]
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        if past_len == 0:
            attn = F.scaled_dot_product_attention(q, k, v, is_causal=t > 1)
        else:
            # Query i sits at position past_len + i and may see every key up to it.
            mask = torch.ones(t, past_len + t, dtype=torch.bool, device=x.device).tril(past_len)
            attn = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        x = x + self.proj(attn.transpose(1, 2).reshape(b, t, d))
        ln, fc, out = self.ln2, self.fc, self.out
        x = x + self.mlp(x, ln.weight, ln.bias, fc.weight, fc.bias, out.weight, out.bias)
        return x, (k, v)


def _embedding(rows: int, dim: int, device: str | None) -> nn.Embedding:
    # Given its weight, nn.Embedding skips its random init; on the meta device that init
    # would import torch._dynamo, a second of start-up for nothing.
    return nn.Embedding(rows, dim, _weight=torch.empty(rows, dim, device=device))


class TinyGPT(nn.Module):
    # ``device`` is passed to every layer rather than set with ``with torch.device(...)``,
    # which also imports torch._dynamo.
    def __init__(self, cfg: ModelConfig, device: str | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        d, dev = cfg.d_model, device
        self.tok_emb = _embedding(cfg.vocab_size, d, dev)
        self.pos_emb = _embedding(cfg.max_seq, d, dev)
        self.blocks = nn.ModuleList(Block(cfg, dev) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(d, device=dev)
        self.lm_head = nn.Linear(d, cfg.vocab_size, bias=False, device=dev)

    def compile_mlp(self) -> None:
        """Every block's MLP through one ``torch.compile``d function (inductor; dynamic in
        the sequence length). The compiling happens at the first calls: a start-up that
        wants it done runs a prefill and a one-token step once (the ``compile`` phase)."""
        compiled = torch.compile(mlp, backend="inductor", dynamic=True)
        for block in self.blocks:
            block.mlp = compiled  # type: ignore[assignment]

    @torch.inference_mode()
    def forward(
        self, ids: torch.Tensor, cache: KVCache | None = None
    ) -> tuple[torch.Tensor, KVCache]:
        """Logits of every position of ``ids`` ([batch, time]) after ``cache``, and the
        cache extended by them. The given cache is not modified."""
        past_len = cache[0][0].shape[2] if cache else 0
        t = ids.shape[1]
        if past_len + t > self.cfg.max_seq:
            raise ValueError(
                f"sequence of {past_len + t} tokens exceeds the model's {self.cfg.max_seq}"
            )
        positions = torch.arange(past_len, past_len + t, device=ids.device)
        x = self.tok_emb(ids) + self.pos_emb(positions)
        new_cache: KVCache = []
        for i, block in enumerate(self.blocks):
            x, kv = block(x, cache[i] if cache else None)
            new_cache.append(kv)
        return self.lm_head(self.ln_f(x)), new_cache


def generate_weights(cfg: ModelConfig, seed: int) -> dict[str, torch.Tensor]:
    """Seeded weights for every parameter of :class:`TinyGPT`, in a fixed order.

    Normal(0, 0.02) for matrices and embeddings (output projections scaled by depth, as
    GPT-2 does), ones/zeros for LayerNorm, so activations stay in a sane range."""
    gen = torch.Generator().manual_seed(seed)
    shapes = TinyGPT(cfg, device="meta").state_dict()
    weights: dict[str, torch.Tensor] = {}
    residual_std = 0.02 / math.sqrt(2 * max(cfg.n_layers, 1))
    for name, meta in shapes.items():
        if ".ln" in name or name.startswith("ln_"):
            fill = 1.0 if name.endswith("weight") else 0.0
            weights[name] = torch.full(meta.shape, fill)
        elif name.endswith("bias"):
            weights[name] = torch.zeros(meta.shape)
        else:
            std = residual_std if name.endswith(("proj.weight", "out.weight")) else 0.02
            weights[name] = torch.randn(meta.shape, generator=gen) * std
    return weights


def build_model(cfg: ModelConfig, weights: dict[str, torch.Tensor]) -> TinyGPT:
    """The module with these weights, without allocating (or initialising) any of its own:
    it is built on the meta device and the loaded tensors are assigned in place."""
    model = TinyGPT(cfg, device="meta")
    model.load_state_dict(weights, assign=True, strict=True)
    return model.eval()
