"""Named sets of ``log_phases`` for servers that print their start-up but report no phases:
``log_phases = "vllm"`` instead of the list. Each pattern was read off the server's own
output (the version named), and each phase ends at the first line that matches.

A pattern with a named group ``seconds`` (or ``ms``) also records the duration the server
printed for that step itself, beside the one measured from the log lines' arrival.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PresetPhase:
    name: str
    until: str
    covers: str  # what happens in it, for the docs


@dataclass(frozen=True)
class LogPhasePreset:
    name: str
    server: str  # which server and version the patterns were read from
    phases: tuple[PresetPhase, ...]


# vLLM 0.32 (`vllm serve`, V1 engine): the API server process, then EngineCore, then a worker
# process, each importing torch. Patterns avoid the bracket that holds the file name, which
# the INFO format writes as `[core.py:133]` and the DEBUG format as a full path.
VLLM = LogPhasePreset(
    "vllm",
    "vLLM 0.32 (vllm serve, V1 engine, INFO or DEBUG log format)",
    (
        PresetPhase(
            "api_import",
            r"non-default args:",
            "the API server process: Python, vLLM and torch imported, arguments parsed",
        ),
        PresetPhase(
            "config",
            r"Initializing a V\d+ LLM engine",
            "model config resolved (a model-inspection subprocess), EngineCore spawned and "
            "imported",
        ),
        PresetPhase(
            "worker_start",
            r"Starting to load model",
            "the worker process spawned and imported, its distributed state set up",
        ),
        PresetPhase(
            "weights",
            r"Loading weights took (?P<seconds>[\d.]+) seconds",
            "the model built and its weights read (vLLM prints its own figure)",
        ),
        PresetPhase(
            "engine_init",
            r"init engine \(profile, create kv cache, warmup model\) took (?P<seconds>[\d.]+) s",
            "torch.compile (unless eager), the memory profile run, the KV cache and warm-up "
            "(vLLM prints its own figure)",
        ),
        PresetPhase(
            "api_start",
            r"Starting vLLM server on",
            "EngineCore handshake done; the API server builds its app",
        ),
        PresetPhase(
            "http_start",
            r"Application startup complete",
            "uvicorn started, the app's startup hooks run",
        ),
    ),
)

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

PRESETS: dict[str, LogPhasePreset] = {p.name: p for p in (VLLM, LLAMA_CPP)}
