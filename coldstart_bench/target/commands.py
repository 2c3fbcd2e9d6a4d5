"""Entry points of the reference target, reached without importing the harness's CLI (so
typer is never part of the server's cold start)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def make_model_main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="coldstart make-model",
        description="Write a deterministic GPT-style model (seeded weights, byte tokenizer). "
        "An identical existing model is reused, not rewritten.",
    )
    p.add_argument("--out", required=True, type=Path, help="model directory")
    p.add_argument(
        "--size",
        default="tiny",
        help="tiny (~2 MB), small (~14 MB), medium (~100 MB), large (~610 MB), xl (~1 GB), "
        "or a size such as 500MB or 1.5GB",
    )
    p.add_argument(
        "--format",
        dest="formats",
        action="append",
        choices=("safetensors", "torch"),
        help="repeat for both (default: safetensors)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--verify", action="store_true", help="re-hash existing files before reuse")
    args = p.parse_args(argv)

    from coldstart_bench.target.weights import write_model

    try:
        written = write_model(
            args.out, args.size, args.formats or ["safetensors"], args.seed, args.verify
        )
    except (ValueError, OSError) as exc:
        print(f"coldstart make-model: error: {exc}", file=sys.stderr)
        return 2
    cfg = written.config
    verb = "reused" if written.reused else "wrote"
    print(
        f"{verb} {written.path} ({', '.join(sorted(written.files))}; "
        f"{written.bytes / 1e6:.1f} MB; d_model={cfg.d_model} layers={cfg.n_layers} "
        f"heads={cfg.n_heads} seed={args.seed})"
    )
    return 0


def serve_main(argv: list[str] | None = None) -> int:
    from coldstart_bench.target.server import main

    return main(argv)


def check_device_main(argv: list[str] | None = None) -> int:
    """Exit 0 when the device can be used here, else 1 with the reason; for a scenario's
    ``[[requires]]`` check, so CUDA variants are skipped (not failed) without a GPU."""
    p = argparse.ArgumentParser(prog="coldstart-target check-device")
    p.add_argument("device", choices=("cpu", "cuda"))
    args = p.parse_args(argv)
    if args.device == "cpu":
        return 0
    import torch

    if torch.cuda.is_available():
        print(f"cuda: {torch.cuda.get_device_name(0)}")
        return 0
    built = torch.version.cuda or "none"
    print(f"no CUDA device (torch {torch.__version__}, built with CUDA {built})")
    return 1


def gateway_main(argv: list[str] | None = None) -> int:
    from coldstart_bench.target.gateway import main

    return main(argv)


COMMANDS = {
    "serve-gateway": gateway_main,
    "serve": serve_main,
    "make-model": make_model_main,
    "check-device": check_device_main,
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in COMMANDS:
        return COMMANDS[argv[0]](argv[1:])
    return serve_main(argv)
