"""vLLM's CPU build as a measured server: a venv of its own (vLLM pins its own torch and
transformers), a model converted once from a GGUF shipped in a registry wheel, and the
shim that starts its CLI. ``coldstart prepare-vllm`` builds it; ``scenarios/vllm-cpu.toml``
measures it. The files ``shim.py`` and ``convert.py`` run with the vLLM venv's Python and
import nothing of coldstart."""
