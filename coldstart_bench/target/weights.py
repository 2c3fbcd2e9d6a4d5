"""Write generated models to disk and read them back in each load format.

A model directory holds ``model.json`` (config, seed, and size/sha256 of each weight file),
``model.safetensors`` and/or ``model.pt``. Generation is deterministic: the same size and
seed give the same bytes, and an existing identical model is left as it is.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import struct
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch

from coldstart_bench.target.model import ModelConfig, config_for_size, generate_weights
from coldstart_bench.target.phases import PhaseLog

FileFormat = Literal["safetensors", "torch"]
LoadFormat = Literal["safetensors", "torch", "torch-mmap"]
FILE_FORMATS: tuple[str, ...] = ("safetensors", "torch")
LOAD_FORMATS: tuple[str, ...] = ("safetensors", "torch", "torch-mmap")
FILE_NAMES: dict[str, str] = {"safetensors": "model.safetensors", "torch": "model.pt"}
MANIFEST = "model.json"
GENERATOR_VERSION = 1  # bump when generate_weights would give other bytes


class ModelFileError(Exception):
    """A model directory that cannot be used: missing, incomplete or not ours."""


@dataclass(frozen=True)
class WrittenModel:
    path: Path
    config: ModelConfig
    files: dict[str, Path]
    reused: bool
    bytes: int


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _atomic_write(path: Path, write: object) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)  # type: ignore[operator]
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_manifest(model_dir: Path) -> dict:
    path = Path(model_dir) / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelFileError(
            f"{model_dir}: no {MANIFEST}; create the model with "
            f"`coldstart make-model --out {model_dir}`"
        ) from None
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"{path}: unreadable model manifest ({exc})") from None


def _still_intact(model_dir: Path, entry: dict, verify: bool) -> bool:
    path = model_dir / entry["name"]
    try:
        stat = path.stat()
    except FileNotFoundError:
        return False
    if stat.st_size != entry["bytes"]:
        return False
    if verify or stat.st_mtime_ns != entry.get("mtime_ns"):
        return _sha256(path) == entry["sha256"]
    return True


def write_model(
    out: Path,
    size: str = "tiny",
    formats: Sequence[str] = ("safetensors",),
    seed: int = 0,
    verify: bool = False,
) -> WrittenModel:
    """Generate the model of this size and seed into ``out`` in each format, unless an
    identical one is already there (same generator, config and seed; files of the recorded
    size and hash; ``verify`` re-hashes even when the modification time still matches)."""
    from safetensors.torch import save_file

    cfg = config_for_size(size)
    unknown = [f for f in formats if f not in FILE_FORMATS]
    if unknown or not formats:
        raise ValueError(f"format must be one of {', '.join(FILE_FORMATS)}, got {unknown}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    identity = {"generator": GENERATOR_VERSION, "seed": seed, "config": cfg.to_dict()}
    try:
        manifest = read_manifest(out)
    except ModelFileError:
        manifest = {}
    if {k: manifest.get(k) for k in identity} != identity:
        manifest = {"schema_version": 1, **identity, "tokenizer": "bytes", "files": {}}
        manifest["size"] = size
    files: dict = manifest["files"]
    todo = [f for f in formats if f not in files or not _still_intact(out, files[f], verify)]

    weights = generate_weights(cfg, seed) if todo else {}
    for fmt in todo:
        path = out / FILE_NAMES[fmt]
        if fmt == "safetensors":
            _atomic_write(path, lambda tmp: save_file(weights, tmp, metadata={"seed": str(seed)}))
        else:
            _atomic_write(path, lambda tmp: torch.save(weights, tmp))
        stat = path.stat()
        files[fmt] = {
            "name": path.name,
            "bytes": stat.st_size,
            "sha256": _sha256(path),
            "mtime_ns": stat.st_mtime_ns,
        }
    if todo or not (out / MANIFEST).exists():
        text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
        _atomic_write(out / MANIFEST, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    paths = {f: out / files[f]["name"] for f in formats}
    return WrittenModel(
        path=out,
        config=cfg,
        files=paths,
        reused=not todo,
        bytes=sum(files[f]["bytes"] for f in formats),
    )


def model_config(model_dir: Path) -> ModelConfig:
    return ModelConfig(**read_manifest(model_dir)["config"])


def weight_file(model_dir: Path, load_format: str) -> Path:
    fmt = "torch" if load_format.startswith("torch") else "safetensors"
    path = Path(model_dir) / FILE_NAMES[fmt]
    if not path.exists():
        raise ModelFileError(
            f"{path} does not exist; make it with "
            f"`coldstart make-model --out {model_dir} --format {fmt}`"
        )
    return path


# Loading ----------------------------------------------------------------------------------

_SAFETENSORS_DTYPES = {
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "F64": torch.float64,
    "I64": torch.int64,
    "I32": torch.int32,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}


def map_file(path: Path) -> mmap.mmap:
    """The whole file mapped read-only, every page read in now (MAP_POPULATE): the kernel
    fills the page cache from disk if it must and maps those pages, with no copy into
    fresh memory. (Copying 600 MB into new anonymous memory costs ~0.3 s of page faults
    here, six times a sequential read.)"""
    with open(path, "rb") as f:
        flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
        return mmap.mmap(f.fileno(), 0, flags=flags, prot=mmap.PROT_READ)


def parse_safetensors(buffer: mmap.mmap | bytes | bytearray) -> dict[str, torch.Tensor]:
    """Tensors as views into ``buffer`` (no copy; read-only if the buffer is). The format
    is an 8-byte little-endian header length, a JSON header of dtype/shape/data_offsets,
    then the raw data."""
    (header_len,) = struct.unpack_from("<Q", buffer, 0)
    header = json.loads(bytes(buffer[8 : 8 + header_len]))
    base = 8 + header_len
    tensors: dict[str, torch.Tensor] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dtype = _SAFETENSORS_DTYPES[info["dtype"]]
        if end == begin:
            tensors[name] = torch.empty(info["shape"], dtype=dtype)
            continue
        count = (end - begin) // torch.empty((), dtype=dtype).element_size()
        with warnings.catch_warnings():
            # A read-only buffer is what we want: inference never writes to its weights.
            warnings.filterwarnings("ignore", message="The given buffer is not writable")
            flat = torch.frombuffer(buffer, dtype=dtype, count=count, offset=base + begin)
        tensors[name] = flat.view(info["shape"])
    return tensors


def load_weights(model_dir: Path, load_format: str, phases: PhaseLog) -> dict[str, torch.Tensor]:
    """Read the weights in one of :data:`LOAD_FORMATS`, recording the phases:

    - ``safetensors``: ``model_read`` maps the file and reads every page in; ``deserialize``
      parses the header and makes tensors that are views of those pages (read-only).
    - ``torch``: ``torch.load(path, weights_only=True)`` reads and unpickles in one call,
      so there is only ``deserialize``.
    - ``torch-mmap``: ``torch.load(..., mmap=True)`` maps the file without reading it
      (``deserialize``); its pages are read when first touched, i.e. during the device
      transfer, the warm-up or the first request.
    """
    path = weight_file(model_dir, load_format)
    size = path.stat().st_size
    if load_format == "safetensors":
        with phases.span("model_read", size):
            mapped = map_file(path)
        with phases.span("deserialize", size):
            return parse_safetensors(mapped)
    if load_format in ("torch", "torch-mmap"):
        with phases.span("deserialize", size):
            return torch.load(
                path, map_location="cpu", weights_only=True, mmap=load_format == "torch-mmap"
            )
    raise ValueError(f"load format must be one of {', '.join(LOAD_FORMATS)}, got {load_format!r}")
