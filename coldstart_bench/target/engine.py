"""Token-by-token generation with a KV cache, a precomputed prefix (system prompt) cache
and an LRU cache of complete responses. One request generates at a time (batch size 1)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch

from coldstart_bench.target.model import KVCache, TinyGPT
from coldstart_bench.target.tokenizer import ALLOWED_OUTPUT, EOS, encode, render_message


class PromptTooLong(ValueError):
    pass


@dataclass(frozen=True)
class SamplingParams:
    max_tokens: int = 16
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0
    seed: int | None = None
    ignore_eos: bool = False

    @property
    def deterministic(self) -> bool:
        return self.temperature == 0.0 or self.seed is not None


@dataclass
class Generation:
    """What one request produced; filled in while its tokens are yielded."""

    prompt_tokens: int
    tokens: list[int] = field(default_factory=list)
    finish_reason: str | None = None
    response_cache_hit: bool = False
    prefix_cache_hit: bool = False


@dataclass
class EngineStats:
    requests: int = 0
    response_cache_hits: int = 0
    prefix_cache_hits: int = 0
    generated_tokens: int = 0


class Engine:
    def __init__(
        self,
        model: TinyGPT,
        device: torch.device,
        *,
        response_cache_size: int = 0,
    ) -> None:
        self.model = model
        self.device = device
        self.max_seq = model.cfg.max_seq
        self.stats = EngineStats()
        self._response_cache: OrderedDict[tuple, tuple[list[int], str]] = OrderedDict()
        self._response_cache_size = response_cache_size
        self._prefix: tuple[list[int], KVCache, torch.Tensor] | None = None
        self._lock = threading.Lock()
        allowed = torch.full((model.cfg.vocab_size,), float("-inf"))
        allowed[list(ALLOWED_OUTPUT)] = 0.0
        self._allowed_bias = allowed.to(device)

    # Start-up work ------------------------------------------------------------------

    def build_prefix_cache(self, system_prompt: str) -> int:
        """Precompute the KV cache of the system prompt as a chat would start with it."""
        ids = encode(render_message("system", system_prompt))
        logits, cache = self._forward(ids, None)
        self._prefix = (ids, cache, logits)
        return len(ids)

    def warmup(self, passes: int = 2) -> None:
        """Run full generations so the first request finds every kernel, allocation and
        page of weights already in place."""
        for _ in range(passes):
            for _token in self._decode(encode("warmup"), SamplingParams(max_tokens=4), None):
                pass

    # Serving ------------------------------------------------------------------------

    def generate(
        self, prompt: list[int], params: SamplingParams
    ) -> tuple[Generation, Iterator[int]]:
        """The record of this request and an iterator over its token ids, produced one at
        a time as it is advanced. Callers must exhaust or close the iterator: one
        generation runs at a time and holds the engine until then."""
        if len(prompt) >= self.max_seq:
            raise PromptTooLong(
                f"the prompt has {len(prompt)} tokens; this model's context is {self.max_seq}"
            )
        gen = Generation(prompt_tokens=len(prompt))
        return gen, self._generate(prompt, params, gen)

    def _generate(
        self, prompt: list[int], params: SamplingParams, gen: Generation
    ) -> Iterator[int]:
        with self._lock:
            self.stats.requests += 1
            key = (tuple(prompt), params) if params.deterministic else None
            if key is not None and key in self._response_cache:
                tokens, finish = self._response_cache[key]
                self._response_cache.move_to_end(key)
                gen.response_cache_hit = True
                self.stats.response_cache_hits += 1
                for token in tokens:
                    gen.tokens.append(token)
                    yield token
                gen.finish_reason = finish
                return
            for token in self._decode(prompt, params, gen):
                gen.tokens.append(token)
                self.stats.generated_tokens += 1
                yield token
            if key is not None and self._response_cache_size > 0:
                self._response_cache[key] = (list(gen.tokens), gen.finish_reason or "length")
                while len(self._response_cache) > self._response_cache_size:
                    self._response_cache.popitem(last=False)

    def _decode(
        self, prompt: list[int], params: SamplingParams, gen: Generation | None
    ) -> Iterator[int]:
        generator = None
        if params.temperature > 0:
            generator = torch.Generator(device=self.device)
            if params.seed is not None:
                generator.manual_seed(params.seed)
            else:
                generator.seed()
        logits, cache = self._prefill(prompt, gen)
        length = len(prompt)
        for step in range(params.max_tokens):
            token = self._sample(logits, params, generator)
            if token == EOS and not params.ignore_eos:
                if gen is not None:
                    gen.finish_reason = "stop"
                return
            yield token
            length += 1
            if step + 1 == params.max_tokens or length >= self.max_seq:
                break
            logits, cache = self._forward([token], cache)
        if gen is not None:
            gen.finish_reason = "length"

    def _prefill(self, prompt: list[int], gen: Generation | None) -> tuple[torch.Tensor, KVCache]:
        if self._prefix is not None:
            ids, cache, logits = self._prefix
            n = len(ids)
            if prompt[:n] == ids:
                if gen is not None:
                    gen.prefix_cache_hit = True
                self.stats.prefix_cache_hits += 1
                if len(prompt) == n:
                    return logits, cache
                return self._forward(prompt[n:], cache)
        return self._forward(prompt, None)

    def _forward(self, ids: list[int], cache: KVCache | None) -> tuple[torch.Tensor, KVCache]:
        tensor = torch.tensor([ids], dtype=torch.long, device=self.device)
        logits, new_cache = self.model(tensor, cache)
        return logits[0, -1].float(), new_cache

    def _sample(
        self, logits: torch.Tensor, params: SamplingParams, generator: torch.Generator | None
    ) -> int:
        logits = logits + self._allowed_bias
        if params.ignore_eos:
            logits[EOS] = float("-inf")
        if params.temperature == 0.0 or generator is None:
            return int(torch.argmax(logits).item())
        probs = torch.softmax(logits / params.temperature, dim=-1)
        if params.top_p < 1.0:
            sorted_probs, order = torch.sort(probs, descending=True)
            keep = sorted_probs.cumsum(0) - sorted_probs < params.top_p
            sorted_probs = torch.where(keep, sorted_probs, torch.zeros_like(sorted_probs))
            probs = torch.zeros_like(probs).scatter(0, order, sorted_probs)
        return int(torch.multinomial(probs, 1, generator=generator).item())
