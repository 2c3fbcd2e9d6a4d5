"""What a run was measured on (machine, versions, devices), with secrets redacted."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import platform
import re
import socket
import subprocess
import sys
from collections.abc import Iterable, Mapping
from importlib.util import find_spec
from pathlib import Path
from typing import Any

SECRET_MARKERS = ("TOKEN", "KEY", "SECRET", "PASSWORD", "AUTH")
REDACTED = "***"

# Harness environment variables worth recording: they change how targets start.
_RECORDED_ENV = re.compile(
    r"^(CUDA_|NVIDIA_|OMP_|MKL_|OPENBLAS_|PYTORCH_|TORCH_|HF_|TRANSFORMERS_|VLLM_|PYTHON|COLDSTART_|LD_PRELOAD$|MALLOC_)"
)

_TORCH_PROBE = """
import json, torch
info = {"version": torch.__version__, "cuda_available": torch.cuda.is_available(),
        "cuda_version": torch.version.cuda, "devices": []}
if info["cuda_available"]:
    for i in range(torch.cuda.device_count()):
        p = torch.cuda.get_device_properties(i)
        info["devices"].append({"name": p.name, "memory_bytes": p.total_memory})
print(json.dumps(info))
"""


def is_secret(name: str) -> bool:
    upper = name.upper()
    return any(marker in upper for marker in SECRET_MARKERS)


def redact_mapping(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (REDACTED if is_secret(k) else v) for k, v in values.items()}


def redact_argv(argv: Iterable[str]) -> list[str]:
    """Hide the values of secret-looking flags: ``--api-key X`` and ``--api-key=X``."""
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append(REDACTED)
            hide_next = False
            continue
        if arg.startswith("-") and is_secret(arg.split("=", 1)[0]):
            if "=" in arg:
                out.append(arg.split("=", 1)[0] + "=" + REDACTED)
            else:
                out.append(arg)
                hide_next = True
            continue
        out.append(arg)
    return out


# Secrets that show up in text without a known value: bearer tokens, API-key-shaped words,
# and NAME=value / NAME: value where the name looks secret.
_SECRET_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"\b(sk-|hf_|ghp_|xox[bp]-)[A-Za-z0-9_-]{8,}"),
    # ENV_STYLE names (API_KEY=..., HF_TOKEN: ...) and a few lower-case words; not
    # "max_tokens: 8", which is no secret.
    re.compile(
        r"\b([A-Z][A-Z0-9_]*(?:TOKEN|KEY|SECRET|PASSWORD|AUTH)[A-Z0-9_]*\s*[=:]\s*)"
        r"[^\s,;\"']+"
        r"|(?i:\b((?:api[_-]?key|password|secret|access[_-]?token)\s*[=:]\s*))[^\s,;\"']+"
    ),
)


def secret_values(*mappings: Mapping[str, str]) -> set[str]:
    """The values of every secret-looking key (long enough to be worth hiding)."""
    return {str(v) for m in mappings for k, v in m.items() if is_secret(k) and len(str(v)) >= 4}


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Hide known secret values, and anything shaped like a token, in free text such as a
    server's log lines or an error message."""
    for value in sorted(secrets, key=len, reverse=True):
        text = text.replace(value, REDACTED)
    text = _SECRET_PATTERNS[0].sub(lambda m: m.group(1) + REDACTED, text)
    text = _SECRET_PATTERNS[1].sub(lambda m: m.group(1) + REDACTED, text)
    return _SECRET_PATTERNS[2].sub(lambda m: (m.group(1) or m.group(2)) + REDACTED, text)


_SECRET_TABLES = ("env", "headers", "vars")
_ARGV_LISTS = ("command", "args")


def redact_scenario(value: Any, key: str | None = None) -> Any:
    """A scenario as run, with secret environment values, headers and variables hidden, and
    the values of secret-looking command-line flags too. Other keys (``max_tokens``) stay."""
    if isinstance(value, Mapping):
        if key in _SECRET_TABLES:
            return redact_mapping(value)
        return {k: redact_scenario(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        if key in _ARGV_LISTS and all(isinstance(v, str) for v in value):
            return redact_argv(value)
        if key == "prepare":
            return [redact_argv(v) if isinstance(v, list) else v for v in value]
        return [redact_scenario(v) for v in value]
    return value


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _memory_bytes() -> int | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def torch_info(timeout_s: float = 60.0) -> dict[str, Any] | None:
    """torch and CUDA facts, asked of a separate interpreter so the harness never imports
    torch itself. None where torch is not installed."""
    if find_spec("torch") is None:
        return None
    try:
        done = subprocess.run(
            [sys.executable, "-c", _TORCH_PROBE],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"error": f"could not query torch: {exc}"}
    if done.returncode != 0:
        return {
            "error": done.stderr.strip().splitlines()[-1]
            if done.stderr.strip()
            else "torch probe failed"
        }
    try:
        return dict(json.loads(done.stdout))
    except json.JSONDecodeError:
        return {"error": "torch probe printed no JSON"}


def environment(*, with_torch: bool = True) -> dict[str, Any]:
    try:
        affinity = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        affinity = None
    uname = platform.uname()
    recorded_env = {k: v for k, v in sorted(os.environ.items()) if _RECORDED_ENV.match(k)}
    return {
        "hostname": socket.gethostname(),
        "os": f"{uname.system} {uname.release}",
        "platform": platform.platform(),
        "machine": uname.machine,
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": affinity,
        "memory_bytes": _memory_bytes(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "python_executable": sys.executable,
        "torch": torch_info() if with_torch else None,
        "env": redact_mapping(recorded_env),
    }


@functools.lru_cache(maxsize=1)
def node_identity() -> dict[str, Any]:
    """Which machine ran a trial: put on every record, so runs spanning several nodes are
    never averaged across machine types by accident."""
    gpus = []
    root = "/proc/driver/nvidia/gpus"
    if os.path.isdir(root):
        for entry in sorted(os.listdir(root)):
            with contextlib.suppress(OSError):
                text = Path(root, entry, "information").read_text(encoding="utf-8")
                gpus += [
                    line.split(":", 1)[1].strip()
                    for line in text.splitlines()
                    if line.startswith("Model:")
                ]
    return {"hostname": socket.gethostname(), "cpu_model": _cpu_model(), "gpus": gpus}
