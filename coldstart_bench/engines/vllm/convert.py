"""Convert a GGUF model to a Hugging Face safetensors directory that vLLM loads natively.
Run by ``coldstart prepare-vllm`` with the vLLM venv's Python (it needs transformers,
gguf and torch); imports nothing of coldstart, reads and writes only local files.

The GGUF's weights are dequantized on load (float32). What still says "quantized" is
dropped before saving, or ``save_pretrained`` refuses and vLLM would look for a GGUF
quantization."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("gguf", type=Path, help="the .gguf file")
    p.add_argument("out", type=Path, help="the directory to write (must not exist)")
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    began = time.perf_counter()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = args.gguf.parent, args.gguf.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype="float32")
    model.hf_quantizer = None
    for attr in ("quantization_config", "_pre_quantization_dtype"):
        if hasattr(model.config, attr):
            delattr(model.config, attr)
    for attr in ("is_quantized", "quantization_method"):
        if attr in vars(model):
            delattr(model, attr)
    model.save_pretrained(args.out, safe_serialization=True)
    tokenizer.save_pretrained(args.out)
    print(f"converted {args.gguf.name} in {time.perf_counter() - began:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
